#!/usr/bin/env bash
# Minify the widget: chatbot-server/assets/widget.js (readable source) -> widget.min.js (the bytes
# the server serves), with esbuild from npm (pinned in .ci/npm-tools.sh). The first line of the
# output records the source's SHA-256, so a test (chatbot-server, `widget_min_is_built_from_source`)
# fails when widget.js changed without a rebuild. `--check` rebuilds into a temporary file and
# fails when the committed widget.min.js differs (CI runs it). Prints the sizes (raw, gzip).
# Why not a crates.io minifier in build.rs: minify-js 0.6 panics on this source (an assertion in
# its pass1.rs, checked December 2026), and the oxc/swc minifiers would add a few hundred crates
# to every build of the server; esbuild is one pinned npm package whose output is committed.
set -euo pipefail
cd "$(dirname "$0")"
TOOLS=$(bash ../../.ci/npm-tools.sh)
ESBUILD="$TOOLS/node_modules/.bin/esbuild"
out=$(mktemp)
trap 'rm -f "$out" "$out.js"' EXIT
sum=$(sha256sum widget.js | cut -d' ' -f1)
{
  echo "/*! chatbot widget | source sha256 $sum | readable source: widget.js */"
  "$ESBUILD" widget.js --minify --target=es2017 --legal-comments=none --log-level=warning
} >"$out.js"
if [ "${1:-}" = "--check" ]; then
  if ! cmp -s "$out.js" widget.min.js; then
    echo "chatbot-server/assets/widget.min.js is not built from widget.js: run chatbot-server/assets/build.sh" >&2
    exit 1
  fi
  echo "widget.min.js is up to date"
else
  cp "$out.js" widget.min.js
fi
raw=$(wc -c <widget.min.js)
gz=$(gzip -9c widget.min.js | wc -c)
echo "widget.min.js: $raw bytes raw, $gz bytes gzip -9 (budget 40960 raw, 14336 gzip)"
if [ "$raw" -gt 40960 ] || [ "$gz" -gt 14336 ]; then
  echo "widget.min.js is over its size budget" >&2
  exit 1
fi
