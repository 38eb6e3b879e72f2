#!/usr/bin/env bash
# Build the libFuzzer targets on the stable toolchain and run each for SECONDS (default 30).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]
#
# cargo-fuzz needs nightly for its sanitizer flags; this passes the same SanitizerCoverage
# flags cargo-fuzz uses with `--sanitizer none` directly to rustc, so stable builds them.
# libfuzzer-sys compiles libFuzzer itself (C++): a C++ compiler (g++ or clang) must be installed.
# The committed seeds (fuzz/corpus/TARGET) are copied into a scratch corpus under the target
# dir, so runs never write into the repository; crashes land in fuzz/artifacts/TARGET/ and the
# script exits non-zero. Prints, per target, the executions, the corpus size and the result.
#
# FUZZ_SEED=N makes a run reproducible: each target starts from the committed seeds alone (not
# the scratch corpus of earlier runs) with libFuzzer's -seed=N, so a shorter run explores a prefix
# of a longer one. CI sets it (a gate must not fail at random on a finding it cannot reproduce);
# without it, runs keep growing the scratch corpus with random seeds, which is how new bugs are
# found locally (`bash fuzz/run.sh 600 lead_profile`); each finding is fixed, gets a regression
# test, and its input is committed under fuzz/corpus/TARGET so every later run replays it.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:-30}
shift || true
ALL=(html_extract pdf_text robots_txt sitemap settings_patch chat_body lead_extract lead_profile)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
export CARGO_TARGET_DIR=${CARGO_FUZZ_TARGET_DIR:-$PWD/target}
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
# cargo-fuzz's flags for --sanitizer none, minus the -Z ones (stable has none of those).
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# The fuzz build uses the workspace's locked versions (libfuzzer-sys is added on top), so it
# never drifts from what the tests build.
cp ../Cargo.lock Cargo.lock
bins=()
for t in "${TARGETS[@]}"; do bins+=(--bin "$t"); done
# --target keeps the flags off build scripts and proc macros (as cargo-fuzz does).
cargo build --release --target "$TRIPLE" "${bins[@]}"
BIN=$CARGO_TARGET_DIR/$TRIPLE/release
WORK=$CARGO_TARGET_DIR/fuzz-work
status=0
for t in "${TARGETS[@]}"; do
  seed=()
  if [ -n "${FUZZ_SEED:-}" ]; then
    rm -rf "${WORK:?}/$t"
    seed=(-seed="$FUZZ_SEED")
  fi
  mkdir -p "$WORK/$t" "artifacts/$t"
  [ -d "corpus/$t" ] && cp -n corpus/"$t"/* "$WORK/$t/" 2>/dev/null || true
  log=$WORK/$t.log
  dict=()
  [ -f "dict/$t.dict" ] && dict=(-dict="dict/$t.dict")
  set +e
  "$BIN/$t" "$WORK/$t" "${dict[@]}" "${seed[@]}" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz $t: ${SECS}s, ${execs:-?} executions, corpus $(ls "$WORK/$t" | wc -l) inputs: no crash"
  else
    status=1
    echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} executions; last lines of $log:"
    tail -40 "$log"
    ls -l "artifacts/$t/"
  fi
done
exit $status
