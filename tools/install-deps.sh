#!/usr/bin/env bash
# Installs what building, testing and the examples need on Debian 12.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail
pkgs=(gcc g++ meson ninja-build pkg-config libopenblas-dev binutils libjansson-dev clang libclang-rt-14-dev
      python3-numpy python3-torch python3-matplotlib python3-pytest zlib1g-dev dataset-fashion-mnist)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
