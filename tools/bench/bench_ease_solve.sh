#!/usr/bin/env bash
# EASE's solve on melon's two dense backends, in one run: `melon baseline
# --method ease --tune=off` on one rank with MELON_GEMM=eigen (Eigen's LLT,
# then a solve against the identity) and with MELON_GEMM=openblas (OpenBLAS's
# LAPACK: dpotrf, then dpotri), alternating; prints each run's wall time, the
# solve's seconds and their parts as the log's "weights solved" line gives
# them (the Gram matrix; the inverse and weights), the ratios, and checks that both
# backends wrote the same answers byte for byte (the weights are kept in
# floats; their last bits may differ).
#   tools/bench/bench_ease_solve.sh [--work DIR] [--repeats K] [--coretype auto|NAME]
#       [-- BASELINE_OPTION ...]
# --coretype auto (the default) unsets OPENBLAS_CORETYPE, so melon picks the
# widest kernels the CPU reports, as it does on a node whose environment does
# not set one; NAME sets it. The weights are as large as the columns (default
# 5,000 songs and tags and 1,000 title tokens), so the small dataset used
# here (6,000 playlists, 20,000 songs, seed 111) has that many items and
# measures the same solve as the full release would.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=/tmp/melon-bench-ease repeats=1 coretype=auto
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; extra=("$@"); break ;;
    --work) work=$2 ;;
    --repeats) repeats=$2 ;;
    --coretype) coretype=$2 ;;
    *) echo "bench_ease_solve: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[[ $repeats =~ ^[1-9][0-9]*$ ]] || { echo "bench_ease_solve: --repeats must be a positive count" >&2; exit 2; }
melon=${MELON:-build/melon}
[ -x "$melon" ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null; cmake --build build --target melon; }
[ -x /usr/bin/time ] || { echo "bench_ease_solve: /usr/bin/time (GNU time) missing: apt-get install time" >&2; exit 1; }
if [ "$coretype" = auto ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$coretype; fi
mpiflags=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && mpiflags+=(--allow-run-as-root)
tools/bench/dataset.sh "$melon" "$work" 6000 20000 111
data=$work/data split=$work/split
echo "melon $(md5sum "$melon" | cut -c1-12), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
printf '%-8s %-3s %8s %8s %8s %9s %12s  %s\n' backend run "wall s" "solve s" "Gram s" "inverse s" "peak MB" "solved by"
# parts LOG: "GRAM INVERSE" from the "weights solved (Gram matrix G s, inverses and broadcast I s)" line.
parts() {
  sed -n 's/.*weights solved (Gram matrix \([0-9.]*\) s, inverses and broadcast \([0-9.]*\) s).*/\1 \2/p' "$1" | tail -n 1
}
declare -A solve_sum=() inverse_sum=()
for k in $(seq 1 "$repeats"); do
  for b in eigen openblas; do
    out=$work/$b-$k.json log=$work/$b-$k.log
    /usr/bin/time -f "%e %M" -o "$work/$b-$k.time" mpirun "${mpiflags[@]}" -x MELON_GEMM="$b" -np 1 "$melon" baseline \
      --method ease --tune=off --train "$split/orig/train.json" --questions "$split/questions/val.json" \
      --song-meta "$data/song_meta.json" "${extra[@]}" --out "$out" >"$log" 2>&1 || { tail -20 "$log"; exit 1; }
    read -r wall peak_kb <"$work/$b-$k.time"
    read -r gram inverse <<<"$(parts "$log")"
    [ -n "$inverse" ] || { echo "bench_ease_solve: no 'weights solved' timing in $log" >&2; exit 1; }
    s=$(awk -v g="$gram" -v i="$inverse" 'BEGIN { print g + i }')
    solve_sum[$b]=$(awk -v a="${solve_sum[$b]:-0}" -v b="$s" 'BEGIN { print a + b }')
    inverse_sum[$b]=$(awk -v a="${inverse_sum[$b]:-0}" -v b="$inverse" 'BEGIN { print a + b }')
    printf '%-8s %-3s %8.1f %8.1f %8.1f %9.1f %12.0f  %s\n' "$b" "$k" "$wall" "$s" "$gram" "$inverse" "$((peak_kb / 1024))" \
      "$(sed -n 's/.*; solved by //p' "$log" | head -n 1)"
    cmp -s "$work/eigen-1.json" "$out" ||
      { echo "bench_ease_solve: $b (run $k) answered differently from eigen (run 1)" >&2; exit 1; }
  done
done
echo "answers: the same bytes on both backends"
awk -v e="${solve_sum[eigen]}" -v o="${solve_sum[openblas]}" -v ei="${inverse_sum[eigen]}" -v oi="${inverse_sum[openblas]}" \
  'BEGIN { printf "solve: eigen %.1f s, openblas %.1f s (summed over runs): openblas %.2fx faster\n", e, o, e / o
           printf "inverse alone: eigen %.1f s, openblas %.1f s: %.2fx\n", ei, oi, ei / oi }'
