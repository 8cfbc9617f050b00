#!/usr/bin/env bash
# Checkpoint/resume through the real binary: kill -9 mid-epoch and resume
# gives the weights of an uninterrupted run (1 and 2 ranks); a truncated newest
# checkpoint falls back to the previous one; SIGUSR1 checkpoints and exits
# cleanly; a resume with other settings is refused, and one with another rank
# count too when data-parallel (vocabulary-parallel re-slices the model).
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 400 --songs 2000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
ARGS=(--train "$WORK/split/orig/train.json" --questions "$WORK/split/questions/val.json"
      --hidden 16 --batch 32 --val-size 20 --threads 1 --min-song-count 2)
E3=(--epochs 3)
hash_of() { grep -o 'weights fnv1a64=[0-9a-f]*' "$1" | tail -1; }

# 1 rank: 12 steps straight vs killed after step 10 (checkpoints at 4 and 8) and resumed.
"$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/a" --max-steps 12 --checkpoint-every 4 2>"$WORK/a.log"
rc=0
"$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/b" --max-steps 12 --checkpoint-every 4 --test-kill-at-step 10 \
  2>"$WORK/b.log" || rc=$?
[ "$rc" -eq 137 ] || { cat "$WORK/b.log"; fail "kill -9 run: exit $rc, expected 137"; }
ls "$WORK/b"/ckpt-0000000008.h5 >/dev/null || fail "no checkpoint at step 8 before the kill"
"$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/b" --max-steps 12 --checkpoint-every 4 --resume 2>"$WORK/b2.log"
grep -q "resuming from .*ckpt-0000000008.h5" "$WORK/b2.log" || { cat "$WORK/b2.log"; fail "did not resume from step 8"; }
[ -n "$(hash_of "$WORK/a.log")" ] || fail "no weights hash in the log"
[ "$(hash_of "$WORK/a.log")" = "$(hash_of "$WORK/b2.log")" ] || fail "resumed weights differ: $(hash_of "$WORK/a.log") vs $(hash_of "$WORK/b2.log")"
# The files too, byte for byte: weights, optimiser state, schedule and RNG.
for f in ckpt-0000000012.h5 best.h5; do cmp "$WORK/a/$f" "$WORK/b/$f" || fail "resumed $f differs from the straight run's"; done
echo "ok  kill -9 at step 10 + resume from 8 = straight run ($(hash_of "$WORK/a.log"); checkpoint and best.h5 the same bytes)"

# 2 ranks: the same, killing rank 0 (mpirun takes the other rank down).
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/c" --max-steps 12 --checkpoint-every 4 \
  2>"$WORK/c.log"
rc=0
timeout 120 "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/d" --max-steps 12 \
  --checkpoint-every 4 --test-kill-at-step 6 >/dev/null 2>"$WORK/d.log" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "2-rank kill -9 run: exit $rc"
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/d" --max-steps 12 --checkpoint-every 4 \
  --resume 2>"$WORK/d2.log"
grep -q "resuming from .*ckpt-0000000004.h5" "$WORK/d2.log" || { cat "$WORK/d2.log"; fail "2 ranks: did not resume from step 4"; }
[ "$(hash_of "$WORK/c.log")" = "$(hash_of "$WORK/d2.log")" ] || fail "2 ranks: resumed weights differ"
for f in ckpt-0000000012.h5 best.h5; do cmp "$WORK/c/$f" "$WORK/d/$f" || fail "2 ranks: resumed $f differs from the straight run's"; done
echo "ok  2 ranks: kill -9 at step 6 + resume from 4 = straight run ($(hash_of "$WORK/c.log"); the same bytes)"

# Another rank count: data-parallel refuses it (the batch split would
# change); vocabulary-parallel (the default) re-slices the model and goes on.
expect_error "resume with another rank count" "refusing to resume" \
  "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/a" --max-steps 14 --resume \
  --parallel data
cp -r "$WORK/a" "$WORK/a-np2"
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/a-np2" --max-steps 14 \
  --resume 2>"$WORK/a-np2.log" || { cat "$WORK/a-np2.log"; fail "2 ranks could not resume a 1-rank checkpoint"; }
grep -q "resuming a 1-rank checkpoint on 2 ranks: the model is re-sliced" "$WORK/a-np2.log" || fail "no re-slice message"
grep -q "resuming from .*ckpt-0000000012.h5" "$WORK/a-np2.log" || fail "2 ranks: did not resume from step 12"
echo "ok  a 1-rank checkpoint resumed on 2 ranks (vocabulary-parallel: re-sliced)"
# --val-size auto (the default) resuming a run started with another slice
# (20 here; 1,000 before auto existed): it continues that run's slice, where
# auto alone would hold out 106 of these 320 playlists and be refused.
AUTO=()
for a in "${ARGS[@]}"; do [ "$a" = --val-size ] || [ "$a" = 20 ] || AUTO+=("$a"); done
cp -r "$WORK/a" "$WORK/a-auto"
"$MELON" train "${AUTO[@]}" "${E3[@]}" --checkpoint-dir "$WORK/a-auto" --max-steps 14 --resume 2>"$WORK/a-auto.log" ||
  { cat "$WORK/a-auto.log"; fail "--val-size auto could not resume a --val-size 20 run"; }
grep -q -- "--val-size auto: 20, the run being resumed" "$WORK/a-auto.log" || fail "no line for the resumed slice"
grep -q "resuming from .*ckpt-0000000012.h5" "$WORK/a-auto.log" || fail "--val-size auto: did not resume from step 12"
echo "ok  --val-size auto resumes a run with the slice it was started with"
expect_error "resume with other settings" "lr=0.002" \
  "$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/a" --max-steps 14 --resume --lr 0.002
expect_error "occupied checkpoint dir without --resume" "pass --resume" \
  "$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/a" --max-steps 14

# A truncated newest checkpoint: skipped with a warning, the previous one is used.
newest=$(ls "$WORK/a"/ckpt-*.h5 | sort | tail -1)
truncate -s 2000 "$newest"
"$MELON" train "${ARGS[@]}" "${E3[@]}" --checkpoint-dir "$WORK/a" --max-steps 12 --checkpoint-every 4 --resume 2>"$WORK/a2.log"
grep -q "skipping unreadable checkpoint.*$(basename "$newest")" "$WORK/a2.log" || { cat "$WORK/a2.log"; fail "no warning for the truncated checkpoint"; }
grep -q "resuming from .*ckpt-0000000008.h5" "$WORK/a2.log" || fail "did not fall back to step 8"
[ "$(hash_of "$WORK/a.log")" = "$(hash_of "$WORK/a2.log")" ] || fail "fallback resume gave other weights"
echo "ok  truncated newest checkpoint skipped, resumed from the previous one"

# SIGUSR1: checkpoint at the next step boundary and exit 0; then resume.
"$MELON" train "${ARGS[@]}" --epochs 100000 --checkpoint-dir "$WORK/e" --checkpoint-every 0 2>"$WORK/e.log" &
pid=$!
for _ in $(seq 600); do grep -q "training:" "$WORK/e.log" && break; sleep 0.1; done
sleep 1
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK/e.log"; fail "SIGUSR1: exit $rc, expected a clean exit"; }
grep -q "stop signal received" "$WORK/e.log" || fail "SIGUSR1: no stop message"
step=$(ls "$WORK/e"/ckpt-*.h5 | sort | tail -1 | grep -o '[0-9]*\.h5' | sed 's/^0*//; s/\.h5//')
[ -n "$step" ] || fail "SIGUSR1: no checkpoint written"
"$MELON" train "${ARGS[@]}" --epochs 100000 --checkpoint-dir "$WORK/e" --max-steps $((step + 2)) --resume 2>"$WORK/e2.log"
grep -q "resuming from" "$WORK/e2.log" || fail "SIGUSR1: could not resume"
echo "ok  SIGUSR1 at step $step: clean exit with a checkpoint, resumable"
[ -z "$(find "$WORK" -name '*.tmp.*' -print -quit)" ] || fail "temporary checkpoint files left behind"
echo "train resume checks passed"
