"""LangChain's RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) on the text
corpus `cargo bench --bench ingest` writes (the extracted text of the same HTML pages), split
per document as the Rust bench does.

usage: python chunk_baseline.py [CORPUS]   (default /tmp/ingest-bench-corpus.txt)
needs: pip install langchain-text-splitters
"""
import sys
import time

from langchain_text_splitters import RecursiveCharacterTextSplitter

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ingest-bench-corpus.txt"
corpus = open(path, encoding="utf-8").read()
docs = corpus.split("\n\x1e\n")
size = len(corpus.encode())
splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
t = time.perf_counter()
n = sum(len(splitter.split_text(d)) for d in docs)
el = time.perf_counter() - t
print(f"langchain RecursiveCharacterTextSplitter(1000, 200): {n} chunks from {size/1e6:.1f} MB in {el:.3f} s: {size/1e6/el:.2f} MB/s")
