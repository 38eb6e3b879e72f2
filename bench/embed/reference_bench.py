#!/usr/bin/env python3
"""Ingest speed of the reference implementation (sentence-transformers on PyTorch, CPU) on the
chunks of prepare.py, in chunks/s per batch size, with TORCH threads (default 2), and the
latency of one short query.

    bench/.venv-ref/bin/python bench/embed/reference_bench.py MODEL_DIR CHUNKS.jsonl [--batches 1,8,32,64]
"""
import argparse
import json
import statistics
import time

import torch
from sentence_transformers import SentenceTransformer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("chunks")
    ap.add_argument("--batches", default="1,8,32,64")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=256, help="chunks per measurement")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.chunks, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f][: args.limit]
    model = SentenceTransformer(args.model_dir, device="cpu")
    model.encode(texts[:8], batch_size=8)  # warm-up
    print(f"sentence-transformers, torch {torch.__version__.split('+')[0]}, {args.threads} threads, {len(texts)} chunks")
    with torch.inference_mode():
        for b in [int(x) for x in args.batches.split(",")]:
            t = time.perf_counter()
            model.encode(texts, batch_size=b, normalize_embeddings=True)
            dt = time.perf_counter() - t
            print(f"reference  batch {b:3}  {len(texts) / dt:7.1f} chunks/s")
        q = "How do I read a file line by line?"
        lat = []
        for _ in range(50):
            t = time.perf_counter()
            model.encode([q], batch_size=1, normalize_embeddings=True)
            lat.append((time.perf_counter() - t) * 1000)
        print(f"reference  one short query: p50 {statistics.median(lat):.1f} ms, min {min(lat):.1f} ms")


if __name__ == "__main__":
    main()
