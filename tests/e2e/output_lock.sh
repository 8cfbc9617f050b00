#!/usr/bin/env bash
# Issue 15, case 1: two runs on one output folder. A second `melon train` on a
# --checkpoint-dir in use fails at once (1 and 2 ranks) naming the folder and
# the holder's host and PID, and leaves the folder as it was; after kill -9 of
# the holder its stale lock file does not block a resume. `melon pipeline` on
# a --work and `melon pca` on an --out whose X.state are in use are refused too.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 400 --songs 2000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
ARGS=(--train "$WORK/split/orig/train.json" --hidden 16 --batch 32 --val-size 20 --threads 1 --min-song-count 2
      --epochs 1000000 --checkpoint-every 20)
CK=$WORK/ck
HOST=$(hostname)
HOLDER=
trap '[ -n "$HOLDER" ] && kill -9 $HOLDER 2>/dev/null; rm -rf "$WORK"' EXIT

# hold DIR: a long `melon train` holding DIR, its PID in $HOLDER once its
# first checkpoint is there; then stopped (SIGSTOP) between two checkpoint
# writes, so its folder stands still and holds no temporary file of its own
# while a second run tries.
hold() {
  "$MELON" train "${ARGS[@]}" --checkpoint-dir "$1" >/dev/null 2>"$WORK/holder.log" &
  HOLDER=$!
  for _ in $(seq 900); do
    compgen -G "$1/ckpt-*.h5" >/dev/null && break
    kill -0 $HOLDER 2>/dev/null || { cat "$WORK/holder.log"; fail "the holding run ended early"; }
    sleep 0.1
  done
  compgen -G "$1/ckpt-*.h5" >/dev/null || { cat "$WORK/holder.log"; fail "the holding run wrote no checkpoint in $1 in 90 s"; }
  for _ in $(seq 100); do
    kill -STOP $HOLDER
    [ -z "$(find "$1" -name '*.tmp.*' -print -quit)" ] && return
    kill -CONT $HOLDER
    sleep 0.02
  done
  fail "the holding run was always writing a checkpoint"
}
listing() { (cd "$1" && find . ! -name '*.tmp.*' | sort); }

hold "$CK"
grep -q "^pid $HOLDER$" "$CK/.melon.lock" || fail "the lock file does not name the holder's pid"
before=$(listing "$CK")
t0=$(date +%s)
expect_error "second train on the same --checkpoint-dir" "$CK is in use by another melon run (host $HOST, pid $HOLDER" \
  "$MELON" train "${ARGS[@]}" --checkpoint-dir "$CK" --resume
expect_error "second train on 2 ranks" "$CK is in use by another melon run (host $HOST, pid $HOLDER" \
  "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" --checkpoint-dir "$CK" --resume
grep -q "^\[melon r1\] melon train: error: $CK is in use" "$WORK/err.txt" || fail "rank 1 did not fail with rank 0"
[ $(($(date +%s) - t0)) -le 20 ] || fail "the two refusals took more than 20 s"
[ "$before" = "$(listing "$CK")" ] || fail "the refused runs changed $CK"
kill -CONT $HOLDER

# kill -9: the lock file stays, the lock does not.
kill -9 $HOLDER
wait $HOLDER 2>/dev/null || true
HOLDER=
[ -e "$CK/.melon.lock" ] || fail "kill -9 removed the lock file (the test needs a stale one)"
"$MELON" train "${ARGS[@]}" --checkpoint-dir "$CK" --resume --max-steps 1 >/dev/null 2>"$WORK/after.log" ||
  { cat "$WORK/after.log"; fail "a stale lock file blocked the next run"; }
grep -q "resuming from $CK/ckpt-" "$WORK/after.log" || { cat "$WORK/after.log"; fail "the next run did not resume"; }
[ ! -e "$CK/.melon.lock" ] || fail "a finished run left its lock file"
echo "ok  after kill -9 of the holder the next run resumes; it leaves no lock file"

# The pipeline's work folder and pca's X.state, held here by a train run.
hold "$WORK/run"
expect_error "pipeline on a --work in use" "$WORK/run is in use by another melon run (host $HOST, pid $HOLDER" \
  "$MELON" pipeline --data "$WORK/data" --work "$WORK/run" --pca off --model off --rerank off --methods most-popular
[ ! -e "$WORK/run/split" ] || fail "the refused pipeline wrote into the work folder"
kill -9 $HOLDER
wait $HOLDER 2>/dev/null || true
hold "$WORK/pca.h5.state"
expect_error "pca on an --out whose state folder is in use" "$WORK/pca.h5.state is in use by another melon run" \
  "$MELON" pca --mel-source synthetic:5:2000 --songs 0-99 --components 4 --out "$WORK/pca.h5" --quiet
[ ! -e "$WORK/pca.h5" ] || fail "the refused pca wrote its output"
ls "$WORK/pca.h5.state"/ckpt-*.h5 >/dev/null || fail "the refused pca cleared the holder's files"
echo "output lock checks passed"
