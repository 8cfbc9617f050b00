#!/usr/bin/env bash
# Issue 15, case 9: every output path is checked before any work starts. For
# every command that writes, an --out naming an existing folder (or a folder
# option naming a file), an empty --out and an unwritable place each fail in
# seconds with exit 2 and a message naming the option and the path, and write
# nothing anywhere (the test's whole folder is compared before and after);
# under 2 ranks every rank reports it. A pca that fails early leaves no X.state.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 300 --songs 1500 --seed 3 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
TRAIN=$WORK/split/orig/train.json
Q=$WORK/split/questions/val.json
mkdir "$WORK/adir"
echo x >"$WORK/afile"
# An unwritable folder: a read-only mount as root (permissions do not stop
# root), a mode-555 folder otherwise; a regular file as a parent everywhere.
RO=$WORK/ro
mkdir "$RO"
if [ "$(id -u)" -eq 0 ]; then
  if mount -t tmpfs -o size=4m tmpfs "$RO" 2>/dev/null; then
    trap 'umount "$RO" 2>/dev/null || true; rm -rf "$WORK"' EXIT
    cp -r "$WORK/data" "$RO/data"
    mount -o remount,ro "$RO"
  else
    echo "note: cannot mount a read-only tmpfs: the unwritable-folder cases are left out"
    RO=
  fi
else
  cp -r "$WORK/data" "$RO/data"
  chmod 555 "$RO"
  trap 'chmod 755 "$WORK/ro"; rm -rf "$WORK"' EXIT
fi

listing() { find "$WORK" ! -name out.txt ! -name err.txt | sort; }
# early NAME FRAGMENT CMD...: fails through melon's error path within 5 s,
# naming FRAGMENT, and nothing under $WORK changes.
early() {
  local name=$1 frag=$2 before t0
  before=$(listing)
  t0=$(date +%s%N)
  expect_error "$@"
  local ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$ms" -le 5000 ] || fail "$name: took $ms ms, expected an early failure"
  [ "$before" = "$(listing)" ] || { diff <(echo "$before") <(listing) >&2; fail "$name: wrote or removed files"; }
}
# each CMD-NAME OPTION KIND CMD...: the bad values of OPTION (appended last) for a file or dir output.
each() {
  local name=$1 opt=$2 kind=$3; shift 3
  if [ "$kind" = file ]; then
    early "$name $opt existing folder" "$opt $WORK/adir: is an existing folder" "$@" "$opt" "$WORK/adir"
  else
    early "$name $opt existing file" "$opt $WORK/afile: is an existing file, not a folder" "$@" "$opt" "$WORK/afile"
  fi
  early "$name $opt empty" "$opt is empty" "$@" "$opt" ""
  [ -z "$RO" ] || early "$name $opt unwritable" "$opt $RO/x: cannot write in $RO" "$@" "$opt" "$RO/x"
}

each generate --out dir "$MELON" generate --playlists 300 --songs 1500 --mel-mode none --quiet
each split --out dir "$MELON" split --input "$TRAIN"
each pca --out file "$MELON" pca --mel-source synthetic:3:1500 --songs 0-99 --components 4 --quiet
each train --checkpoint-dir dir "$MELON" train --train "$TRAIN" --hidden 8 --epochs 1 --threads 1
each predict --out file "$MELON" predict --checkpoint-dir "$WORK/nothing" --questions "$Q"
each baseline --out file "$MELON" baseline --method most-popular --train "$TRAIN" --questions "$Q"
each rerank --out file "$MELON" rerank --train "$TRAIN" --questions "$Q"
each rerank --model-dir dir "$MELON" rerank --train "$TRAIN" --questions "$Q" --out "$WORK/r.json"
each report --out file "$MELON" report --work "$WORK/split"
each pipeline --work dir "$MELON" pipeline --data "$WORK/data" --pca off --model off --rerank off
[ -z "$RO" ] || early "validate --mark on a read-only dataset" "--mark $RO/data/melon-dataset.done: cannot write in $RO/data" \
  "$MELON" validate --data "$RO/data" --mark

# A regular file where a folder must be, above the output.
early "baseline --out under a file" "--out $WORK/afile/x: $WORK/afile is not a folder" \
  "$MELON" baseline --method most-popular --train "$TRAIN" --questions "$Q" --out "$WORK/afile/x"
early "train --checkpoint-dir under a file" "--checkpoint-dir $WORK/afile/x: $WORK/afile is not a folder" \
  "$MELON" train --train "$TRAIN" --hidden 8 --epochs 1 --threads 1 --checkpoint-dir "$WORK/afile/x"

# Two ranks: every rank fails at once with rank 0's finding.
early "train on 2 ranks" "--checkpoint-dir $WORK/afile: is an existing file" \
  "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train --train "$TRAIN" --hidden 8 --epochs 1 --threads 1 --checkpoint-dir "$WORK/afile"
grep -q "^\[melon r1\] melon train: error: --checkpoint-dir $WORK/afile" "$WORK/err.txt" || fail "rank 1 did not report the bad path"

# pca failing after its checks (no readable song) leaves no X.state behind.
mkdir "$WORK/nomel"
expect_error "pca with no readable song" "no readable rows" \
  "$MELON" pca --mel-dir "$WORK/nomel" --songs 0-9 --components 4 --out "$WORK/p.h5" --quiet
[ ! -e "$WORK/p.h5.state" ] || fail "a pca that failed early left $WORK/p.h5.state"
[ ! -e "$WORK/p.h5" ] || fail "a pca that failed early left $WORK/p.h5"
echo "early output checks passed"
