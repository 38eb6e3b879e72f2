#!/usr/bin/env bash
# Ingest speed of the local MiniLM embedder vs sentence-transformers on the same 256-token chunks
# of real HTML pages, and one-query latency. From the workspace root:
#   bash bench/embed/run.sh /usr/share/doc/python3.11/html [CHUNKS]
# Needs the reference venv (bench/.venv-ref, see README.md); the model comes from .ci/minilm.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
HTML_DIR="${1:?usage: bench/embed/run.sh HTML_DIR [CHUNKS]}"
N="${2:-128}"
PY=bench/.venv-ref/bin/python
MODEL="$(bash .ci/minilm.sh)"
OUT=bench/out/embed
mkdir -p "$OUT"
"$PY" bench/embed/prepare.py "$HTML_DIR" "$MODEL" "$OUT/chunks.jsonl" --chunks "$N"
cargo build --release -q -p chatbot-core --example embed_bench
BIN="${CARGO_TARGET_DIR:-target}/release/examples/embed_bench"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" "$MODEL" "$OUT/chunks.jsonl" "$N"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
CANDLE_NUM_THREADS=1 SPLITS="${SPLITS:-4x2}" "$BIN" "$MODEL" "$OUT/chunks.jsonl" "$N" | sed 's/^local /local+CNT1 /'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" bench/embed/reference_bench.py "$MODEL" "$OUT/chunks.jsonl" --limit "$N"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
