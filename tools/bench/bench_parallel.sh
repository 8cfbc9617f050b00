#!/usr/bin/env bash
# How ranks share a training step: data-parallel (each rank a part of the
# batch, whole gradients summed) against vocabulary-parallel (each rank a
# slice of the input rows and of the outputs, the whole batch), in one run on
# the same data, the same binary and the same settings.
#   tools/bench/bench_parallel.sh [BUILD_DIR]
# Env: TRAIN (a train.json; else one is generated from PLAYLISTS, SONGS, default
#      30000 / 185000, into BENCH_DIR), QUESTIONS and SONG_META (optional, as
#      melon train takes them), RANKS (2), STEPS (timed steps, 10), BENCH_DIR
#      (/tmp/melon-bench-parallel).
# Prints each mode's step split (compute / communication / Adam), peak RSS
# per rank, the ratio of steps/s, and an estimate for more nodes from the
# measured split.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
MELON=$BUILD/melon
[ -x "$MELON" ] || { echo "no $MELON: cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -G Ninja && cmake --build $BUILD" >&2; exit 1; }
W=${BENCH_DIR:-/tmp/melon-bench-parallel}
RANKS=${RANKS:-2}
STEPS=${STEPS:-10}
MPIFLAGS=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIFLAGS+=(--allow-run-as-root)
mkdir -p "$W"
TRAIN=${TRAIN:-}
if [ -z "$TRAIN" ]; then
  TRAIN=$W/data/train.json
  [ -f "$TRAIN" ] || "$MELON" generate --out "$W/data" --playlists "${PLAYLISTS:-30000}" --songs "${SONGS:-185000}" \
    --seed 11 --mel-mode none --quiet >/dev/null 2>&1
fi
ARGS=(--train "$TRAIN" --max-steps "$STEPS" --val-size 0 --checkpoint-every 0 --keep 1 --threads 1)
[ -n "${QUESTIONS:-}" ] && ARGS+=(--questions "$QUESTIONS")
[ -n "${SONG_META:-}" ] && ARGS+=(--song-meta "$SONG_META")
echo "commit $(git describe --always --dirty 2>/dev/null || echo unknown); $RANKS ranks x 1 thread; $STEPS steps; $TRAIN"

# Per-step milliseconds from melon's closing line: compute, wait, allreduce, adam.
field() { grep -o "trained .*" "$1" | grep -o "$2 [0-9.]* ms" | grep -o '[0-9.]*' | head -1; }
declare -A rate
for mode in data vocab; do
  rm -rf "$W/ck-$mode"
  /usr/bin/time -f '%M' -o "$W/rss-$mode" mpirun "${MPIFLAGS[@]}" -np "$RANKS" "$MELON" train "${ARGS[@]}" \
    --parallel "$mode" --checkpoint-dir "$W/ck-$mode" 2>"$W/train-$mode.log"
  grep -o 'vocabulary [0-9]* songs, [0-9]* tags, [0-9]* title tokens' "$W/train-$mode.log" | head -1 |
    sed "s/^/$mode: /"
  c=$(field "$W/train-$mode.log" compute) w=$(field "$W/train-$mode.log" 'slowest rank') r=$(field "$W/train-$mode.log" allreduce)
  a=$(field "$W/train-$mode.log" adam)
  rate[$mode]=$(grep -o 'trained .*' "$W/train-$mode.log" | grep -o '[0-9.]* playlists/s' | cut -d' ' -f1)
  awk -v m="$mode" -v c="$c" -v w="$w" -v r="$r" -v a="$a" -v p="${rate[$mode]}" -v rss="$(cat "$W/rss-$mode")" \
    'BEGIN { s = c + w + r + a; printf "%s-parallel: %.0f ms a step = compute %.0f + waiting %.0f + communication %.0f (%.1f%%) + Adam %.0f; %s playlists/s; peak RSS per rank %.0f MB\n", m, s, c, w, r, 100 * r / s, a, p, rss / 1024 }'
  echo "$c $w $r $a" >"$W/split-$mode"
done
awk -v d="${rate[data]}" -v v="${rate[vocab]}" -v n="$RANKS" \
  'BEGIN { printf "ratio vocabulary-parallel / data-parallel at %d ranks: %.2fx steps/s\n", n, v / d }'

# More nodes like this one ($RANKS ranks each): vocabulary-parallel compute and
# Adam shrink with the ranks while each step still exchanges O(batch x hidden)
# (about 1 MB: the first layer's partial sums and dh), so its measured
# communication is kept as is; data-parallel compute shrinks the same way
# but every rank still sums the whole gradient (a ring allreduce moves 2(P-1)/P
# times its size; between nodes at 10 Gbit/s, 1.25 GB/s).
params=$(grep -o '[0-9]* parameters' "$W/train-data.log" | head -1 | cut -d' ' -f1)
for nodes in 4 16; do
  read -r c w r a <"$W/split-vocab"
  read -r dc dw dr da <"$W/split-data"
  awk -v n="$nodes" -v k="$RANKS" -v c="$c" -v r="$r" -v a="$a" -v dc="$dc" -v da="$da" -v pm="$params" \
    'BEGIN { p = n * k; f = k / p; v = (c + a) * f + r; ring = 2 * (p - 1) / p * pm * 4 / 1.25e9 * 1000;
             d = (dc + da) * f + ring;
             printf "estimate, %d nodes (%d ranks): vocabulary-parallel %.0f ms a step (communication %.0f ms); data-parallel %.0f ms (its allreduce of %.2f GB: %.0f ms)\n", n, p, v, r, d, pm * 4 / 1e9, ring }'
done
