#!/usr/bin/env bash
# Ingest one prepared corpus into a fresh data folder with the release `chatbot`, then compare
# `chatbot eval` with plain BM25 (bm25_baseline.py) over the very chunks it stored, one row per
# question set. Prepare the corpus first with corpora.sh.
#
# usage: bench/retrieval/run.sh CORPUS [--tuning | --both] [--keep]
#   CORPUS     a folder name under bench/out/corpora (python3.11, django, sphinx)
#   --tuning   score the tuning halves instead of the held-out halves; --both: both
#   --keep     keep the temporary data folder (printed) for further runs
# Environment:
#   CHATBOT_BIN   the binary (default $CARGO_TARGET_DIR/release/chatbot, else target/release/chatbot)
#   BENCH_PYTHON  a Python with rank_bm25 (default bench/.venv/bin/python)
#   CORPORA_DIR   default bench/out/corpora;  TOP_K  default 5
#   INGEST_FLAGS  extra `chatbot ingest files` flags (default "--concurrency 2": at the default 8,
#                 `ingest files` of the django corpus hung in every try on 2026-12-07, see the
#                 README; the chunks do not depend on the concurrency)
#   CHATBOT_EMBEDDER, CHATBOT_LOCAL_MODEL_DIR, ... are passed through (default: the offline default).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
ws=$(cd "$here/../.." && pwd -P)
[ $# -ge 1 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
corpus=$1; shift
halves=heldout; keep=0
for a in "$@"; do
  case $a in
    --tuning) halves=tuning ;;
    --both) halves="tuning heldout" ;;
    --keep) keep=1 ;;
    *) echo "unknown flag $a" >&2; exit 2 ;;
  esac
done
dir=$(cd "${CORPORA_DIR:-$ws/bench/out/corpora}/$corpus" && pwd -P)
bin=${CHATBOT_BIN:-${CARGO_TARGET_DIR:-$ws/target}/release/chatbot}
py=${BENCH_PYTHON:-$ws/bench/.venv/bin/python}
k=${TOP_K:-5}
[ -x "$bin" ] || { echo "no chatbot binary at $bin (cargo build --release -p chatbot-cli, or set CHATBOT_BIN)" >&2; exit 1; }
[ -d "$dir/html" ] || { echo "corpus $corpus is not prepared: bench/retrieval/corpora.sh $corpus" >&2; exit 1; }

tmp=$(mktemp -d)
if [ "$keep" = 1 ]; then echo "data folder: $tmp/data" >&2; else trap 'rm -rf "$tmp"' EXIT; fi
export CHATBOT_DATA_DIR=$tmp/data
unset DATABASE_URL OPENAI_API_KEY PINECONE_API_KEY
company=bench

"$bin" company create "$company" --name "Retrieval bench" --email bench@example.com >/dev/null
t0=$(date +%s.%N)
# shellcheck disable=SC2086 # INGEST_FLAGS is a list of flags
"$bin" --json ingest files "$dir/html" --company "$company" ${INGEST_FLAGS---concurrency 2} >"$tmp/ingest.json"
t1=$(date +%s.%N)

files=()
for set in index titles headings; do
  for half in $halves; do
    qa=$dir/queries/$set-$half.jsonl
    [ -s "$qa" ] || continue
    s0=$(date +%s.%N)
    "$bin" --json eval "$company" --qa "$qa" --top-k "$k" >"$tmp/eval-$set-$half.json"
    s1=$(date +%s.%N)
    echo "$s0 $s1" >"$tmp/time-$set-$half"
    files+=("$qa")
  done
done
"$py" "$here/bm25_baseline.py" "$CHATBOT_DATA_DIR/chatbot.db" "$company" "${files[@]}" --top-k "$k" --json >"$tmp/bm25.json"

python3 - "$tmp" "$corpus" "$dir" "$halves" "$t0" "$t1" "$k" <<'PY'
import json, os, sys
tmp, corpus, d, halves, t0, t1, k = sys.argv[1:]
ing = json.load(open(os.path.join(tmp, "ingest.json")))
bm = json.load(open(os.path.join(tmp, "bm25.json")))
failed = [f"{f['source'].rsplit('/html/', 1)[-1]} ({f['reason']})" for f in ing.get("failed", [])]
print(f"{corpus}: {ing.get('documents')} pages, {ing.get('chunks')} chunks, ingest {float(t1) - float(t0):.1f} s; "
      f"failed: {', '.join(failed) or 'none'}; "
      f"embedder: {os.environ.get('CHATBOT_EMBEDDER') or 'default'}")
print(f"| corpus | questions | n | chatbot hit@{k} | BM25 hit@{k} | chatbot recall@{k} | BM25 recall@{k} | chatbot MRR@10 | BM25 MRR@10 | eval s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for s in ("index", "titles", "headings"):
    for h in halves.split():
        p = os.path.join(tmp, f"eval-{s}-{h}.json")
        if not os.path.exists(p):
            continue
        c = json.load(open(p))
        b = bm[os.path.join(d, "queries", f"{s}-{h}.jsonl")]
        assert c["queries"] == b["queries"], (c, b)
        a0, a1 = map(float, open(os.path.join(tmp, f"time-{s}-{h}")).read().split())
        print(f"| {corpus} | {s} ({h}) | {c['queries']} | {c['hit_at_k']:.3f} | {b['hit_at_k']:.3f} | "
              f"{c['recall_at_k']:.3f} | {b['recall_at_k']:.3f} | {c['mrr_at_10']:.3f} | {b['mrr_at_10']:.3f} | {a1 - a0:.1f} |")
PY
