#!/usr/bin/env bash
# pdftotext (poppler-utils) on the same PDFs as `cargo bench --bench ingest`, one process per
# file, single thread. usage: pdf_baseline.sh [PDF_DIR]  (default /usr/share/doc/texlive-doc)
set -uo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;; esac
DIR=${1:-/usr/share/doc/texlive-doc}
mapfile -t FILES < <(find "$DIR" -name '*.pdf' | sort)
BYTES=$(cat "${FILES[@]}" | wc -c)
ok=0; fail=0
t0=$(date +%s.%N)
for f in "${FILES[@]}"; do
  if pdftotext -q "$f" - >/dev/null 2>&1; then ok=$((ok+1)); else fail=$((fail+1)); fi
done
t1=$(date +%s.%N)
el=$(echo "$t1 - $t0" | bc)
echo "pdftotext: ${#FILES[@]} files, $(echo "scale=1; $BYTES/1000000" | bc) MB: $ok ok, $fail failed, in $el s: $(echo "scale=2; $BYTES/1000000/$el" | bc) MB/s"
