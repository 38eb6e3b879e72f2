#!/usr/bin/env bash
# Prepare the retrieval corpora: each a Debian documentation package's Sphinx manual, copied to
# bench/out/corpora/<name>/html with its question sets (see corpus_prepare.py for the rules).
#
# usage: bench/retrieval/corpora.sh [NAME ...]        (default: python3.11 django sphinx)
#
#   name        Debian package      manual (override with DOC_ROOT=... for one name)
#   python3.11  python3.11-doc      /usr/share/doc/python3.11/html
#   django      python-django-doc   /usr/share/doc/python-django-doc/html
#   sphinx      sphinx-doc          /usr/share/doc/sphinx-doc/html
#
# A missing package is installed with apt-get when run as root (else the command is printed).
# The PostgreSQL manual (postgresql-doc-*) is deliberately not here: it is the independent
# hold-out of issue 13. Environment: CORPORA_DIR (default bench/out/corpora), MAX_QUERIES
# (default 1000 per question set, before the tuning/held-out split).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
ws=$(cd "$here/../.." && pwd -P)
out=${CORPORA_DIR:-$ws/bench/out/corpora}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(python3.11 django sphinx)

for name in "${names[@]}"; do
  case $name in
    python3.11) pkg=python3.11-doc; root=/usr/share/doc/python3.11/html ;;
    django) pkg=python-django-doc; root=/usr/share/doc/python-django-doc/html ;;
    sphinx) pkg=sphinx-doc; root=/usr/share/doc/sphinx-doc/html ;;
    *) echo "unknown corpus $name (python3.11, django, sphinx)" >&2; exit 2 ;;
  esac
  root=${DOC_ROOT:-$root}
  if [ ! -d "$root" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >&2
    else
      echo "$root is missing: apt-get install $pkg" >&2
      exit 1
    fi
  fi
  echo "== $name ($pkg: $root)" >&2
  python3 "$here/corpus_prepare.py" "$root" "$out/$name" --max-queries "${MAX_QUERIES:-1000}"
done
