#!/usr/bin/env python3
"""Chunks for the embedding benchmark: the paragraphs of real HTML pages (e.g. Debian's
python3.11-doc), joined in page order and cut after 254 word pieces of the model's own
tokenizer, so each chunk is about 256 tokens with [CLS] and [SEP] (the model's max_seq_length).

    bench/.venv-ref/bin/python bench/embed/prepare.py HTML_DIR MODEL_DIR OUT.jsonl [--chunks N]

Writes one JSON string per line. Needs the `tokenizers` package (installed with
sentence-transformers in the reference venv).
"""
import argparse
import html.parser
import json
import os

from tokenizers import Tokenizer


class Paragraphs(html.parser.HTMLParser):
    """Text of <p>, <li> and <dd> elements, outside <script>/<style>."""

    def __init__(self):
        super().__init__()
        self.out, self.buf, self.depth, self.skip = [], [], 0, 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("p", "li", "dd"):
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("p", "li", "dd") and self.depth:
            self.depth -= 1
            if self.depth == 0:
                text = " ".join("".join(self.buf).split())
                if len(text) > 40:
                    self.out.append(text)
                self.buf = []

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.buf.append(data)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("html_dir")
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--chunks", type=int, default=512)
    args = ap.parse_args()
    tok = Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    pages = sorted(
        os.path.join(d, f)
        for d, _, files in os.walk(args.html_dir)
        for f in files
        if f.endswith(".html")
    )
    chunks, buf = [], ""
    for page in pages:
        p = Paragraphs()
        with open(page, encoding="utf-8", errors="replace") as f:
            p.feed(f.read())
        for para in p.out:
            buf = f"{buf}\n\n{para}" if buf else para
            # cut the original text (case and punctuation kept) after its 254th word piece
            while len(buf) and len(enc := tok.encode(buf, add_special_tokens=False)) >= 254:
                end = enc.offsets[253][1]
                chunks.append(buf[:end])
                buf = buf[end:].lstrip()
                if len(chunks) >= args.chunks:
                    break
            if len(chunks) >= args.chunks:
                break
        if len(chunks) >= args.chunks:
            break
    with open(args.out, "w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    lens = [len(tok.encode(c).ids) for c in chunks]
    print(f"{len(chunks)} chunks from {args.html_dir} -> {args.out}; tokens min {min(lens)} max {max(lens)}")


if __name__ == "__main__":
    main()
