#!/usr/bin/env bash
# End to end: serve a ~1,000-page HTML manual on 127.0.0.1, crawl it into an empty data dir
# with the offline embedder and local index, check it is searchable, then time the unchanged
# re-run. Needs: apt-get install postgresql-doc-15 (1,169 pages) and a release build:
#   cargo build --release -p chatbot-cli
# usage: bench/ingest/e2e.sh [MANUAL_DIR]   env: CHATBOT_BIN (default: the release `chatbot` in
#        cargo's target dir), PORT (default 18765)
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
MANUAL=${1:-/usr/share/doc/postgresql-doc-15/html}
if [ -z "${CHATBOT_BIN:-}" ]; then
  # cargo's own answer, so CARGO_TARGET_DIR and .cargo/config.toml are both honoured
  TARGET=$(cd "$(dirname "$0")/../.." && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  CHATBOT_BIN=$TARGET/release/chatbot
fi
BIN=$CHATBOT_BIN
PORT=${PORT:-18765}
[ -f "$MANUAL/index.html" ] || { echo "skipped: $MANUAL not found (apt-get install postgresql-doc-15)"; exit 0; }
DATA=$(mktemp -d)
export CHATBOT_DATA_DIR=$DATA DATABASE_URL="sqlite://$DATA/chatbot.sqlite?mode=rwc"
unset OPENAI_API_KEY PINECONE_API_KEY
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$MANUAL" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER; rm -rf "$DATA"' EXIT
sleep 1
"$BIN" company create bench --name Bench --email ops@bench.example >/dev/null
t0=$(date +%s.%N)
"$BIN" --json ingest site "http://127.0.0.1:$PORT/index.html" --company bench --allow-private > "$DATA/run1.json"
t1=$(date +%s.%N)
"$BIN" --json search bench "create an index concurrently" --top-k 3 > "$DATA/search.json"
t2=$(date +%s.%N)
"$BIN" --json ingest site "http://127.0.0.1:$PORT/index.html" --company bench --allow-private > "$DATA/run2.json"
t3=$(date +%s.%N)
echo "pages in manual: $(find "$MANUAL" -name '*.html' | wc -l)"
echo "first crawl:   $(echo "$t1 - $t0" | bc) s  $(cat "$DATA/run1.json")"
echo "search:        $(echo "$t2 - $t1" | bc) s  top hit: $(python3 -c "import json,sys; r=json.load(open('$DATA/search.json'))['results']; print(r[0]['source'] if r else 'none')")"
echo "empty->searchable: $(echo "$t2 - $t0" | bc) s"
echo "unchanged re-run: $(echo "$t3 - $t2" | bc) s  $(cat "$DATA/run2.json")"
