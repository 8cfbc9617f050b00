#!/usr/bin/env bash
# Issue 15, case 4: --resume that finds nothing valid is an error naming the
# folder and what was there (a typo'd folder: not created; every checkpoint
# truncated: each named and set aside as *.bad, none deleted), on 1 and 2
# ranks. --resume=auto resumes when it can and otherwise starts from scratch
# (the log says which), and its pruning never touches the *.bad files.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 400 --songs 2000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
ARGS=(--train "$WORK/split/orig/train.json" --questions "$WORK/split/questions/val.json"
      --hidden 16 --batch 32 --val-size 20 --threads 1 --min-song-count 2 --epochs 3 --checkpoint-every 2 --keep 2)
hash_of() { grep -o 'weights fnv1a64=[0-9a-f]*' "$1" | tail -1; }

"$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/ckpt" --max-steps 6 2>"$WORK/first.log" || { cat "$WORK/first.log"; fail "first run"; }

# A typo in the folder name.
expect_error "--resume, typo'd folder" "--resume: no valid checkpoint in $WORK/cktp: the folder does not exist" \
  "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/cktp" --max-steps 8 --resume
[ -e "$WORK/cktp" ] && fail "the typo'd folder was created"
expect_error "--resume=on, 2 ranks, typo'd folder" "no valid checkpoint in $WORK/cktp" \
  timeout 120 "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/cktp" --max-steps 8 --resume=on
expect_error "--resume=maybe" "--resume: expected on|auto|off" \
  "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/ckpt" --max-steps 8 --resume=maybe

# Every checkpoint truncated: an error naming each, all kept as *.bad.
cp -r "$WORK/ckpt" "$WORK/trunc"
for f in "$WORK/trunc"/ckpt-*.h5; do truncate -s 3000 "$f"; done
ls "$WORK/trunc" | sort > "$WORK/before.txt"
expect_error "--resume, every checkpoint truncated" "no valid checkpoint in $WORK/trunc: 2 damaged or unreadable checkpoint file(s)" \
  "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/trunc" --max-steps 8 --resume
for f in ckpt-0000000004.h5 ckpt-0000000006.h5; do
  grep -qF "$WORK/trunc/$f: 3000 bytes, its DONE marker says" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "error does not name $f"; }
  [ -f "$WORK/trunc/$f.bad" ] && [ -f "$WORK/trunc/$f.done.bad" ] || fail "$f not set aside with its marker"
  [ "$(stat -c %s "$WORK/trunc/$f.bad")" = 3000 ] || fail "$f.bad changed"
done
[ "$(ls "$WORK/trunc" | wc -l)" = "$(wc -l < "$WORK/before.txt")" ] || fail "files appeared or vanished: $(ls "$WORK/trunc")"

# --resume=auto on that folder: starts from scratch, says so, and its pruning
# (keep 2, a checkpoint every 2 steps) leaves the *.bad files alone.
"$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/trunc" --max-steps 10 --resume=auto 2>"$WORK/auto.log" || { cat "$WORK/auto.log"; fail "--resume=auto"; }
grep -q "no valid checkpoint in $WORK/trunc, starting from scratch" "$WORK/auto.log" || { cat "$WORK/auto.log"; fail "auto did not say it starts from scratch"; }
for f in ckpt-0000000004.h5 ckpt-0000000006.h5; do [ -f "$WORK/trunc/$f.bad" ] || fail "$f.bad gone after pruning"; done
[ "$(ls "$WORK/trunc"/ckpt-*.h5 | wc -l)" = 2 ] || fail "expected 2 kept checkpoints: $(ls "$WORK/trunc")"
echo "ok  --resume=auto started from scratch; *.bad files kept through pruning"

# --resume=auto with a valid checkpoint resumes (bit-exact with a straight run).
"$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/ckpt" --max-steps 10 --resume=auto 2>"$WORK/auto2.log" || { cat "$WORK/auto2.log"; fail "auto resume"; }
grep -q "resuming from $WORK/ckpt/ckpt-0000000006.h5" "$WORK/auto2.log" || { cat "$WORK/auto2.log"; fail "auto did not resume"; }
[ "$(hash_of "$WORK/auto.log")" = "$(hash_of "$WORK/auto2.log")" ] || fail "auto resume: other weights than a straight run"
# --resume=auto on a folder that does not exist yet: a fresh start there.
"$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/new" --max-steps 2 --resume=auto 2>"$WORK/auto3.log" || { cat "$WORK/auto3.log"; fail "auto, new folder"; }
[ -f "$WORK/new/ckpt-0000000002.h5.done" ] || fail "auto, new folder: no checkpoint"
[ -z "$(find "$WORK" -name '*.tmp.*' -print -quit)" ] || fail "temporary files left behind"
echo "train resume-nothing checks passed"
