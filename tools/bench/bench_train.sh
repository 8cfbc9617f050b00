#!/usr/bin/env bash
# Training throughput: melon train vs the same autoencoder in PyTorch (CPU).
#   tools/bench/bench_train.sh [BUILD_DIR]        (default build, a Release build)
# Env: BENCH_DIR (data and checkpoints, default /tmp/melon-bench-train),
#      STEPS (timed steps, default 15), HIDDEN (512), BATCH (256), PLAYLISTS (34000), SONGS (100000).
# Prints samples/s of each, their ratio, and for 2 ranks the split of a step
# into compute / allreduce: data-parallel with both input-layer reductions
# (rows, dense) and vocabulary-parallel (the default).
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
# --neighbours 0: the plain autoencoder, the model the PyTorch peer implements
# (melon's default adds the item-to-item term, which the peer does not have).
COMMON=(--train "$W/data/train.json" --hidden "$HIDDEN" --batch "$BATCH" --max-steps "$STEPS" --val-size 0
        --checkpoint-every 0 --keep 1 --neighbours 0)
summary() { grep -o 'trained .*weights' "$1" | sed 's/; weights//'; }

# The OpenBLAS core type whose GEMM is fastest here, found with PyTorch's
# probe and given to both sides: PyTorch's products and melon's (util/gemm,
# MELON_GEMM=auto) run on the same OpenBLAS kernels. Debian's torch calls
# libblas.so.3, which on a fresh machine is the reference BLAS (~50x slower
# than OpenBLAS): it runs on OpenBLAS (libopenblas0-pthread) through the
# loader path, without touching the system's alternatives; run-time detection
# picks slow kernels on some virtual machines, and this machine's environment
# may set OPENBLAS_CORETYPE itself, hence the probe.
OB=/usr/lib/x86_64-linux-gnu/openblas-pthread
[ -e "$OB/libblas.so.3" ] || { echo "OpenBLAS missing: apt-get install -y libopenblas0-pthread" >&2; exit 1; }
probe() { # THREADS ENV...: torch's 2048^3 float GEMM rate
  local th=$1; shift
  env "$@" LD_LIBRARY_PATH="$OB" $PY tools/bench/bench_train.py --train /dev/null --threads "$th" --probe-gemm 2048 \
    2>/dev/null || echo 0
}
echo "environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
best_ct=auto best_rate=0
for ct in auto SkylakeX Cooperlake Haswell; do
  if [ $ct = auto ]; then envs=(-u OPENBLAS_CORETYPE); else envs=("OPENBLAS_CORETYPE=$ct"); fi
  rate=$(probe 2 "${envs[@]}")
  echo "torch GEMM 2048^3, 2 threads, OPENBLAS_CORETYPE=$ct: $rate GFLOP/s"
  if awk -v a="$rate" -v b="$best_rate" 'BEGIN { exit !(a > b) }'; then best_ct=$ct best_rate=$rate; fi
done
if [ "$best_ct" = auto ]; then ctenv=(-u OPENBLAS_CORETYPE); else ctenv=("OPENBLAS_CORETYPE=$best_ct"); fi
t1=$(probe 1 "${ctenv[@]}")
mg=$(env "${ctenv[@]}" "$MELON" bench-gemm --n 2048 --reps 3 --batch "$BATCH" --hidden "$HIDDEN" | tee "$W/gemm.txt" |
  sed -n 's/^gemm_square.*: \([0-9.]*\) GFLOP.*/\1/p' | sort -g | tail -1)
echo "GEMM 2048^3 per thread: torch on OpenBLAS ($best_ct) $t1 GFLOP/s, melon's Eigen $mg GFLOP/s"
grep '^train_' "$W/gemm.txt" | sed 's/^/melon /'

# melon on each backend of its dense products, the same kernels as PyTorch's
# for OpenBLAS; the default (auto) is what the ratio below uses.
m1=
for gemm in eigen auto; do
  rm -rf "$W/ck1"
  env "${ctenv[@]}" MELON_GEMM=$gemm "$MELON" train "${COMMON[@]}" --threads 2 --checkpoint-dir "$W/ck1" \
    2>"$W/melon1-$gemm.log"
  rate=$(grep -o 'trained .* s: [0-9.]* playlists/s' "$W/melon1-$gemm.log" | grep -o '[0-9.]* playlists/s' | cut -d' ' -f1)
  echo "melon 1 rank x 2 threads, MELON_GEMM=$gemm: $(summary "$W/melon1-$gemm.log")"
  grep -o 'dense products on .*' "$W/melon1-$gemm.log" | head -1 | sed 's/^/    /'
  [ $gemm = eigen ] && e1=$rate || m1=$rate
done
grep -o 'vocabulary [^;]*' "$W/melon1-auto.log" | head -1 | sed 's/^/melon: /'
awk -v a="$m1" -v e="$e1" 'BEGIN { printf "melon: MELON_GEMM=auto against eigen: %.2fx playlists/s\n", a / e }'

for mode in rows dense vocab; do
  rm -rf "$W/ck2"
  if [ $mode = vocab ]; then how=(--parallel vocab); else how=(--parallel data --input-allreduce "$mode"); fi
  env "${ctenv[@]}" mpirun "${MPIFLAGS[@]}" -np 2 "$MELON" train "${COMMON[@]}" --threads 1 "${how[@]}" \
    --checkpoint-dir "$W/ck2" 2>"$W/melon2-$mode.log"
  echo "melon 2 ranks x 1 thread, ${how[*]}: $(summary "$W/melon2-$mode.log")"
done

# PyTorch at its best: the core type above, and the faster of Adam's two
# update forms. torch.compile does not exist in Debian's PyTorch 1.13.
t=0
for fe in off on; do
  env "${ctenv[@]}" LD_LIBRARY_PATH="$OB" $PY tools/bench/bench_train.py --train "$W/data/train.json" \
    --hidden "$HIDDEN" --batch "$BATCH" --steps "${TORCH_STEPS:-5}" --threads 2 --adam-foreach $fe \
    >"$W/torch-$fe.log" 2>"$W/torch-$fe.err"
  cat "$W/torch-$fe.log"
  r=$(grep -o 'torch: [0-9.]* playlists/s' "$W/torch-$fe.log" | grep -o '[0-9.]*' | head -1)
  if awk -v a="$r" -v b="$t" 'BEGIN { exit !(a > b) }'; then t=$r best_fe=$fe; fi
done
grep -o 'vocabulary.*' "$W/torch-off.err" | sed 's/^/torch: /'
v=$(grep -o 'vocabulary [0-9]* songs, [0-9]* tags' "$W/torch-off.err" | awk '{print $2 + $4}')
awk -v m="$m1" -v h="$HIDDEN" -v v="$v" 'BEGIN { printf "melon: output-layer products %.1f GFLOP/s of step time\n", 6 * h * v * m / 1e9 }'
awk -v m="$m1" -v t="$t" -v fe="$best_fe" -v ct="$best_ct" \
  'BEGIN { printf "ratio melon/torch (2 threads each; torch on OpenBLAS %s, Adam foreach %s): %.2fx\n", ct, fe, m / t }'
