#!/bin/bash
# A/B of SQLite's durability setting on the chat write path: POST /api/partner-chat/123 (offline
# defaults, a new visitor per request) against the release server with
# CHATBOT_SQLITE_SYNCHRONOUS=normal and =full, interleaved (A B A B ...) so that a busy machine
# affects both alike. Each run gets a fresh data directory and server. Prints req/s and p99.
#   bench/http/sync_ab.sh [DURATION_SECS=10] [ROUNDS=2]
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/http"
DUR=${1:-10}
ROUNDS=${2:-2}
command -v wrk >/dev/null || { echo "install wrk (apt-get install -y wrk)"; exit 1; }
cd "$ROOT"
cargo build --release -q -p chatbot-server
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET/release/chatbot-server"
WORK=$(mktemp -d)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || true
unset OPENAI_API_KEY PINECONE_API_KEY
run() { # $1 = normal | full, $2 = run number
  local port data
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  data="$WORK/$1-$2"
  CHATBOT_DATA_DIR="$data" CHATBOT_TRUSTED_PROXIES=127.0.0.1 CHATBOT_SQLITE_SYNCHRONOUS="$1" RUST_LOG=warn \
    "$BIN" --demo --bind "127.0.0.1:$port" >"$WORK/server-$1-$2.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  wrk -t2 -c64 -d"${DUR}s" --latency -s "$HERE/partner_chat.lua" "http://127.0.0.1:$port" >"$WORK/wrk.txt"
  local rps p99 errs
  rps=$(awk '/Requests\/sec/{print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%"{print $2}' "$WORK/wrk.txt")
  errs=$(grep -o 'status=[0-9]* connect=[0-9]* read=[0-9]* write=[0-9]* timeout=[0-9]*' "$WORK/wrk.txt")
  echo "synchronous=$1 run $2: $rps req/s, p99 $p99 ($errs)"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}
echo "== POST /api/partner-chat/123, wrk -t2 -c64 -d${DUR}s per run, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  run normal "$r"
  run full "$r"
done
