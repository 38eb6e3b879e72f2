#!/usr/bin/env python3
"""BM25 baseline (rank_bm25's BM25Okapi, default k1=1.5 b=0.75) on the prepared benchmark.

usage: bench/.venv/bin/python bm25.py [OUT_DIR]   (after prepare.py; needs `pip install rank_bm25`)
OUT_DIR defaults to bench/out/rag-bench, where prepare.py writes.
Tokens: lowercase \\w+ words; variant "stop" also drops English stopwords.
Metrics: hit@5 (a relevant chunk in the top 5), recall@5 (relevant found / min(5, relevant)),
MRR@10.
"""
import json
import os
import re
import sys
import time

if sys.argv[1:2] in (["-h"], ["--help"]):
    print(__doc__)
    sys.exit(0)

import numpy as np
from rank_bm25 import BM25Okapi

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out", "rag-bench"))
STOP = set(
    "a about above after again against all also am an and any are as at be because been before being below "
    "between both but by can could did do does doing down during each either else etc ever every few for from "
    "further had has have having he her here hers herself him himself his how however i if in into is it its "
    "itself just may me might more most much must my myself neither no nor not now of off on once only or other "
    "our ours ourselves out over own same shall she should so some such than that the their theirs them "
    "themselves then there these they this those through thus to too under until up upon us very via was we "
    "were what when where whether which while who whom whose why will with within without would yet you your "
    "yours yourself yourselves".split()
)


def tok(s, stop):
    words = re.findall(r"\w+", s.lower())
    return [w for w in words if w not in STOP] if stop else words


def main():
    chunks = [json.loads(l) for l in open(f"{OUT}/chunks.jsonl")]
    queries = [json.loads(l) for l in open(f"{OUT}/queries.jsonl")]
    ids = [c["id"] for c in chunks]
    for stop in (False, True):
        t0 = time.time()
        bm = BM25Okapi([tok(c["text"], stop) for c in chunks])
        hit = rec = mrr = 0.0
        half = [0.0, 0.0]
        for qi, q in enumerate(queries):
            scores = bm.get_scores(tok(q["query"], stop))
            top = np.argsort(-scores, kind="stable")[:10]
            rel = set(q["relevant"])
            got = [ids[i] for i in top]
            found5 = sum(1 for g in got[:5] if g in rel)
            hit += found5 > 0
            rec += found5 / min(5, len(rel))
            half[qi % 2] += found5 / min(5, len(rel))
            for r, g in enumerate(got):
                if g in rel:
                    mrr += 1 / (r + 1)
                    break
        n = len(queries)
        name = "bm25-stopwords" if stop else "bm25"
        print(f"{name}: queries={n} chunks={len(chunks)} hit@5={hit/n:.4f} recall@5={rec/n:.4f} mrr@10={mrr/n:.4f} ({time.time()-t0:.1f}s)")
        print(f"  recall@5 by half: even={half[0]/((n+1)//2):.4f} odd={half[1]/(n//2):.4f}")


if __name__ == "__main__":
    main()
