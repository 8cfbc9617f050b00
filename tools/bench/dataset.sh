#!/usr/bin/env bash
# A generated dataset and its official split for the benchmarks, made once:
# WORK/data (melon generate, 2 ranks, no mel files) and WORK/split (melon
# split --seed 777, as bench_quality.sh). Kept when WORK/data holds a finished
# dataset (its melon-dataset.done marker) and the split's questions exist.
#   tools/bench/dataset.sh MELON WORK PLAYLISTS SONGS SEED
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: tools/bench/dataset.sh MELON WORK PLAYLISTS SONGS SEED" >&2; exit 2; }
melon=$1 work=$2 playlists=$3 songs=$4 seed=$5
mpiflags=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && mpiflags+=(--allow-run-as-root)
mkdir -p "$work"
if [ ! -f "$work/data/melon-dataset.done" ]; then
  echo "generating $playlists playlists, $songs songs (seed $seed) into $work/data"
  mpirun "${mpiflags[@]}" -np 2 "$melon" generate --out "$work/data" --playlists "$playlists" --songs "$songs" \
    --seed "$seed" --mel-songs 0 --quiet >"$work/generate.log" 2>&1 ||
    { tail -20 "$work/generate.log" >&2; exit 1; }
fi
if [ ! -f "$work/split/questions/val.json" ]; then
  "$melon" split --input "$work/data/train.json" --out "$work/split" --seed 777 >"$work/split.log" 2>&1 ||
    { tail -20 "$work/split.log" >&2; exit 1; }
fi
