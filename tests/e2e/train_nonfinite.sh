#!/usr/bin/env bash
# Issue 15, case 3: divergence is never silent. --lr 1e308 stops training
# with an error naming the step and what is non-finite (1 and 2 ranks, exit 2,
# no hang), writes no checkpoint and no best.h5 from the diverged weights and
# prunes none of the good ones; hyperparameters outside their domain are
# refused up front naming the option. (That a diverged model never prunes a
# good checkpoint follows: pruning only follows a write, and no write takes
# non-finite weights; tests/unit/test_checkpoint.cpp CheckpointGuard.)
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 400 --songs 2000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
BASE=(--train "$WORK/split/orig/train.json" --questions "$WORK/split/questions/val.json"
      --val-size 20 --threads 1 --min-song-count 2)
ARGS=("${BASE[@]}" --hidden 16 --batch 32 --epochs 3)

# Up front, before any data is read: each names its option and its domain.
for bad in "--beta1 1.5|--beta1 must be in [0, 1), got 1.5" "--beta2 1|--beta2 must be in [0, 1)" \
           "--lr 0|--lr must be positive and finite" "--lr inf|--lr must be positive and finite" \
           "--adam-eps 0|--adam-eps must be positive" "--weight-decay -1|--weight-decay must be finite and >= 0" \
           "--lr-final 2|--lr-final must be in [0, 1]" "--keep-title 1.5|--keep-title must be in [0, 1]" \
           "--batch 0|--batch must be >= 1" "--epochs 0|--epochs: expected auto or a whole number >= 1, got '0'" \
           "--epochs 2x|--epochs: expected auto or a whole number >= 1" "--hidden 16,0|--hidden" \
           "--keep 0|--keep must be >= 1" "--min-steps 0|--min-steps must be >= 1" \
           "--patience -1|--patience must be >= 0"; do
  opt=${bad%%|*} msg=${bad#*|}
  # shellcheck disable=SC2086
  expect_error "refused: $opt" "$msg" "$MELON" train "${BASE[@]}" $opt --checkpoint-dir "$WORK/hp"
done
[ -z "$(ls -A "$WORK/hp" 2>/dev/null)" ] || fail "a refused run wrote into its checkpoint dir: $(ls "$WORK/hp")"

# Divergence with a checkpoint every step: the weights are infinite after
# step 1 and never written; nothing in the folder but what was there.
start=$SECONDS
expect_error "--lr 1e308, checkpoint every step" "training diverged: the weights hold non-finite values at step 1" \
  "$MELON" train "${ARGS[@]}" --lr 1e308 --checkpoint-every 1 --checkpoint-dir "$WORK/d1"
[ -z "$(ls "$WORK/d1" | grep -E '\.h5')" ] || fail "diverged run wrote $(ls "$WORK/d1")"
# Without one in between, the next step's loss stops it (which loss, which step).
expect_error "--lr 1e308" "training diverged at step 2 (epoch 1 step 2): the song loss is" \
  "$MELON" train "${ARGS[@]}" --lr 1e308 --checkpoint-dir "$WORK/d2"
grep -q "best held-out score" "$WORK/err.txt" && fail "a diverged model became best"

# Two ranks: every rank stops with the error, exit non-zero, no hang.
expect_error "2 ranks, --lr 1e308" "training diverged at step 2" \
  timeout 120 "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" --lr 1e308 --checkpoint-dir "$WORK/d3"
[ -z "$(ls "$WORK/d3" | grep -E '\.h5')" ] || fail "2 ranks: diverged run wrote $(ls "$WORK/d3")"
echo "ok  diverged runs stopped in $((SECONDS - start)) s"

echo "train non-finite checks passed"
