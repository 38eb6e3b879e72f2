#!/usr/bin/env python3
"""Plain BM25 over the very chunks `chatbot` stored, scored like `chatbot eval`.

usage: bm25_baseline.py DB COMPANY QA.jsonl [QA.jsonl ...] [--top-k 5] [--json]

DB is the SQLite file the CLI uses (`<data dir>/chatbot.db`; the data dir is --data-dir or
CHATBOT_DATA_DIR, default ./chatbot-data). The chunks are the company's rows of
`pinecone_vectors` (content = the chunk text, source = its page), in id order.

Ranker: rank_bm25's BM25Okapi with its defaults (k1=1.5, b=0.75, epsilon=0.25) over lower-cased
`\\w+` tokens (Python's Unicode \\w), no stemming, no stopwords. Ties keep the stored order.
Metrics, computed here independently of the Rust code, as `chatbot eval` defines them: an entry
of `relevant` matches a chunk when it equals the chunk's source with `#...` removed on both sides
or occurs in its text; hit@k = share of questions with a match in the top k; recall@k = mean
share of a question's distinct entries matched in the top k; MRR@10 = mean 1/rank of the first
match within the top 10. Prints a table, or with --json {"<file>": {"queries","k","hit_at_k",
"recall_at_k","mrr_at_10"}, ...}. Needs `pip install rank_bm25` (bench/.venv).
"""
import json
import re
import sqlite3
import sys

import numpy as np
from rank_bm25 import BM25Okapi

TOKEN = re.compile(r"\w+")


def tokens(text):
    return TOKEN.findall(text.lower())


def base(s):
    return s.split("#", 1)[0]


def matches(entry, source, text):
    return base(entry) == base(source) or entry in text


def score(relevant, ranked, k):
    """ranked: [(source, text)] best first. Returns (hit, recall, reciprocal rank)."""
    relevant = list(dict.fromkeys(relevant))
    top = ranked[:k]
    hit = any(matches(e, s, t) for s, t in top for e in relevant)
    found = sum(1 for e in relevant if any(matches(e, s, t) for s, t in top))
    rr = 0.0
    for i, (s, t) in enumerate(ranked[:10]):
        if any(matches(e, s, t) for e in relevant):
            rr = 1.0 / (i + 1)
            break
    return hit, found / len(relevant), rr


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    k, as_json = 5, False
    if "--top-k" in args:
        i = args.index("--top-k")
        k = int(args[i + 1])
        del args[i : i + 2]
    if "--json" in args:
        as_json = True
        args.remove("--json")
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    db, company, files = args[0], args[1], args[2:]
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT content, COALESCE(source, '') FROM pinecone_vectors WHERE company_id = ? ORDER BY id",
        (company,),
    ).fetchall()
    if not rows:
        print(f"no chunks for company {company} in {db}", file=sys.stderr)
        return 1
    bm25 = BM25Okapi([tokens(c) for c, _ in rows])
    depth = max(k, 10)
    out = {}
    for path in files:
        hits = recall = rr = 0.0
        n = 0
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                q = json.loads(line)
                scores = bm25.get_scores(tokens(q["query"]))
                order = np.argsort(-scores, kind="stable")[:depth]
                ranked = [(rows[i][1], rows[i][0]) for i in order]
                h, r, m = score(q["relevant"], ranked, k)
                hits += h
                recall += r
                rr += m
                n += 1
        d = max(n, 1)
        out[path] = {"queries": n, "k": k, "hit_at_k": hits / d, "recall_at_k": recall / d, "mrr_at_10": rr / d}
    if as_json:
        print(json.dumps(out, indent=2))
    else:
        print(f"BM25Okapi over {len(rows)} chunks of {company}")
        print(f"| questions | n | hit@{k} | recall@{k} | MRR@10 |\n|---|---|---|---|---|")
        for path, m in out.items():
            print(f"| {path} | {m['queries']} | {m['hit_at_k']:.3f} | {m['recall_at_k']:.3f} | {m['mrr_at_10']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
