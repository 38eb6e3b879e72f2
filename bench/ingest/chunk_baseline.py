"""LangChain's RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) on the text
corpus `cargo bench --bench ingest` writes (the extracted text of the same HTML pages), split
per document as the Rust bench does. Prints the median (and best) of RUNS timed passes.

usage: python chunk_baseline.py [CORPUS] [RUNS]   (defaults bench/out/ingest-corpus.txt, 5)
needs: pip install langchain-text-splitters
"""
import pathlib
import statistics
import sys
import time

if sys.argv[1:2] in (["-h"], ["--help"]):
    print(__doc__)
    sys.exit(0)

from langchain_text_splitters import RecursiveCharacterTextSplitter

# the file `cargo bench --bench ingest` writes, in the workspace's bench/out/
DEFAULT = pathlib.Path(__file__).resolve().parents[1] / "out" / "ingest-corpus.txt"
path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
corpus = open(path, encoding="utf-8").read()
docs = corpus.split("\n\x1e\n")
size = len(corpus.encode())
splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
secs = []
for _ in range(runs):
    t = time.perf_counter()
    n = sum(len(splitter.split_text(d)) for d in docs)
    secs.append(time.perf_counter() - t)
med = statistics.median(secs)
print(
    f"langchain RecursiveCharacterTextSplitter(1000, 200): {n} chunks from {size/1e6:.1f} MB, "
    f"median of {runs} {med:.4f} s: {size/1e6/med:.2f} MB/s (best {size/1e6/min(secs):.2f} MB/s)"
)
lens = [len(c) for d in docs for c in splitter.split_text(d)]
print(f"  (langchain: chunk length mean {sum(lens)/max(len(lens),1):.0f} chars, max {max(lens, default=0)} chars)")
