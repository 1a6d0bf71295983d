#!/bin/sh
# run_fuzzer.sh FUZZER SEEDS WORK [libFuzzer options...]
# Runs a libFuzzer target from a clean work directory: new inputs go to
# WORK/corpus (the committed seeds in SEEDS are only read), crash inputs to
# WORK/artifacts. The exit status is the fuzzer's: non-zero on any finding.
set -eu
fuzzer=$1 seeds=$2 work=$3
shift 3
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" "$work/corpus" "$seeds"
