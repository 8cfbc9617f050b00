#!/usr/bin/env bash
# The README's second command: install dependencies, build the sanitizer
# build (AddressSanitizer + UBSan) and run every test (unit, MPI with 1/2/3
# ranks, end to end) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
build=${MELON_TEST_BUILD:-build-test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Sanitize >/dev/null
cmake --build "$build" -j"$(nproc)"
# Unit tests in parallel; MPI and end-to-end tests declare the cores they use.
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
