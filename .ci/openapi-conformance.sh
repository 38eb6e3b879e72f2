#!/usr/bin/env bash
# OpenAPI conformance: docs/openapi.yaml against the release server, with Schemathesis (PyPI), an
# OpenAPI-driven property tester. Every check the tester has runs (server errors, status codes,
# content types, response headers and schemas, negative-data rejection, positive-data acceptance,
# missing required headers, ignored authentication, unsupported methods answered 405 with
# `Allow`, the `Allow` of OPTIONS), in every phase (examples, coverage, fuzzing, stateful), with
# valid and invalid data. Any failure fails the script; each is printed with its operation, its
# check and the request as a curl command.
#
# The server: `chatbot serve --demo` on a free loopback port, its data in a fresh temporary
# folder, a generated operator token (CHATBOT_ADMIN_TOKEN, 48 characters) as the run's only
# credential, and the demo company's per-IP and per-session rate limits raised for the run.
#
# usage: .ci/openapi-conformance.sh
# env:   CHATBOT_BIN                 a built `chatbot` binary (default: cargo build --release -p
#                                    chatbot-cli, then $CARGO_TARGET_DIR or target/release/chatbot)
#        OPENAPI_MAX_EXAMPLES        test cases per operation and phase (default 100)
#        OPENAPI_SEED                Schemathesis' random seed (default: a fresh one, printed)
#        OPENAPI_REPORT_DIR          keep the JUnit and NDJSON reports there (default: discarded)
#        CHATBOT_CI_CACHE            cache folder for the tester's venv (default ~/.cache/chatbot-ci)
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
CACHE=${CHATBOT_CI_CACHE:-$HOME/.cache/chatbot-ci}
VENV=$CACHE/venv-schemathesis
MAX_EXAMPLES=${OPENAPI_MAX_EXAMPLES:-100}
SEED=${OPENAPI_SEED:-$(python3 -c 'import secrets; print(secrets.randbelow(2**31))')}
log() { echo "[openapi-conformance] $*"; }

# ---- the tester, pinned, in its own venv ----
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  mkdir -p "$CACHE"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
log "$("$VENV/bin/schemathesis" --version)"

# ---- the release binary ----
if [ -n "${CHATBOT_BIN:-}" ]; then
  BIN=$CHATBOT_BIN
else
  cargo build --release -q -p chatbot-cli
  BIN=${CARGO_TARGET_DIR:-target}/release/chatbot
fi
[ -x "$BIN" ] || { log "no chatbot binary at $BIN"; exit 1; }
log "server binary: $BIN ($("$BIN" --version))"

# ---- the server ----
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

CHATBOT_ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')
export CHATBOT_ADMIN_TOKEN
export CHATBOT_DATA_DIR=$WORK/data
# The tester sends hundreds of invalid credentials from one address on purpose (its
# ignored-authentication check expects 401/403 for each); the per-IP failed-authentication limit
# would answer them 429 after 30 a minute, so it is raised for the run. Valid credentials are never
# limited either way (tests/tests/http_hygiene.rs).
export CHATBOT_AUTH_FAILURES_PER_MINUTE=1000000
# The document gives a webhook URL's shape; which hosts are allowed is the server's policy
# (https to public addresses by default, tested in chatbot-core/tests/leads.rs and
# tests/tests/http_leads_guards.rs). The run uses the development policy so every URL of the
# published shape is accepted.
export CHATBOT_ALLOW_PRIVATE_WEBHOOKS=1
# the server's own environment: nothing from the caller's shell selects another backend
unset DATABASE_URL OPENAI_API_KEY OPENAI_BASE_URL PINECONE_API_KEY CHATBOT_EMBEDDER \
  CHATBOT_VECTOR_STORE CHATBOT_MODEL_PROVIDER CHATBOT_TRUSTED_PROXIES CHATBOT_BIND
export CHATBOT_LOG_FORMAT=json RUST_LOG=info

# The demo company, with its limits raised for the run (thousands of requests from one IP in a
# few minutes; valid credentials are never limited).
"$BIN" demo seed >/dev/null
"$BIN" company ai-config 123 --rate-limit-per-ip 1000000 --rate-limit-per-session 1000000 >/dev/null

"$BIN" serve --bind 127.0.0.1:0 --demo >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
ADDR=""
for _ in $(seq 1 200); do
  ADDR=$(python3 - "$WORK/server.log" <<'PY' || true
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if ev.get("message") == "listening" and ev.get("addr"):
        print(ev["addr"])
        break
PY
  )
  [ -n "$ADDR" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ADDR" ]; then
  log "the server did not start:"
  tail -20 "$WORK/server.log"
  exit 1
fi
BASE=http://$ADDR
log "server at $BASE (data in a temporary folder)"

# ---- the run ----
# One worker: with more, CPython 3.11's `ast` module (which Hypothesis calls to describe its
# strategies) can fail with "AST constructor recursion depth mismatch" when two threads use it
# at once, an error of the tester, not of the server.
REPORTS=${OPENAPI_REPORT_DIR:-$WORK/reports}
mkdir -p "$REPORTS"
args=(
  run docs/openapi.yaml
  --url "$BASE"
  --checks all
  --mode all
  --phases examples,coverage,fuzzing,stateful
  --max-examples "$MAX_EXAMPLES"
  --seed "$SEED"
  --workers 1
  --request-timeout 30
  --continue-on-failure
  --generation-database none
  --suppress-health-check all
  --report junit,ndjson --report-dir "$REPORTS"
  --no-color
)
log "schemathesis ${args[*]} (seed $SEED; OPENAPI_SEED=$SEED repeats it)"
t0=$(date +%s)
status=0
"$VENV/bin/schemathesis" --config-file .ci/schemathesis.toml "${args[@]}" || status=$?
log "schemathesis finished in $(( $(date +%s) - t0 ))s with exit code $status"

# A panic caught by the server answers 500 (which the run reports); say so plainly as well.
if grep -q '"handler panicked"' "$WORK/server.log"; then
  log "the server caught panics during the run:"
  grep '"handler panicked"' "$WORK/server.log" | head -5
  status=1
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  log "the server exited during the run:"
  tail -20 "$WORK/server.log"
  status=1
fi
if [ "$status" -ne 0 ]; then
  log "FAILED: docs/openapi.yaml and the server disagree (see the failures above; fix the side that is wrong)"
  exit "$status"
fi
log "passed: no server error and no conformance failure"
