#!/usr/bin/env bash
# The npm tools of the widget, pinned and cached in ~/.cache/chatbot-ci/npm (NPM_TOOLS_DIR
# overrides it): esbuild (minifies chatbot-server/assets/widget.js into widget.min.js, see
# chatbot-server/assets/build.sh) and axe-core (the accessibility audit the browser test
# injects into the page). Installs node/npm from Debian when missing. Prints the folder whose
# node_modules/ holds them.
set -euo pipefail
ESBUILD_VERSION=0.28.2
AXE_VERSION=4.14.1
DIR=${NPM_TOOLS_DIR:-$HOME/.cache/chatbot-ci/npm}
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
mkdir -p "$DIR"
have() { [ "$(node -p "require('$DIR/node_modules/$1/package.json').version" 2>/dev/null)" = "$2" ]; }
if ! have esbuild "$ESBUILD_VERSION" || ! have axe-core "$AXE_VERSION"; then
  npm install --prefix "$DIR" --no-audit --no-fund --silent \
    "esbuild@$ESBUILD_VERSION" "axe-core@$AXE_VERSION" >&2
fi
echo "$DIR"
