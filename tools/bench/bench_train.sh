#!/usr/bin/env bash
# Training throughput: melon train vs the same autoencoder in PyTorch (CPU).
#   tools/bench/bench_train.sh [BUILD_DIR]        (default build, a Release build)
# Env: BENCH_DIR (data and checkpoints, default /tmp/melon-bench-train),
#      STEPS (timed steps, default 15), HIDDEN (512), BATCH (256), PLAYLISTS (34000), SONGS (100000).
# Prints samples/s of each, their ratio, and for 2 ranks the split of a step
# into compute / allreduce with both input-layer reductions (rows, dense).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
MELON=$BUILD/melon
[ -x "$MELON" ] || { echo "no $MELON: cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -G Ninja && cmake --build $BUILD" >&2; exit 1; }
W=${BENCH_DIR:-/tmp/melon-bench-train}
STEPS=${STEPS:-15}
HIDDEN=${HIDDEN:-512}
BATCH=${BATCH:-256}
PY=/usr/bin/python3
$PY -c "import torch" 2>/dev/null || { echo "PyTorch missing: apt-get install -y python3-torch" >&2; exit 1; }
MPIFLAGS=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIFLAGS+=(--allow-run-as-root)
mkdir -p "$W"
if [ ! -f "$W/data/train.json" ]; then
  "$MELON" generate --out "$W/data" --playlists "${PLAYLISTS:-34000}" --songs "${SONGS:-100000}" --seed 11 \
    --mel-mode none --quiet >/dev/null 2>&1
fi
COMMON=(--train "$W/data/train.json" --hidden "$HIDDEN" --batch "$BATCH" --max-steps "$STEPS" --val-size 0
        --checkpoint-every 0 --keep 1)
summary() { grep -o 'trained .*weights' "$1" | sed 's/; weights//'; }

rm -rf "$W/ck1"
"$MELON" train "${COMMON[@]}" --threads 2 --checkpoint-dir "$W/ck1" 2>"$W/melon1.log"
grep -o 'vocabulary [^;]*' "$W/melon1.log" | head -1 | sed 's/^/melon: /'
m1=$(grep -o 'trained .* s: [0-9.]* playlists/s' "$W/melon1.log" | grep -o '[0-9.]* playlists/s' | cut -d' ' -f1)
echo "melon 1 rank x 2 threads: $(summary "$W/melon1.log")"

for mode in rows dense; do
  rm -rf "$W/ck2"
  mpirun "${MPIFLAGS[@]}" -np 2 "$MELON" train "${COMMON[@]}" --threads 1 --input-allreduce "$mode" \
    --checkpoint-dir "$W/ck2" 2>"$W/melon2-$mode.log"
  echo "melon 2 ranks x 1 thread, input allreduce $mode: $(summary "$W/melon2-$mode.log")"
done

# Debian's torch calls the system BLAS (libblas.so.3): the reference BLAS is
# ~50x slower than OpenBLAS (apt-get install -y libopenblas0-pthread). Say which.
echo "torch BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)"
$PY tools/bench/bench_train.py --train "$W/data/train.json" --hidden "$HIDDEN" --batch "$BATCH" --steps "${TORCH_STEPS:-5}" \
  --threads 2 >"$W/torch.log" 2>"$W/torch.err"
grep -o 'vocabulary.*' "$W/torch.err" | sed 's/^/torch: /'
cat "$W/torch.log"
t=$(grep -o 'torch: [0-9.]* playlists/s' "$W/torch.log" | grep -o '[0-9.]*' | head -1)
awk -v m="$m1" -v t="$t" 'BEGIN { printf "ratio melon/torch (2 threads each): %.2fx\n", m / t }'
