#!/usr/bin/env bash
# A whole `chatbot ingest files` run (extract, chunk, index into a fresh SQLite database and the
# local index) over the PDFs pdf_baseline.sh reads, then single-threaded pdftotext over the same
# files, back to back; prints both wall times and the CPU the ingest used.
# usage: pdf_ingest.sh [PDF_DIR]  (default /usr/share/doc/texlive-doc)
#        env: CHATBOT_BIN (default: the release `chatbot` in cargo's target dir)
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
DIR=${1:-/usr/share/doc/texlive-doc}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${CHATBOT_BIN:-}" ]; then
  TARGET=$(cd "$HERE/../.." && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  CHATBOT_BIN=$TARGET/release/chatbot
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Only the PDFs (the folder also holds TeX sources): one flat folder of links.
mkdir "$WORK/pdfs"
find "$DIR" -name '*.pdf' | sort | while read -r f; do
  ln -s "$f" "$WORK/pdfs/$(echo "${f#"$DIR"/}" | tr / _)"
done
export CHATBOT_DATA_DIR=$WORK/data
unset DATABASE_URL OPENAI_API_KEY PINECONE_API_KEY CHATBOT_EMBEDDER
"$CHATBOT_BIN" company create pdfbench --name "PDF bench" --email ops@bench.example >/dev/null
echo "$(find "$WORK/pdfs" -name '*.pdf' | wc -l) PDFs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "chatbot ingest files: %e s wall, %U s user, %S s sys" \
  "$CHATBOT_BIN" ingest files --company pdfbench --no-sync "$WORK/pdfs" 2>&1 >"$WORK/ingest.out" | tail -1
grep '^pages' "$WORK/ingest.out" || true
"$HERE/pdf_baseline.sh" "$DIR" | tail -1
