#!/usr/bin/env python3
"""Build a retrieval benchmark from a real HTML manual (Debian's python3.11-doc).

Pages are split at their headings (h1-h4) into sections; each section's body text (without the
heading itself) is cut into ~1000-character chunks on word boundaries. Queries are the section
titles that are unique across the manual (ambiguous titles such as "Examples" are dropped); the
relevant chunks of a query are the chunks of its section.

usage: prepare.py [DOC_ROOT] [OUT_DIR]
  DOC_ROOT defaults to /usr/share/doc/python3.11/html, OUT_DIR to bench/out/rag-bench.
Writes OUT_DIR/chunks.jsonl ({"id","section","text"}) and OUT_DIR/queries.jsonl
({"query","relevant":[ids]}).
"""
import collections
import html.parser
import json
import os
import re
import sys

if sys.argv[1:2] in (["-h"], ["--help"]):
    print(__doc__)
    sys.exit(0)
ROOT = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/doc/python3.11/html"
# the workspace's bench/out/, where bm25.py and the retrieval_eval example look by default
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out", "rag-bench"))
PARTS = ["library", "tutorial", "howto", "faq", "reference"]
CHUNK = 1000
SKIP = {"script", "style", "head", "title"}


class Sections(html.parser.HTMLParser):
    """Collects (title, text) sections from the main body of a Sphinx page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth_main = None  # nesting depth where role="main" started
        self.depth = 0
        self.skip = 0
        self.heading = None
        self.sections = []  # [title, [text pieces]]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("br", "img", "hr", "meta", "link", "input", "wbr"):
            return
        self.depth += 1
        if self.depth_main is None and a.get("role") == "main":
            self.depth_main = self.depth
        if tag in SKIP or (tag == "a" and "headerlink" in (a.get("class") or "")):
            self.skip += 1
        if self.depth_main is not None and re.fullmatch(r"h[1-4]", tag):
            self.heading = []
        if tag in ("p", "li", "dt", "dd", "pre", "tr", "div", "section"):
            self._text("\n")

    def handle_endtag(self, tag):
        if tag in ("br", "img", "hr", "meta", "link", "input", "wbr"):
            return
        if tag in SKIP or tag == "a" and self.skip and self._in_headerlink():
            self.skip = max(0, self.skip - 1)
        if self.heading is not None and re.fullmatch(r"h[1-4]", tag):
            title = " ".join("".join(self.heading).split())
            self.sections.append([title, []])
            self.heading = None
        if self.depth_main is not None and self.depth == self.depth_main:
            self.depth_main = -1  # main body closed; ignore the rest
        self.depth -= 1

    def _in_headerlink(self):
        return True

    def handle_data(self, data):
        if self.skip or self.depth_main is None or self.depth_main == -1:
            return
        if self.heading is not None:
            self.heading.append(data)
        else:
            self._text(data)

    def _text(self, s):
        if self.sections and self.heading is None and self.depth_main not in (None, -1):
            self.sections[-1][1].append(s)


def chunks_of(text):
    words = text.split()
    out, cur, n = [], [], 0
    for w in words:
        if n + len(w) + 1 > CHUNK and cur:
            out.append(" ".join(cur))
            cur, n = [], 0
        cur.append(w)
        n += len(w) + 1
    if cur:
        out.append(" ".join(cur))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    sections = []  # (section_id, title, chunks)
    for part in PARTS:
        base = os.path.join(ROOT, part)
        for dirpath, _, files in os.walk(base):
            for f in sorted(files):
                if not f.endswith(".html"):
                    continue
                p = os.path.join(dirpath, f)
                parser = Sections()
                with open(p, encoding="utf-8", errors="replace") as fh:
                    parser.feed(fh.read())
                rel = os.path.relpath(p, ROOT)
                for i, (title, pieces) in enumerate(parser.sections):
                    text = " ".join("".join(pieces).split())
                    cs = chunks_of(text)
                    if title and cs:
                        sections.append((f"{rel}#{i}", title, cs))
    title_count = collections.Counter(t.lower() for _, t, _ in sections)
    n_chunks = 0
    with open(os.path.join(OUT, "chunks.jsonl"), "w") as cf, open(os.path.join(OUT, "queries.jsonl"), "w") as qf:
        n_q = 0
        for sid, title, cs in sections:
            ids = []
            for j, c in enumerate(cs):
                cid = f"{sid}/{j}"
                cf.write(json.dumps({"id": cid, "section": sid, "text": c}) + "\n")
                ids.append(cid)
                n_chunks += 1
            # Unique titles with at least one letter word beyond the section number.
            q = re.sub(r"^[\d.]+\s+", "", title).strip()
            if title_count[title.lower()] == 1 and re.search(r"[A-Za-z]{3}", q):
                qf.write(json.dumps({"query": q, "relevant": ids}) + "\n")
                n_q += 1
    print(f"sections={len(sections)} chunks={n_chunks} queries={n_q} -> {OUT}")


if __name__ == "__main__":
    main()
