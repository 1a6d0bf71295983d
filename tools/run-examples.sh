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
for ex in gru_attention seq2seq_forecast bilstm_regressor htap_video; do
  echo "== $ex $mode =="
  "$dir/examples/$ex" $mode --out "results/$ex"
  case $ex in  # each example's figures come from its own script
    seq2seq_forecast) plot=plot_heatmap.py ;;
    bilstm_regressor) plot=plot_regression.py ;;
    htap_video) plot=plot_htap.py ;;
    *) plot=plot_attention.py ;;
  esac
  /usr/bin/python3 "tools/$plot" "results/$ex"
done
echo "== gru_attention.py (the Python binding) =="
SEQATTN_LIB="$PWD/$dir/lib/libseqattn.so" PYTHONPATH="$PWD/python" \
  /usr/bin/python3 python/examples/gru_attention.py --out results/gru_attention_py
echo
/usr/bin/python3 tools/results_table.py results
