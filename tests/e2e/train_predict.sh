#!/usr/bin/env bash
# generate -> split -> train -> predict -> evaluate with the real binary, from
# an INI job file ([train], [predict]); predict on 1 and 2 ranks gives the same file.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 600 --songs 3000 --seed 7 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
cat >"$WORK/job.ini" <<INI
[train]
train = $WORK/split/orig/train.json
questions = $WORK/split/questions/val.json
song-meta = $WORK/data/song_meta.json
checkpoint-dir = $WORK/ck
hidden = 24
batch = 64
epochs = 3
val-size = 30
threads = 1
[predict]
checkpoint-dir = $WORK/ck
questions = $WORK/split/questions/val.json
song-meta = $WORK/data/song_meta.json
out = $WORK/r1.json
threads = 1
INI
"$MELON" train --config "$WORK/job.ini" 2>"$WORK/train.log" || { cat "$WORK/train.log"; fail "train failed"; }
grep -q "epoch 3/3: loss" "$WORK/train.log" || fail "no per-epoch progress line"
grep -q "val nDCG" "$WORK/train.log" || fail "no validation nDCG in the epoch line"
"$MELON" predict --config "$WORK/job.ini" 2>"$WORK/predict.log" || { cat "$WORK/predict.log"; fail "predict failed"; }
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" predict --config "$WORK/job.ini" --out "$WORK/r2.json" 2>/dev/null
cmp -s "$WORK/r1.json" "$WORK/r2.json" || fail "predict on 2 ranks differs from 1 rank"
"$MELON" evaluate --answers "$WORK/split/answers/val.json" --results "$WORK/r1.json" \
  --questions "$WORK/split/questions/val.json" >"$WORK/eval.txt" 2>&1 || { cat "$WORK/eval.txt"; fail "evaluate rejected the results"; }
grep -q "title only" "$WORK/eval.txt" || fail "no title-only questions scored"
echo "ok  results accepted by the official rules:"
cat "$WORK/eval.txt"
expect_error "predict without a checkpoint" "no usable checkpoint" \
  "$MELON" predict --checkpoint-dir "$WORK/none" --questions "$WORK/split/questions/val.json" --out "$WORK/x.json"
echo "train/predict checks passed"
