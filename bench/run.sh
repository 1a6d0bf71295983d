#!/usr/bin/env bash
# Benchmarks seqattn against PyTorch: builds seqattn in release mode in
# build-bench/, builds the C runners against it, then bench/report.py runs
# every workload alternately on both sides and prints the table.
#   bash bench/run.sh [--quick] [--threads 1,2] [--only NAME[,NAME]] [--reps N]
# Results: results/bench/latest.json and results/bench/latest.md.
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are passed through as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-bench
if [ -f "$dir/build.ninja" ]; then
  meson setup --reconfigure "$dir" --buildtype=release -Dtests=false -Dexamples=false >/dev/null
else
  meson setup "$dir" --buildtype=release -Dtests=false -Dexamples=false >/dev/null
fi
ninja -C "$dir" >/dev/null
# The runners are built here rather than by meson so the main build never sees them.
blas_flags=$(pkg-config --cflags --libs openblas 2>/dev/null || echo "-lcblas -lblas")
out="$dir/bench"
mkdir -p "$out"
cflags=(-O2 -std=c11 -Wall -Wextra -Iinclude)
cc "${cflags[@]}" bench/sa_bench.c bench/sa_models.c bench/bench_util.c -o "$out/sa_bench" \
  -L"$dir/lib" -lseqattn -Wl,-rpath,"$PWD/$dir/lib" -lm
cc "${cflags[@]}" bench/sgemm_bench.c bench/bench_util.c -o "$out/sgemm_bench" $blas_flags -lm
exec /usr/bin/python3 bench/report.py --bin "$out" "$@"
