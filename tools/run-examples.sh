#!/usr/bin/env bash
# The main job: build in release mode, run every example in its quick setting,
# plot, and print one results table. Everything lands under results/.
# FULL=1 runs the documented full settings instead of the quick ones.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
dir=build-release
if [ -f "$dir/build.ninja" ]; then meson setup --reconfigure "$dir" --buildtype=release -Dtests=false >/dev/null
else meson setup "$dir" --buildtype=release -Dtests=false >/dev/null; fi
ninja -C "$dir" >/dev/null
mode=--quick
[ "${FULL:-0}" = 1 ] && mode=
mkdir -p results
for ex in gru_attention; do
  echo "== $ex $mode =="
  "$dir/examples/$ex" $mode --out "results/$ex"
  /usr/bin/python3 tools/plot_attention.py "results/$ex"
done
echo
/usr/bin/python3 tools/results_table.py results
