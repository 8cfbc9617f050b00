#!/usr/bin/env bash
# A full disk ends every writing command with exit status 2 and one error line
# naming the file and "No space left on device": no HDF5 error-stack dump, no
# temporary file left, nothing half-written under the final name. Covers an
# HDF5 checkpoint (train), a parallel and a serial HDF5 output (pca, where a
# failure on one rank must not leave the other waiting), a dataset (generate)
# and a JSON output (baseline). Needs root for a small tmpfs.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: mounting a small tmpfs needs root"
  exit 77
fi
FULL=$WORK/full
mkdir -p "$FULL"
mount -t tmpfs -o size=512k tmpfs "$FULL" 2>/dev/null || { echo "SKIP: mount -t tmpfs not permitted here"; exit 77; }
trap 'umount "$FULL" 2>/dev/null || umount -l "$FULL" 2>/dev/null; rm -rf "$WORK"' EXIT

"$MELON" generate --out "$WORK/data" --playlists 300 --songs 1500 --seed 6 --mel-mode none --quiet >/dev/null 2>&1
D=$WORK/data

# leave KB: empties the tmpfs, then fills it up to KB kilobytes of free space.
leave() {
  find "$FULL" -mindepth 1 -delete
  [ "$1" -ge 512 ] || dd if=/dev/zero of="$FULL/filler" bs=1k count=$((512 - $1)) status=none 2>/dev/null || true
}

# disk_full NAME PATH CMD...: exit 2, exactly one error line (from rank 0)
# naming a file under PATH (PATH itself when a file) and the OS error, no
# HDF5 dump, no temporary files, and the file it names does not exist.
disk_full() {
  local name=$1 path=$2; shift 2
  local rc=0
  timeout 120 "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  [ "$rc" -eq 2 ] || { cat "$WORK/err.txt" >&2; fail "$name: exit $rc, expected 2"; }
  local lines
  lines=$(grep -c '^\[melon r0\] .*error:' "$WORK/err.txt" || true)
  [ "$lines" -eq 1 ] || { cat "$WORK/err.txt" >&2; fail "$name: $lines error lines from rank 0, expected 1"; }
  local line
  line=$(grep '^\[melon r0\] .*error:' "$WORK/err.txt")
  grep -qF -- "$path" <<<"$line" || fail "$name: error line does not name $path: $line"
  grep -qF "No space left on device" <<<"$line" || fail "$name: error line lacks the OS error: $line"
  ! grep -q "HDF5-DIAG\|#0[0-9]*:" "$WORK/err.txt" || { cat "$WORK/err.txt" >&2; fail "$name: HDF5 error stack printed"; }
  [ -z "$(find "$FULL" -name '*.tmp.*' -print -quit)" ] || fail "$name: left a temporary file: $(find "$FULL" -name '*.tmp.*')"
  # Every line is melon's own (under mpirun, also mpirun's abort notice).
  if [ "$1" != "$MPIRUN" ] && grep -qv '^\[melon r' "$WORK/err.txt"; then
    cat "$WORK/err.txt" >&2
    fail "$name: error output runs over several lines"
  fi
  local named
  named=$(grep -o -- "$path[^: ]*" <<<"$line" | head -1)
  [ ! -e "$named" ] || fail "$name: $named exists, half-written"
  echo "ok  $name: $(cut -c1-220 <<<"$line")"
}

# (a) A training checkpoint (2.3 MB of weights and moments) on 512 KB.
leave 512
disk_full "train checkpoint" "$FULL/ck/ckpt-0000000005.h5" \
  "$MELON" train --train "$D/train.json" --hidden 64 --batch 32 --max-steps 5 --val-size 0 --threads 1 \
  --checkpoint-dir "$FULL/ck" --checkpoint-every 0 --keep 1
[ -z "$(find "$FULL/ck" -name 'ckpt-*.h5' -print -quit)" ] || fail "train checkpoint: a checkpoint file was left"

# (b) pca's HDF5 output with 100 KB free: in parallel over MPI-IO (both ranks
# must stop; --stall-timeout bounds a hang should one wait for the other), then serially.
pca=(pca --mel-source synthetic:9:500 --songs 0-299 --components 5 --oversample 5 --power-iters 2 --pool 16 --seed 2
  --block 32 --checkpoint-every 100000 --out "$FULL/p.h5" --stall-timeout 30)
leave 100
disk_full "pca output, 2 ranks" "$FULL/p.h5" "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" "${pca[@]}"
leave 100
disk_full "pca output, 1 rank" "$FULL/p.h5" "$MELON" "${pca[@]}"

# (c) A generated dataset larger than the disk.
leave 512
disk_full "generate" "$FULL/gen/" \
  "$MELON" generate --out "$FULL/gen" --playlists 300 --songs 1500 --seed 6 --mel-mode none --quiet

# (d) A JSON output with 12 KB free.
leave 12
disk_full "baseline JSON" "$FULL/b.json" \
  "$MELON" baseline --method most-popular --train "$D/train.json" --questions "$D/val.json" --out "$FULL/b.json"
