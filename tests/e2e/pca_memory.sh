#!/usr/bin/env bash
# melon pca when the features do not fit in the memory a rank is allowed:
# raw frames (pool 1, D = 90,048 floats = 360 KB a song), 1,600 songs = 576 MB
# of features over 2 ranks, --memory-mb 200 each and 8-song blocks. It must
# stream, finish, and report every rank's peak memory (VmHWM). The peak must
# not grow with the song count: it stays within 48 MB of a 40-song run's
# (a sanitizer build's own overhead cancels out). A limit below the working
# set is a clear error.
source "$(dirname "$0")/lib.sh"
# AddressSanitizer keeps up to 256 MB of freed blocks in quarantine, which
# would read as growth here; a small quarantine keeps VmHWM about the program.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}:quarantine_size_mb=8"

pca() { # pca SONGS OUT
  "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" pca --mel-source "synthetic:6:$1" --out "$2" \
    --components 4 --oversample 4 --power-iters 0 --pool 1 --block 8 --memory-mb 200 >"$2.log" 2>&1 ||
    { cat "$2.log"; fail "pca of $1 songs with --memory-mb 200 failed"; }
  grep "peak memory (VmHWM) per rank" "$2.log" | sed -n 's/.*max \([0-9.]*\) MB.*/\1/p'
}
songs=1600
features_mb=$((songs * 48 * 1876 * 4 / 1000000))
base=$(pca 40 "$WORK/small.h5")
peak=$(pca "$songs" "$WORK/big.h5")
[ -n "$base" ] && [ -n "$peak" ] || fail "no peak memory line"
grep -q "0/2 ranks keep their feature rows in memory" "$WORK/big.h5.log" || fail "a rank cached rows it had no room for"
echo "ok  $(grep "peak memory" "$WORK/big.h5.log" | sed 's/.*pca: //')"
awk -v p="$peak" -v b="$base" 'BEGIN {exit !(p < b + 48)}' ||
  fail "peak $peak MB per rank for $songs songs vs $base MB for 40: memory grows with the data"
echo "ok  $features_mb MB of features streamed; peak $peak MB per rank vs $base MB for 40 songs"

expect_error "memory limit below the working set" "below this rank's working set" \
  "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" pca --mel-source "synthetic:6:$songs" --out "$WORK/x.h5" \
  --components 4 --pool 1 --block 512 --memory-mb 100
echo "PASS pca_memory"
