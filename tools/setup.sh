#!/usr/bin/env bash
# Installs melon's build and test dependencies from Debian's packages.
# libopenblas0-pthread is loaded at run time for the autoencoder's dense
# products (src/util/gemm.cpp); melon builds and runs on Eigen without it.
# qemu-user emulates an older CPU for the test of the CPU check (e2e_isa_guard).
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config ninja-build
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  nlohmann-json3-dev libsimdjson-dev
  libeigen3-dev libboost-program-options-dev
  libgtest-dev
  libxgboost-dev
  libxxhash-dev
  libopenblas0-pthread
  python3 python3-numpy
  clang-format
  chromium python3-pil fonts-nanum
  qemu-user
)
# Optional extras used only by benchmark scripts in tools/ (not by the build or tests):
# scikit-learn for bench_pca.sh, PyTorch (with OpenBLAS, not the reference BLAS) for bench_train.sh.
if [ "${MELON_BENCH_DEPS:-0}" = 1 ]; then
  pkgs+=(python3-sklearn python3-h5py python3-threadpoolctl python3-torch)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
