#!/usr/bin/env python3
"""Turn a Sphinx HTML manual into a corpus folder and `chatbot eval` question files.

usage: corpus_prepare.py DOC_ROOT OUT_DIR [--max-queries N]

DOC_ROOT is a built Sphinx manual (e.g. Debian's /usr/share/doc/python3.11/html).
Writes, under OUT_DIR:
  html/                          the manual's content pages (what `chatbot ingest files` reads)
  queries/<set>-tuning.jsonl     the tuning half of each question set
  queries/<set>-heldout.jsonl    the held-out half
  manifest.json                  counts and the rules below
Each question line is {"query": "...", "relevant": ["<absolute path of a page>", ...]}: the
source `chatbot ingest files OUT_DIR/html` records for a page is its absolute path, so the
relevant pages are named exactly so (OUT_DIR as its real path: symlinks resolved; ingest that
same real path, as run.sh does).

Pages: every .html file except Sphinx's navigation and generated pages (genindex*, search,
*modindex*, and any folder starting with "_": _static, _sources, _modules (highlighted source
code), _images, _downloads).

Question sets, built from the manual's own structure:
  index     back-of-book index entries (genindex*.html): an entry's text -> the pages its links
            point to; a sub-entry is asked as "entry sub-entry" (e.g. "* (asterisk) in function
            calls"); the same text twice is one question with the union of pages.
  titles    page titles (<title> without the " — Manual name" suffix) -> that page; titles shared
            by several pages are dropped.
  headings  section headings h2-h4 (with Sphinx's permalink) -> their page; headings found on more
            than one page (e.g. "Examples") and headings equal to a page title are dropped.
Questions without a word character (e.g. "(?#") are dropped: no word-based ranker can read them.

Split and subset, both by a hash of the question text: h = first 8 hex digits of
sha256(query, UTF-8) as an integer. A set larger than --max-queries (default 1000) keeps the
questions with the smallest h; then even h -> tuning half, odd h -> held-out half. The same
question text therefore always lands in the same half, in every set and on every machine.
"""
import hashlib
import html.parser
import json
import os
import re
import shutil
import sys

SKIP_TEXT = {"script", "style", "head"}
HEADINGS = {"h1", "h2", "h3", "h4"}


def qhash(q):
    return int(hashlib.sha256(q.encode("utf-8")).hexdigest()[:8], 16)


def is_content_page(rel):
    parts = rel.split("/")
    if any(p.startswith("_") for p in parts[:-1]):
        return False
    name = parts[-1]
    if not name.endswith(".html"):
        return False
    return not (name.startswith("genindex") or name == "search.html" or "modindex" in name)


class PageParser(html.parser.HTMLParser):
    """<title> and the Sphinx section headings (h1-h4 holding an a.headerlink) of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title = None
        self.in_title = False
        self.heading = None  # [tag, text pieces, has_headerlink]
        self.in_headerlink = 0
        self.headings = []  # (tag, text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title":
            self.in_title, self.title = True, ""
        elif tag in HEADINGS:
            self.heading = [tag, [], False]
        elif tag == "a" and "headerlink" in (a.get("class") or "").split():
            self.in_headerlink += 1
            if self.heading is not None:
                self.heading[2] = True

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag == "a" and self.in_headerlink:
            self.in_headerlink -= 1
        elif tag in HEADINGS and self.heading is not None and self.heading[0] == tag:
            text = " ".join("".join(self.heading[1]).split())
            if self.heading[2] and text:
                self.headings.append((tag, text))
            self.heading = None

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        elif self.heading is not None and not self.in_headerlink:
            self.heading[1].append(data)


class IndexParser(html.parser.HTMLParser):
    """Entries of a Sphinx genindex page: (entry text, [target hrefs]) for entries and
    sub-entries of the table.indextable, as nested <li> items."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.table = 0
        self.stack = []  # open <li>: [text pieces, hrefs, closed_text]
        self.entries = []
        self.link_text = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "indextable" in (a.get("class") or ""):
            self.table += 1
        if not self.table:
            return
        if tag == "li":
            self.stack.append({"text": [], "hrefs": [], "frozen": False})
        elif tag == "ul" and self.stack:
            self.stack[-1]["frozen"] = True  # the entry's own text ends where its sub-list starts
        elif tag == "a" and self.stack and a.get("href"):
            self.stack[-1]["hrefs"].append(a["href"])
            self.link_text = []

    def handle_endtag(self, tag):
        if tag == "table" and self.table:
            self.table -= 1
        if not self.table:
            return
        if tag == "a" and self.link_text is not None:
            text = "".join(self.link_text).strip()
            # "[1]", "[2]": more targets of the same entry, not words of it
            if self.stack and not self.stack[-1]["frozen"] and not re.fullmatch(r"\[\d+\]", text):
                self.stack[-1]["text"].append(text)
            self.link_text = None
        elif tag == "li" and self.stack:
            item = self.stack.pop()
            own = " ".join(" ".join(item["text"]).replace(",", " ").split())
            parents = [" ".join(" ".join(p["text"]).replace(",", " ").split()) for p in self.stack]
            if own and item["hrefs"]:
                self.entries.append((" ".join(parents + [own]), item["hrefs"]))

    def handle_data(self, data):
        if not self.table or not self.stack:
            return
        if self.link_text is not None:
            self.link_text.append(data)
        elif not self.stack[-1]["frozen"]:
            self.stack[-1]["text"].append(data)


def strip_title(t):
    t = " ".join((t or "").split())
    # "os — Miscellaneous operating system interfaces — Python 3.11.2 documentation"
    for sep in (" \u2014 ", " &#8212; ", " - "):
        if sep in t:
            return t.rsplit(sep, 1)[0]
    return t


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    max_q = 1000
    if "--max-queries" in args:
        i = args.index("--max-queries")
        max_q = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, out = args
    out = os.path.realpath(out)
    pages_dir = os.path.join(out, "html")
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(pages_dir)

    pages = []  # relative paths
    index_pages = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for f in sorted(filenames):
            rel = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
            if rel.split("/")[-1].startswith("genindex") and rel.endswith(".html"):
                index_pages.append(rel)
            if is_content_page(rel):
                pages.append(rel)
    source = {rel: os.path.join(pages_dir, *rel.split("/")) for rel in pages}

    titles, headings = {}, {}
    for rel in pages:
        dst = source[rel]
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(root, rel), dst)
        p = PageParser()
        with open(dst, encoding="utf-8", errors="replace") as fh:
            p.feed(fh.read())
        t = strip_title(p.title)
        if t:
            titles.setdefault(t, set()).add(rel)
        for tag, text in p.headings:
            if tag != "h1":
                headings.setdefault(text, set()).add(rel)

    index = {}
    # genindex-all.html repeats the per-letter pages; read it alone when it exists.
    chosen = ["genindex-all.html"] if "genindex-all.html" in index_pages else index_pages
    for rel in chosen:
        ip = IndexParser()
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            ip.feed(fh.read())
        base = os.path.dirname(rel)
        for text, hrefs in ip.entries:
            for h in hrefs:
                target = os.path.normpath(os.path.join(base, h.split("#")[0])).replace(os.sep, "/")
                if target in source:
                    index.setdefault(text, set()).add(target)

    unique_titles = {t for t, ps in titles.items() if len(ps) == 1}
    sets = {
        "index": {q: ps for q, ps in index.items()},
        "titles": {q: ps for q, ps in titles.items() if q in unique_titles},
        "headings": {q: ps for q, ps in headings.items() if len(ps) == 1 and q not in titles},
    }
    qdir = os.path.join(out, "queries")
    os.makedirs(qdir)
    manifest = {"doc_root": root, "pages": len(pages), "max_queries": max_q, "sets": {}}
    for name, qs in sets.items():
        items = [(qhash(q), q, sorted(ps)) for q, ps in qs.items() if re.search(r"\w", q)]
        items.sort()
        total = len(items)
        items = items[:max_q]
        halves = {"tuning": [], "heldout": []}
        for h, q, ps in items:
            halves["tuning" if h % 2 == 0 else "heldout"].append((q, ps))
        for half, rows in halves.items():
            rows.sort()
            with open(os.path.join(qdir, f"{name}-{half}.jsonl"), "w", encoding="utf-8") as fh:
                for q, ps in rows:
                    fh.write(json.dumps({"query": q, "relevant": [source[p] for p in ps]}, ensure_ascii=False) + "\n")
        manifest["sets"][name] = {"available": total, "kept": len(items), **{h: len(r) for h, r in halves.items()}}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)
    print(json.dumps(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
