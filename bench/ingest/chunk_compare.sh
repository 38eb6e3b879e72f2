#!/usr/bin/env bash
# Character chunking 1000/200, Rust (ours and text-splitter) and LangChain back to back,
# ROUNDS times, on the same corpus; prints every line and the medians over the rounds.
#
# usage: bench/ingest/chunk_compare.sh [ROUNDS] [CORPUS]
#   ROUNDS default 5; CORPUS default bench/out/ingest-corpus.txt (written by the full bench).
# env: PYTHON (default bench/.venv/bin/python), INGEST_BENCH_RUNS (passes per round, default 5);
#      cargo's own CARGO_TARGET_DIR is honoured.
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/../.."
ROOT=$PWD
rounds=${1:-5}
corpus=${2:-$ROOT/bench/out/ingest-corpus.txt}
py=${PYTHON:-$ROOT/bench/.venv/bin/python}
export INGEST_BENCH_RUNS=${INGEST_BENCH_RUNS:-5}
[ -s "$corpus" ] || { echo "no corpus at $corpus: run the full bench once (it writes it)"; exit 1; }
[ -x "$py" ] || { echo "no Python at $py: see bench/ingest/README.md for the venv (or set PYTHON)"; exit 1; }
cargo bench -p chatbot-core --bench ingest --no-run 2>/dev/null
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$rounds"); do
  INGEST_BENCH_CHUNK=chars INGEST_BENCH_SKIP_PDF=1 INGEST_BENCH_CORPUS_IN="$corpus" \
    cargo bench -p chatbot-core --bench ingest 2>/dev/null | grep '^chunk' | tee -a "$log"
  "$py" bench/ingest/chunk_baseline.py "$corpus" "$INGEST_BENCH_RUNS" | grep '^langchain' | tee -a "$log"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Median over rounds of each line's per-round median MB/s.
"$py" - "$log" <<'PY'
import re, statistics, sys
by = {}
for line in open(sys.argv[1]):
    m = re.match(r"(.*?): .*: ([0-9.]+) MB/s", line)
    if m:
        by.setdefault(m.group(1), []).append(float(m.group(2)))
lc = statistics.median(by.pop("langchain RecursiveCharacterTextSplitter(1000, 200)", [float("nan")]))
print(f"\nmedians over rounds: langchain {lc:.1f} MB/s")
for name, v in by.items():
    med = statistics.median(v)
    print(f"  {name}: {med:.1f} MB/s = {med / lc:.2f}x langchain (rounds: {', '.join(f'{x:.0f}' for x in v)})")
PY
