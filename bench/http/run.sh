#!/bin/bash
# HTTP benchmarks against the release build: GET settings, POST partner-chat (offline defaults),
# RSS idle and with many open streaming connections. Prints the numbers.
#   bench/http/run.sh [DURATION_SECS]   (from anywhere; builds into cargo's target dir,
#                                        `CARGO_TARGET_DIR` picks another; STREAMS=N connections)
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/http"
DUR=${1:-15}
command -v wrk >/dev/null || { echo "install wrk (apt-get install -y wrk)"; exit 1; }
cd "$ROOT"
cargo build --release -q -p chatbot-server
# cargo's own answer, so CARGO_TARGET_DIR and .cargo/config.toml are both honoured
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET/release/chatbot-server"
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || true
unset OPENAI_API_KEY PINECONE_API_KEY
# The bench client is a "proxy" on 127.0.0.1 so that X-Forwarded-For spreads the per-IP limit.
CHATBOT_DATA_DIR="$WORK/data" CHATBOT_TRUSTED_PROXIES=127.0.0.1 RUST_LOG=warn \
  "$BIN" --demo --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
H="http://127.0.0.1:$PORT"
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$PID/status"; }
echo "== machine: $(nproc) cores; server pid $PID; build $BIN"
sleep 1
echo "rss_mb_idle: $(rss)"

echo "== GET /api/widget-settings/123 (wrk -t2 -c64 -d${DUR}s)"
wrk -t2 -c64 -d"${DUR}s" --latency -s "$HERE/get_settings.lua" "$H/api/widget-settings/123" | grep -E "Requests/sec|Latency|  50%|  99%|non2xx|requests in"

DB="$WORK/data/chatbot.db"
before=$(sqlite3 "$DB" "select count(*) from chat_conversations" 2>/dev/null || echo 0)
echo "== POST /api/partner-chat/123 (offline defaults; wrk -t2 -c64 -d${DUR}s; a new user_id per request)"
wrk -t2 -c64 -d"${DUR}s" --latency -s "$HERE/partner_chat.lua" "$H" | tee "$WORK/chat.txt" | grep -E "Requests/sec|Latency|  50%|  99%|non2xx|requests_total|requests in"
sent=$(awk '/requests_total/{print $2}' "$WORK/chat.txt")
after=$(sqlite3 "$DB" "select count(*) from chat_conversations" 2>/dev/null || echo -1)
echo "conversations_stored: $((after - before)) of $sent requests"
echo "rss_mb_after_load: $(rss)"

N=${STREAMS:-5000}
echo "== $N concurrent streaming connections"
python3 "$HERE/streams.py" "$PORT" "$PID" "$N"
sleep 2
echo "rss_mb_after_streams: $(rss)"
