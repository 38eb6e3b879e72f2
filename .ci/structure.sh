#!/usr/bin/env bash
# Structure checks: fast (no build), so .ci/run runs them first. Each failure names the file and
# what to do; every check runs, then the script exits 1 if any failed.
#
#   1. No .rs file under chatbot-core/src is over 700 lines (split it into a folder of files by job).
#   2. No absolute path of a development machine in the repository (anything under the root's
#      work, root, home or Users folders, nor tmp as a fixed scratch location; PATH_RE below):
#      scripts, benches, examples and docs use target/, a workspace folder (bench/out/), `mktemp`
#      or an env var with a workspace default.
#      System paths (/usr/share/doc/..., /proc/...) are fine. A line that must keep such a path
#      (test data, say) carries the marker `structure: allow-path`.
#   3. The lead rules stay pure: nothing under chatbot-core/src/lead imports the store.
#
# usage: .ci/structure.sh [ROOT]   (default: the repository holding this script)
# env:   STRUCTURE_MAX_LINES (default 700)
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
ROOT=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$ROOT"
MAX_LINES=${STRUCTURE_MAX_LINES:-700}
failed=0
fail() { echo "structure: $*" >&2; failed=1; }

# 1. File size.
if [ -d chatbot-core/src ]; then
  while IFS= read -r -d '' f; do
    n=$(wc -l <"$f")
    [ "$n" -le "$MAX_LINES" ] ||
      fail "$f has $n lines (max $MAX_LINES): split it into a folder of files by job"
  done < <(find chatbot-core/src -type f -name '*.rs' -print0 | sort -z)
else
  fail "chatbot-core/src not found under $ROOT"
fi

# 2. Machine paths. The character before the leading slash must not continue a word, a variable
# or a URL (`$HOME/x`, `${DIR}/tmp`, `$(pwd)/home`, `example.com/home` are fine).
PATH_RE='(^|[^[:alnum:]_.~})$-])/(work|root|home|tmp|Users)/'
ALLOW_MARK='structure: allow-path'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # tracked files plus new ones not yet added (ignored files such as target/ stay out)
  hits=$(git grep --untracked -nIE "$PATH_RE" -- . ':!.ci/structure.sh' || true)
else
  hits=$(grep -rnIE --exclude-dir=.git --exclude-dir=target "$PATH_RE" . |
    grep -v '^\./\.ci/structure\.sh:' || true)
fi
hits=$(printf '%s\n' "$hits" | grep -vF "$ALLOW_MARK" | grep -v '^$' || true)
if [ -n "$hits" ]; then
  printf '%s\n' "$hits" >&2
  fail "absolute machine paths above: use target/ (\${CARGO_TARGET_DIR:-target}), a workspace folder, \`mktemp -d\` or an env var with a workspace-relative default"
fi

# 3. The lead rules import nothing from the store.
if [ -d chatbot-core/src/lead ]; then
  LEAD_RE='crate::store|(crate|super)::(super::)*store\b|crate::\{[^}]*\bstore\b'
  if lead_hits=$(grep -rnE "$LEAD_RE" chatbot-core/src/lead); then
    printf '%s\n' "$lead_hits" >&2
    fail "chatbot-core/src/lead imports the store: the lead rules stay pure (pass data in, return decisions)"
  fi
fi

if [ "$failed" = 0 ]; then
  echo "structure: ok (files <= $MAX_LINES lines, no machine paths, lead/ free of the store)"
fi
exit "$failed"
