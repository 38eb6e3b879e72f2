#!/bin/bash
# HTTP benchmarks on PostgreSQL: one, then two release instances on one fresh database (demo
# company 123, offline defaults): GET /api/widget-settings/123 and new-visitor
# POST /api/partner-chat/123 requests/s, p50, p99, non-2xx, and PostgreSQL's share of the CPU.
# With two instances one wrk runs against each at once and the figures are summed.
#   bench/http/pg.sh [DURATION_SECS]
#   PG_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres (a user that may create databases)
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/http"
DUR=${1:-15}
PG_URL=${PG_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
command -v wrk >/dev/null || { echo "install wrk (apt-get install -y wrk)"; exit 1; }
command -v psql >/dev/null || { echo "install the PostgreSQL client (psql)"; exit 1; }
cd "$ROOT"
cargo build --release -q -p chatbot-cli
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET/release/chatbot"
WORK=$(mktemp -d)
DB="chatbot_bench_$$"
BASE=${PG_URL%/*}
URL="$BASE/$DB"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || true
unset OPENAI_API_KEY PINECONE_API_KEY
psql -q "$PG_URL" -c "CREATE DATABASE $DB" >/dev/null
DATABASE_URL=$URL CHATBOT_DATA_DIR="$WORK/seed" "$BIN" demo seed >/dev/null 2>&1

start() { # instance number -> port
  local port
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  DATABASE_URL=$URL CHATBOT_DATA_DIR="$WORK/data$1" CHATBOT_TRUSTED_PROXIES=127.0.0.1 RUST_LOG=warn \
    "$BIN" serve --bind "127.0.0.1:$port" >"$WORK/server$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  echo "$port"
}

# CPU seconds used so far by every postgres process (utime + stime).
pg_cpu() {
  local t=0
  for p in $(pgrep -x postgres); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

# run NAME LUA PATH PORT...: one wrk per port at once, summed.
run() {
  local name=$1 lua=$2 path=$3
  shift 3
  local c=$((64 / $#)) i=0 hz before after pids=()
  hz=$(getconf CLK_TCK)
  before=$(pg_cpu)
  for port in "$@"; do
    wrk -t1 -c"$c" -d"${DUR}s" --latency -s "$HERE/$lua" "http://127.0.0.1:$port$path" >"$WORK/wrk$i.txt" &
    pids+=($!)
    i=$((i + 1))
  done
  wait "${pids[@]}"
  after=$(pg_cpu)
  python3 - "$name" "$DUR" "$(nproc)" "$(( (after - before) ))" "$hz" "$WORK"/wrk*.txt <<'EOF'
import re, sys
name, dur, cores, ticks, hz = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rps = 0.0; p50 = []; p99 = []; non2xx = 0; total = 0
unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v); return float(m.group(1)) * unit[m.group(2)]
for f in sys.argv[6:]:
    t = open(f).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p50.append(ms(re.search(r"\s50%\s+(\S+)", t).group(1)))
    p99.append(ms(re.search(r"\s99%\s+(\S+)", t).group(1)))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t); non2xx += int(m.group(1)) if m else 0
    total += int(re.search(r"(\d+) requests in", t).group(1))
share = ticks / hz / dur / cores * 100
print(f"{name}: {rps:,.0f} req/s, p50 {max(p50):.2f} ms, p99 {max(p99):.2f} ms, "
      f"non-2xx {non2xx} of {total}; PostgreSQL {share:.0f}% of {cores} cores")
EOF
  rm -f "$WORK"/wrk*.txt
}

echo "== machine: $(nproc) cores; $BIN; PostgreSQL $(psql -tA "$PG_URL" -c 'show server_version')"
P1=$(start 1)
run "1 instance  GET settings " get_settings.lua /api/widget-settings/123 "$P1"
run "1 instance  partner chat " partner_chat.lua "" "$P1"
P2=$(start 2)
run "2 instances GET settings " get_settings.lua /api/widget-settings/123 "$P1" "$P2"
run "2 instances partner chat " partner_chat.lua "" "$P1" "$P2"
echo "conversations stored: $(psql -tA "$URL" -c 'select count(*) from chat_conversations')"
