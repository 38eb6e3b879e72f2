"""HTML to text with trafilatura on the same pages as `cargo bench --bench ingest`.

usage: python html_baseline.py [HTML_DIR]   (default /usr/share/doc/python3.11/html)
needs: pip install trafilatura lxml_html_clean
"""
import pathlib
import sys
import time

if sys.argv[1:2] in (["-h"], ["--help"]):
    print(__doc__)
    sys.exit(0)

import trafilatura

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/doc/python3.11/html")
paths = sorted(root.rglob("*.html"))
pages = [p.read_bytes().decode("utf-8", "replace") for p in paths]
size = sum(len(p.encode()) for p in pages)
best = None
for _ in range(2):
    t = time.perf_counter()
    texts = [trafilatura.extract(p, include_tables=True, include_formatting=False) or "" for p in pages]
    el = time.perf_counter() - t
    best = el if best is None else min(best, el)
out = sum(len(x.encode()) for x in texts)
print(f"trafilatura: {len(pages)} pages, {size/1e6:.1f} MB HTML -> {out/1e6:.1f} MB text in {best:.3f} s: "
      f"{len(pages)/best:.1f} pages/s, {size/1e6/best:.2f} MB/s")
