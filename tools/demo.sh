#!/usr/bin/env bash
# The README's first command: install dependencies, build (Release), then run
# the main job on jobs/demo.ini under mpirun with 2 ranks: generate the demo
# dataset if absent, split it officially, run the recommenders, print scores.
# Outputs go under demo/ (or $MELON_DEMO_DIR): the dataset in data/, kept
# between runs, and the job's work in run/, started afresh every time (the
# training stage refuses a folder that already holds checkpoints).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target melon
out=${MELON_DEMO_DIR:-demo}
np=${MELON_NP:-2}
flags=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
rm -rf "$out/run"
time mpirun "${flags[@]}" -np "$np" build/melon pipeline --config jobs/demo.ini --data "$out/data" --work "$out/run"
echo "report: $(realpath "$out/run/report.html")"
