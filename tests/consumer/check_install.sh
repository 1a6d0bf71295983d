#!/usr/bin/env bash
# Installs the built library into a scratch DESTDIR and builds programs against
# it exactly as a user would: pkg-config for flags, the installed header only.
# Also checks the ABI surface: SONAME, and that only sa_* symbols are exported.
# usage: check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet
pcdir=$(dirname "$(find "$dest" -name seqattn.pc | head -n1)")
[ -n "$pcdir" ] || { echo "FAIL: seqattn.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
cflags=$(pkg-config --cflags seqattn) libs=$(pkg-config --libs seqattn)
echo "pkg-config: $cflags $libs"
libdir=$(pkg-config --libs-only-L seqattn | sed 's/^ *-L//; s/ *$//')  # sysroot applied
export LD_LIBRARY_PATH=$libdir

cc -std=c99 -Wall -Wextra -Werror -pedantic $cflags "$src/tests/consumer/consumer.c" $libs -o "$dest/consumer"
"$dest/consumer"
c++ -std=c++11 -Wall -Wextra -Werror -pedantic $cflags "$src/tests/consumer/header_cxx.cpp" $libs -o "$dest/header_cxx"
"$dest/header_cxx"

so=$(ls "$libdir"/libseqattn.so.*.*.* | head -n1)
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libseqattn.so.0" ] || { echo "FAIL: SONAME is '$soname'"; exit 1; }
bad=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^sa_' || true)
[ -z "$bad" ] || { echo "FAIL: symbols exported outside sa_*: $bad"; exit 1; }
echo "OK: installed tree builds C99 and C++ consumers; SONAME $soname; $(nm -D --defined-only "$so" | grep -c ' T sa_') sa_* functions exported"
