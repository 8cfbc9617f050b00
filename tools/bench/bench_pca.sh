#!/usr/bin/env bash
# melon pca vs scikit-learn's randomized PCA on the same feature matrix, in one run.
#
#   tools/bench/bench_pca.sh                     # 4000 songs, raw frames (D = 90,048), k=32 p=10 q=2
#   BENCH_SONGS=8000 BENCH_POOL=4 tools/bench/bench_pca.sh
#
# Env: MELON (binary; default build/melon, a Release build), BENCH_SONGS,
# BENCH_K, BENCH_P, BENCH_Q, BENCH_POOL, BENCH_BLOCK, BENCH_WORK (keep data there),
# BENCH_REPS (default 3: every timing, melon's and scikit-learn's, is the best
# of that many runs: this machine is shared and one run can be 30% off; melon's
# configurations run in turn, round after round),
# BENCH_MPI_DEFAULTS=1 (keep Open MPI's default transports; see below),
# BENCH_TOL (default 1e-2: melon's --tol run), BENCH_EXACT (default 1: the
# singular values' error against an exact SVD, from the smaller Gram matrix
# in float64; 0 skips it on shapes where that is slow).
# Needs python3-sklearn, python3-h5py, python3-threadpoolctl (tools/setup.sh with
# MELON_BENCH_DEPS=1) and /usr/bin/python3.
#
# Prints: numpy's BLAS (threadpoolctl) and the GEMM rate numpy reaches;
# melon's GEMM rate on a large square product and on its block shapes (same
# build, one thread); melon's per-pass GFLOP/s for 1 and 2 ranks (rows kept in
# memory between passes, as sklearn keeps its matrix; and streamed from the
# files); the 2-rank efficiency; a 2-rank streamed run whose later passes read
# the first pass's rows back from --spill-dir ($WORK/spill); the time of one
# plain read of the data; wall time and reconstruction error ||Xc - scores
# components||_F / ||Xc||_F of each, and their ratio. melon's wall time
# includes reading the files, starting MPI and writing its HDF5 output;
# sklearn's fit time does not include its read (reported apart). All ranks run
# on this one machine, so melon's runs use Open MPI's shared-memory transport
# (OMPI_MCA_pml=ob1, btl=self,vader): the default UCX layer probes for network
# devices and spends ~0.2 s of MPI_Init here, which is no part of the PCA.
# BENCH_MPI_DEFAULTS=1 keeps the defaults. Passes here last about a second, so
# melon saves resume state at most once a minute (--checkpoint-every 60);
# saving after every pass (the default) adds one D x (k+p) write per pass.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MELON=${MELON:-$ROOT/build/melon}
SONGS=${BENCH_SONGS:-4000}
K=${BENCH_K:-32}
P=${BENCH_P:-10}
Q=${BENCH_Q:-2}
TOL=${BENCH_TOL:-1e-2}
EXACT=${BENCH_EXACT:-1}
POOL=${BENCH_POOL:-1}
BLOCK=${BENCH_BLOCK:-256}
REPS=${BENCH_REPS:-3}
MPIRUN=${MPIRUN:-mpirun}
MPIFLAGS=(--oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && MPIFLAGS+=(--allow-run-as-root)
if [ "${BENCH_MPI_DEFAULTS:-0}" != 1 ]; then
  export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
fi
[ -x "$MELON" ] || { echo "bench_pca: no melon binary at $MELON (set MELON=...)" >&2; exit 1; }
if [ -n "${BENCH_WORK:-}" ]; then
  WORK=$BENCH_WORK
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/melon-bench-pca.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
D=$((48 * ((1876 + POOL - 1) / POOL)))
L=$((K + P))
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

echo "== bench_pca: $SONGS songs, pool $POOL (D = $D), k=$K p=$P q=$Q, block $BLOCK; $(nproc) cores; $MELON; best of $REPS runs each"
echo "Open MPI transports: pml=${OMPI_MCA_pml:-default} btl=${OMPI_MCA_btl:-default}"
echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure below)"
MEL=$WORK/gen/arena_mel
if [ ! -d "$MEL" ]; then
  "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" generate --out "$WORK/gen" --playlists 200 --songs "$SONGS" \
    --mel-mode all --mel-songs "$SONGS" --seed 1 --quiet >/dev/null 2>&1
fi
echo "data: $(find "$MEL" -name '*.npy' | wc -l) .npy files, $(du -sm "$MEL" | cut -f1) MB (page cache warm)"
# The least a reader pays: every file's bytes copied from the page cache into
# one reused buffer (os.readv, 8 MB at a time), best of 2. `cat` is no floor
# here: it moved these files at 0.5-0.7 GB/s where this reaches ~9 GB/s.
plain_s=$(/usr/bin/python3 - "$MEL" <<'PY'
import os, sys, time
files = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs if f.endswith(".npy")]
buf = memoryview(bytearray(8 << 20))
best = 1e300
for _ in range(2):
    t = time.perf_counter()
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        while os.readv(fd, [buf]) == len(buf):
            pass
        os.close(fd)
    best = min(best, time.perf_counter() - t)
print(f"{best:.2f}")
PY
)
echo "plain read (every file's bytes into one reused buffer, one process, best of 2): $plain_s s"

# Give scikit-learn, and OpenBLAS in melon's GEMM probe, their best BLAS:
# OpenBLAS's run-time CPU detection picks slow Prescott kernels on some virtual
# machines (seen here: 34 GFLOP/s against 263 with SkylakeX kernels), so take
# the core type whose square product is fastest.
best_ct='' best_rate=0
for ct in auto SkylakeX Cooperlake Haswell; do
  if [ $ct = auto ]; then envs=(-u OPENBLAS_CORETYPE); else envs=("OPENBLAS_CORETYPE=$ct"); fi
  rate=$(env "${envs[@]}" /usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import bench_pca; print(f"{bench_pca.gemm_rate(2000):.1f}")' "$ROOT/tools/bench" 2>/dev/null || echo 0)
  echo "numpy GEMM with OPENBLAS_CORETYPE=$ct: $rate GFLOP/s"
  if awk -v a="$rate" -v b="$best_rate" 'BEGIN { exit !(a > b) }'; then best_ct=$ct best_rate=$rate; fi
done
if [ "$best_ct" = auto ]; then ctenv=(-u OPENBLAS_CORETYPE); else ctenv=("OPENBLAS_CORETYPE=$best_ct"); fi
echo "== melon GEMM rate (this build, one thread; OpenBLAS with OPENBLAS_CORETYPE=$best_ct)"
env "${ctenv[@]}" "$MELON" bench-gemm --n 4096 --dim "$D" --sketch "$L" --block "$BLOCK" --reps 2 --batch 0 |
  grep -v '^check' | tee "$WORK/gemm.txt"

# run_melon NAME NP [extra args]: one run; keeps the best wall time so far in
# $WORK/NAME.wall and that run's log in $WORK/NAME.log, every wall in NAME.walls.
run_melon() {
  local name=$1 np=$2; shift 2
  local t w best
  t=$(now)
  "$MPIRUN" "${MPIFLAGS[@]}" -np "$np" "$MELON" pca --mel-dir "$MEL" --songs "0-$((SONGS - 1))" \
    --out "$WORK/$name.h5" --components "$K" --oversample "$P" --power-iters "${QRUN:-$Q}" --pool "$POOL" \
    --feature-log off --block "$BLOCK" --seed 1 --checkpoint-every 60 "$@" >"$WORK/$name.run.log" 2>&1 ||
    { cat "$WORK/$name.run.log"; echo "bench_pca: melon pca $name failed" >&2; exit 1; }
  w=$(since "$t")
  echo " $w" >>"$WORK/$name.walls"
  best=$(cat "$WORK/$name.wall" 2>/dev/null || true)
  if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then
    echo "$w" >"$WORK/$name.wall"
    mv "$WORK/$name.run.log" "$WORK/$name.log"
  fi
}
report_melon() { # NAME NP
  echo "-- melon $1: $2 rank(s), wall $(cat "$WORK/$1.wall") s (runs:$(tr -d '\n' <"$WORK/$1.walls"))"
  grep -E 'pass [0-9]+/[0-9]+ .*songs in|peak memory' "$WORK/$1.log" | sed 's/^\[melon r0\/[0-9]* *[0-9.]*s\] /   /'
}
cache_mb() { echo $((SONGS * D * 4 / $1 / 1048576 + 768)); }
echo "== melon pca (the configurations take turns, round after round, so that a"
echo "   slow spell of the machine hits all of them rather than one)"
rm -f "$WORK"/{mem1,mem2,stream1,stream2,spill2,single2,fewer2,tol2,krylov2}.{wall,walls}
mkdir -p "$WORK/spill"
fewer=$((Q > 1 ? Q - 1 : 1)) # one power iteration fewer (at least 1), tried at equal error
for ((r = 0; r < REPS; r++)); do
  run_melon mem1 1 --memory-mb "$(cache_mb 1)"
  run_melon mem2 2 --memory-mb "$(cache_mb 2)"
  run_melon stream1 1 --memory-mb 0
  run_melon stream2 2 --memory-mb 0
  run_melon spill2 2 --memory-mb 0 --spill-dir "$WORK/spill"
  run_melon single2 2 --single-pass on
  # Fewer passes at equal error: one power iteration less, and --tol asking
  # for an accuracy (the cap of 8 iterations is not what stops it).
  QRUN=$fewer run_melon fewer2 2 --memory-mb 0
  QRUN=8 run_melon tol2 2 --memory-mb 0 --tol "$TOL"
  # Block Krylov with the fewer passes: every block kept for the final SVD.
  QRUN=$fewer run_melon krylov2 2 --memory-mb 0 --method krylov
done
report_melon mem1 1
report_melon mem2 2
report_melon stream1 1
report_melon stream2 2
report_melon spill2 2
report_melon single2 2
report_melon fewer2 2
report_melon tol2 2
report_melon krylov2 2

echo "== scikit-learn (OPENBLAS_CORETYPE=$best_ct, the fastest above)"
env -u OPENBLAS_L2_SIZE "${ctenv[@]}" /usr/bin/python3 "$ROOT/tools/bench/bench_pca.py" --mel-dir "$MEL" \
  --melon-out "$WORK/mem1.h5" --melon-out "$WORK/mem2.h5" --melon-out "$WORK/stream2.h5" --melon-out "$WORK/single2.h5" \
  --melon-out "$WORK/fewer2.h5" --melon-out "$WORK/tol2.h5" --melon-out "$WORK/krylov2.h5" \
  --k "$K" --p "$P" --q "$Q" --pool "$POOL" --seed 1 --reps "$REPS" --exact "$EXACT" | tee "$WORK/py.txt"
py() { sed -n "s/^$1=//p" "$WORK/py.txt"; }

# The GEMM rate again after all runs; the higher of the two is what passes are held against.
echo "== melon GEMM rate again (this build, one thread)"
env "${ctenv[@]}" "$MELON" bench-gemm --n 4096 --dim "$D" --sketch "$L" --block "$BLOCK" --reps 2 --batch 0 |
  grep -v '^check' | tee -a "$WORK/gemm.txt"
gemm=$(sed -n 's/^gemm_square.*: \([0-9.]*\) GFLOP.*/\1/p' "$WORK/gemm.txt" | sort -g | tail -1)

# Per-pass GFLOP/s per rank vs the square GEMM rate (one thread per rank).
pass_rate() { # LOG NP FROM TO: mean GFLOP/s per rank over passes FROM..TO
  grep -E 'pass [0-9]+/[0-9]+ .*songs in' "$1" | sed -n 's/.*pass \([0-9]*\)\/.* \([0-9.]*\) GFLOP\/s over.*/\1 \2/p' |
    awk -v np="$2" -v a="$3" -v b="$4" '$1 >= a && $1 <= b {s += $2; n++} END {printf "%.2f", n ? s / n / np : 0}'
}
passes=$((2 * Q + 2))
w1=$(cat "$WORK/mem1.wall"); w2=$(cat "$WORK/mem2.wall")
s1=$(cat "$WORK/stream1.wall"); s2=$(cat "$WORK/stream2.wall")
fit=$(py sklearn_fit_s); rd=$(py read_s)
echo
echo "== summary: $SONGS songs x $D features, k=$K p=$P q=$Q; machine load now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "numpy BLAS: $(py blas)"
echo "numpy GEMM: $(py numpy_gemm_gflops) GFLOP/s;  melon GEMM (square, 1 thread, the higher of two runs): $gemm GFLOP/s"
echo "scikit-learn fits: $(py sklearn_fits) s"
echo "plain read: $rd s (np.load of every file into the matrix)"
row() { printf "%-40s %7s %7s %10s %10s\n" "$@"; }
row "" "wall s" "passes" "rel. error" "sigma err"
row "scikit-learn fit_transform" "$fit" "$((2 * Q + 2))+1" "$(py sklearn_err)" "$(py sklearn_sigma_err)"
row "melon 1 rank (rows in memory)" "$w1" "$(py melon_passes0)" "$(py melon_err0)" "$(py melon_sigma_err0)"
row "melon 2 ranks (rows in memory)" "$w2" "$(py melon_passes1)" "$(py melon_err1)" "$(py melon_sigma_err1)"
row "melon 1 rank (streamed)" "$s1" "$passes" "-" "-"
row "melon 2 ranks (streamed)" "$s2" "$(py melon_passes2)" "$(py melon_err2)" "$(py melon_sigma_err2)"
row "melon 2 ranks (streamed, spilled)" "$(cat "$WORK/spill2.wall")" "$passes" "(same bits)" ""
row "melon 2 ranks single-pass" "$(cat "$WORK/single2.wall")" "$(py melon_passes3)" "$(py melon_err3)" "$(py melon_sigma_err3)"
row "melon 2 ranks streamed, q=$fewer" "$(cat "$WORK/fewer2.wall")" "$(py melon_passes4)" "$(py melon_err4)" "$(py melon_sigma_err4)"
row "melon 2 ranks streamed, --tol $TOL" "$(cat "$WORK/tol2.wall")" "$(py melon_passes5)" "$(py melon_err5)" "$(py melon_sigma_err5)"
row "melon 2 ranks streamed, krylov q=$fewer" "$(cat "$WORK/krylov2.wall")" "$(py melon_passes6)" "$(py melon_err6)" "$(py melon_sigma_err6)"
echo "(scikit-learn's passes: 2q + 2 over its matrix, plus one to centre a copy of it; sigma err: the top-$K singular"
echo " values' largest relative error against an exact SVD$([ "$EXACT" = 1 ] && echo ", which took $(py exact_s) s" || echo ": off, BENCH_EXACT=0"))"
# At equal or lower error: the fastest melon run whose residual (and, when
# measured, whose singular values' error) is no worse than scikit-learn's.
best_name='' best_wall=''
names=(mem1 mem2 stream2 "" fewer2 tol2 krylov2) # by the index of their --melon-out above
for i in 0 1 2 4 5 6; do
  e=$(py "melon_err$i"); se=$(py "melon_sigma_err$i")
  awk -v e="$e" -v es="$(py sklearn_err)" -v s="${se:-0}" -v ss="$(py sklearn_sigma_err)" \
    'BEGIN { exit !(e <= es && (ss == "" || s <= ss)) }' || continue
  w=$(cat "$WORK/${names[$i]}.wall")
  if [ -z "$best_wall" ] || awk -v a="$w" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then best_wall=$w best_name=${names[$i]}; fi
done
if [ -n "$best_name" ]; then
  awk -v f="$fit" -v r="$rd" -v w="$best_wall" -v n="$best_name" 'BEGIN {
    printf "at equal or lower error: melon %s %.2f s vs scikit-learn fit %.2f s: %.2fx (target >= 3x); counting the read both need: %.2fx\n", n, w, f, f / w, (f + r) / w }'
  # What no program could beat on this machine for that run: reading every
  # file once (the plain read above) plus that run's products at the GEMM
  # rates measured here (numpy's, 2 threads: the scikit-learn probe's and the
  # core-type probe's best), with nothing else (no MPI start, no output, no
  # orthonormalisation, no centring; the flops are those melon's log reports).
  gf=$(grep -E 'pass [0-9]+/[0-9]+ .*songs in' "$WORK/$best_name.log" |
    sed -n 's/.* songs in \([0-9.]*\) s, .* \([0-9.]*\) GFLOP\/s over.*/\1 \2/p' | awk '{s += $1 * $2} END {printf "%.1f", s}')
  for g in "$(py numpy_gemm_gflops)" "$best_rate"; do
    awk -v c="$plain_s" -v gf="$gf" -v g="$g" -v f="$fit" -v nm="$best_name" 'BEGIN {
      prod = gf / g
      printf "floor for %s on this machine: plain read %.2f s + its %.1f GFLOP of products at %.0f GFLOP/s %.2f s = %.2f s, %.2fx scikit-learn fit (3x needs %.2f s)\n",
        nm, c, gf, g, prod, c + prod, f / (c + prod), f / 3 }'
  done
else
  echo "at equal or lower error: no melon run reached scikit-learn's error"
fi
awk -v f="$fit" -v r="$rd" -v a="$w1" -v b="$w2" 'BEGIN {
  printf "speed-up vs sklearn fit (melon incl. its reading): 1 rank %.1fx, 2 ranks %.1fx (target >= 3x)\n", f / a, f / b
  printf "speed-up vs sklearn read + fit: 1 rank %.1fx, 2 ranks %.1fx\n", (f + r) / a, (f + r) / b }'
awk -v e1="$(py melon_err1)" -v es="$(py sklearn_err)" 'BEGIN {
  printf "error ratio melon/sklearn (2 ranks): %.4f (target <= 1)\n", e1 / es }'
for np in 1 2; do
  first=$(pass_rate "$WORK/mem$np.log" "$np" 1 1)
  rest=$(pass_rate "$WORK/mem$np.log" "$np" 2 "$passes")
  srest=$(pass_rate "$WORK/stream$np.log" "$np" 2 "$passes")
  awk -v np="$np" -v f="$first" -v r="$rest" -v s="$srest" -v g="$gemm" 'BEGIN {
    printf "melon %d rank(s), per rank: pass 1 (reads files) %.2f GFLOP/s; passes 2.. %.2f GFLOP/s = %.0f%% of GEMM (target >= 60%%); streamed passes 2.. %.2f GFLOP/s = %.0f%%\n",
      np, f, r, 100 * r / g, s, 100 * s / g }'
done
# melon's block products against OpenBLAS on the same shapes, one thread each,
# the higher of the two GEMM probes: the measurement the PCA's choice of its own
# kernels over a tuned BLAS rests on.
gb() { sed -n "s/^$1 $2 .*: \([0-9.]*\) GFLOP.*/\1/p" "$WORK/gemm.txt" | sort -g | tail -1; }
if grep -q '^openblas_square' "$WORK/gemm.txt"; then
  awk -v kz="$(gb pca_kernel 'A\*Z')" -v kq="$(gb pca_kernel 'A^T\*Q')" -v oz="$(gb openblas_block 'A\*Z')" \
    -v oq="$(gb openblas_block 'A^T\*Q')" -v sq="$(sed -n 's/^openblas_square.*: \([0-9.]*\) GFLOP.*/\1/p' "$WORK/gemm.txt" | sort -g | tail -1)" \
    -v ct="$best_ct" 'BEGIN {
    printf "block products, 1 thread: melon kernels A Z %.1f, A^T Q %.1f GFLOP/s; OpenBLAS (%s) %.1f, %.1f (melon %.2fx, %.2fx); OpenBLAS square 4096^3 %.1f: melon kernels at %.0f%%, %.0f%% of it\n",
      kz, kq, ct, oz, oq, kz / oz, kq / oq, sq, 100 * kz / sq, 100 * kq / sq }'
fi
awk -v a="$w1" -v b="$w2" -v c="$s1" -v d="$s2" 'BEGIN {
  printf "2-rank efficiency T1/(2 T2): rows in memory %.0f%%, streamed %.0f%% (target >= 80%%)\n", 100 * a / (2 * b), 100 * c / (2 * d) }'
# A best of 3 can catch one lucky run; the medians of the same runs say how typical it is.
median() { tr ' ' '\n' <"$WORK/$1.walls" | grep . | sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
awk -v a="$(median mem1)" -v b="$(median mem2)" -v c="$(median stream1)" -v d="$(median stream2)" 'BEGIN {
  printf "2-rank efficiency from the medians of the runs: rows in memory %.0f%% (%.2f / %.2f s), streamed %.0f%% (%.2f / %.2f s)\n",
    100 * a / (2 * b), a, b, 100 * c / (2 * d), c, d }'
