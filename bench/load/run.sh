#!/bin/bash
# Load and isolation against the release server (`chatbot serve`, SQLite, offline defaults):
# COMPANIES companies created with the CLI, SESSIONS concurrent sessions in each (all at once),
# MESSAGES messages per session over the session routes, every message carrying a marker naming
# its company, session and number. Then everything stored is read back (admin API with the
# operator token, and sqlite3 on the database file): zero errors, zero lost or duplicated
# messages, zero messages in another company's or session's conversation. Prints requests/s,
# chat latency p50/p99 and the server's RSS; exits non-zero when any check fails.
#   bench/load/run.sh                       (1,000 sessions: 10 companies x 100, 10 messages each)
#   COMPANIES=3 SESSIONS=20 MESSAGES=4 bench/load/run.sh
# Builds into cargo's target dir (`CARGO_TARGET_DIR` picks another); needs python3 and sqlite3.
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
COMPANIES=${COMPANIES:-10}
SESSIONS=${SESSIONS:-100}
MESSAGES=${MESSAGES:-10}
command -v sqlite3 >/dev/null || { echo "install sqlite3 (apt-get install -y sqlite3)"; exit 1; }
cd "$ROOT"
cargo build --release -q -p chatbot-cli -p chatbot-tests --bin chatbot --bin chatbot-load
# cargo's own answer, so CARGO_TARGET_DIR and .cargo/config.toml are both honoured
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET/release/chatbot"
LOAD="$TARGET/release/chatbot-load"
WORK=$(mktemp -d)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# one socket per session on each side, plus the database and index files
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
unset OPENAI_API_KEY PINECONE_API_KEY DATABASE_URL CHATBOT_EMBEDDER CHATBOT_VECTOR_STORE CHATBOT_MODEL_PROVIDER
export CHATBOT_DATA_DIR="$WORK/data"
# a fresh random operator token for this run (at least 32 characters)
CHATBOT_ADMIN_TOKEN="load-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
export CHATBOT_ADMIN_TOKEN
DB="$CHATBOT_DATA_DIR/chatbot.db"

echo "== setup: $COMPANIES companies with the CLI (limits raised for the run: every client is 127.0.0.1)"
TENANTS=()
for i in $(seq -w 1 "$COMPANIES"); do
  c="loadco$i"
  "$BIN" company create "$c" --name "Load Company $i" --email "owner@$c.example" >/dev/null
  "$BIN" company ai-config "$c" --rate-limit-per-ip 10000000 --rate-limit-per-session 10000 >/dev/null
  pk=$("$BIN" keys create "$c" --kind publishable 2>/dev/null | tail -1)
  TENANTS+=(--tenant "$c=$pk")
done

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
RUST_LOG=warn "$BIN" serve --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
kb() { awk -v k="$1:" '$1==k{print $2}' "/proc/$PID/status"; }
echo "== machine: $(nproc) cores; server pid $PID ($BIN); open-files limit $(ulimit -n)"
echo "rss_mb_idle: $(( $(kb VmRSS) / 1024 ))"

echo "== $((COMPANIES * SESSIONS)) concurrent sessions ($COMPANIES companies x $SESSIONS), $MESSAGES messages each"
# sample the server's RSS while the load runs (VmHWM gives the peak as well)
( while kill -0 "$PID" 2>/dev/null; do kb VmRSS >>"$WORK/rss.txt"; sleep 0.2; done ) &
SAMPLER=$!
set +e
"$LOAD" --base "http://127.0.0.1:$PORT" "${TENANTS[@]}" --sessions "$SESSIONS" --messages "$MESSAGES"
status=$?
set -e
kill "$SAMPLER" 2>/dev/null || true
echo "rss_mb_during_load_max: $(( $(sort -n "$WORK/rss.txt" | tail -1) / 1024 ))"
echo "rss_mb_peak (VmHWM): $(( $(kb VmHWM) / 1024 ))"
echo "rss_mb_after_load: $(( $(kb VmRSS) / 1024 ))"

echo "== the database file (sqlite3), independent of the API"
want_convs=$((COMPANIES * SESSIONS))
want_msgs=$((COMPANIES * SESSIONS * MESSAGES * 2))
q() { sqlite3 -readonly "$DB" "$1"; }
convs=$(q "select count(*) from chat_conversations")
msgs=$(q "select coalesce(sum(json_array_length(messages)),0) from chat_conversations")
leads=$(q "select count(*) from leads")
# a message in another session's conversation: its marker names another company or session index
# (each conversation's own markers share one prefix zz-COMPANY-sN-)
foreign=$(q "select count(*) from chat_conversations c, json_each(c.messages) m
  where instr(m.value->>'content', 'zz-') > 0 and instr(m.value->>'content',
    (select substr(j.value->>'content', instr(j.value->>'content', 'zz-'),
       instr(substr(j.value->>'content', instr(j.value->>'content', 'zz-')), '-m') + 1)
     from json_each(c.messages) j where j.value->>'role' = 'user' limit 1)) = 0")
wrong_company=$(q "select count(*) from chat_conversations c, json_each(c.messages) m
  where m.value->>'role' = 'user' and instr(m.value->>'content', 'zz-' || c.company_id || '-') = 0")
dups=$(q "select count(*) from (select m.value->>'content' t from chat_conversations c, json_each(c.messages) m
  where m.value->>'role' = 'user' group by t having count(*) > 1)")
echo "conversations: $convs (want $want_convs); messages: $msgs (want $want_msgs); leads: $leads (want $want_convs)"
echo "user messages with another company's marker: $wrong_company; messages with another session's marker: $foreign; duplicated user messages: $dups"
if [ "$convs" != "$want_convs" ] || [ "$msgs" != "$want_msgs" ] || [ "$leads" != "$want_convs" ] ||
  [ "$wrong_company" != 0 ] || [ "$foreign" != 0 ] || [ "$dups" != 0 ]; then
  echo "database check: FAIL"
  status=1
else
  echo "database check: PASS"
fi
if grep -qiE "panic|error" "$WORK/server.log"; then
  echo "server log has errors:"; grep -iE "panic|error" "$WORK/server.log" | head -5
  status=1
fi
exit "$status"
