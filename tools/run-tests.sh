#!/usr/bin/env bash
# The whole test suite, as CI runs it: a normal build (unit, error-path,
# PyTorch parity, install/consumer and example tests), then the C tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer with leak checking, then
# a clang build that runs the libFuzzer targets of the file loaders.
# The last line is "N passed, N failed"; the exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
count() { # tally one build's meson test log
  local log=$1/meson-logs/testlog.json
  [ -f "$log" ] || { failed=$((failed + 1)); return; }
  local ok bad skip
  ok=$(grep -c '"result": "OK"' "$log" || true)
  skip=$(grep -c '"result": "SKIP"' "$log" || true)
  bad=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log" || true)
  passed=$((passed + ok)) failed=$((failed + bad)) skipped=$((skipped + skip))
}
suite() { # name, build dir, setup options..., -- meson test options...
  local name=$1 dir=$2; shift 2
  local setup=() test=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  test=("$@")
  echo "== $name =="
  rm -f "$dir/meson-logs/testlog.json"
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "${setup[@]}" >/dev/null || { failed=$((failed + 1)); return; }
  else
    meson setup "$dir" "${setup[@]}" >/dev/null || { failed=$((failed + 1)); return; }
  fi
  if ! ninja -C "$dir" >"$dir/build.out" 2>&1; then
    cat "$dir/build.out"; echo "$name: build failed"; failed=$((failed + 1)); return
  fi
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${test[@]}"
  count "$dir"
}

suite "release build: all tests" build-test --buildtype=debugoptimized --
suite "ASan + UBSan: unit and error-path tests" build-asan -Db_sanitize=address,undefined \
  -Db_lundef=false --buildtype=debug -Dexamples=false -- --suite unit --suite errors
CC=clang suite "libFuzzer (clang): the file loaders, 20 s each" build-fuzz -Dfuzz=true \
  --buildtype=debugoptimized -Dexamples=false -- --suite fuzz

echo
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"
else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
