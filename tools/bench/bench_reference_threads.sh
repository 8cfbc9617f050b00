#!/usr/bin/env bash
# Threads within a rank for `melon baseline` (the references' tuning, answers
# and the mixture's fit): each method run at every rank x thread layout on the
# same generated data, in one run; prints wall time, peak memory a rank and
# the speed-up over 1 rank x 1 thread, and checks that every layout wrote the
# same answers byte for byte (chunks of fixed size: the count changes the time,
# not the result).
#   tools/bench/bench_reference_threads.sh [--work DIR] [--playlists N] [--songs M] [--seed S]
#       [--methods "mixture item-knn"] [--layouts "1x1 1x2 2x1"] [-- BASELINE_OPTION ...]
# A layout RxT is R ranks (mpirun -np R) x T threads a rank (--threads T).
# Options after `--` go to every `melon baseline` run (e.g. -- --tune off
# --mixture-clusters 300).
# Defaults: mid size (30,000 playlists, 185,000 songs; seed 111, a dataset no
# figure of the quality grid uses), the official split's questions.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=/tmp/melon-bench-threads playlists=30000 songs=185000 seed=111
methods="mixture item-knn" layouts="1x1 1x2 2x1"
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; extra=("$@"); break ;;
    --work) work=$2 ;;
    --playlists) playlists=$2 ;;
    --songs) songs=$2 ;;
    --seed) seed=$2 ;;
    --methods) methods=$2 ;;
    --layouts) layouts=$2 ;;
    *) echo "bench_reference_threads: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
melon=${MELON:-build/melon}
[ -x "$melon" ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null; cmake --build build --target melon; }
[ -x /usr/bin/time ] || { echo "bench_reference_threads: /usr/bin/time (GNU time) missing: apt-get install time" >&2; exit 1; }
for l in $layouts; do
  [[ $l =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] || { echo "bench_reference_threads: layout '$l' is not RANKSxTHREADS" >&2; exit 2; }
done
# Unbound ranks: Open MPI binds each of one or two ranks to a single core by
# default, and melon's pools follow the binding (mpi::threads_per_rank), so a
# layout of 1 rank x 2 threads would share one core.
mpiflags=(--oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpiflags+=(--allow-run-as-root)
tools/bench/dataset.sh "$melon" "$work" "$playlists" "$songs" "$seed"
data=$work/data split=$work/split
echo "melon $(md5sum "$melon" | cut -c1-12), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores"
printf '%-14s %-7s %9s %12s %9s  %s\n' method layout "wall s" "peak MB/rank" speed-up answers
for m in $methods; do
  base=""
  for l in $layouts; do
    r=${l%x*} t=${l#*x}
    out=$work/$m-$l.json
    /usr/bin/time -f "%e %M" -o "$work/$m-$l.time" mpirun "${mpiflags[@]}" -np "$r" "$melon" baseline --method "$m" \
      --train "$split/orig/train.json" --questions "$split/questions/val.json" --song-meta "$data/song_meta.json" \
      --threads "$t" "${extra[@]}" --out "$out" >"$work/$m-$l.log" 2>&1 || { tail -20 "$work/$m-$l.log"; exit 1; }
    # GNU time's %M of mpirun: the peak RSS of its largest descendant, the busiest rank.
    read -r wall peak_kb <"$work/$m-$l.time"
    [ -n "$base" ] || { base=$wall; first=$out; }
    same=same
    cmp -s "$first" "$out" || same=DIFFERENT
    printf '%-14s %-7s %9.1f %12.0f %8.2fx  %s\n' "$m" "$l" "$wall" "$((peak_kb / 1024))" "$(awk -v a="$base" -v b="$wall" 'BEGIN{print a/b}')" "$same"
    [ "$same" = same ] || { echo "bench_reference_threads: $m at $l answered differently from ${layouts%% *}" >&2; exit 1; }
  done
done
