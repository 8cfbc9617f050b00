#!/usr/bin/env bash
# Issue 15, case 6: a generate that failed half-way (disk full among the mel
# files) leaves train.json but no completion marker, and `melon pipeline`
# refuses the folder (naming it and the missing marker) instead of using the
# broken dataset; --trust-data proceeds; `melon validate --mark` marks a folder
# that passes, and pipeline then accepts it; a JSON file changed after marking
# is refused by name. A complete generate writes the same marker on 1 and 2
# ranks, in both generator families (--model taste and walk).
source "$(dirname "$0")/lib.sh"
GEN=(--playlists 400 --songs 2000 --seed 5 --quiet)
FAST=(--pca off --model off --rerank off --methods most-popular)

# A complete dataset: the marker is written, the same bytes whatever the rank count.
"$MELON" generate --out "$WORK/ok1" "${GEN[@]}" --mel-mode used --mel-songs 4 >/dev/null 2>&1 || fail "generate failed"
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" generate --out "$WORK/ok2" "${GEN[@]}" --mel-mode used --mel-songs 4 \
  >/dev/null 2>&1 || fail "generate on 2 ranks failed"
[ -s "$WORK/ok1/melon-dataset.done" ] || fail "a complete generate wrote no melon-dataset.done"
grep -q '"mel_files": 4' "$WORK/ok1/melon-dataset.done" || fail "the marker does not count the 4 mel files"
cmp -s "$WORK/ok1/melon-dataset.done" "$WORK/ok2/melon-dataset.done" || fail "the marker differs between 1 and 2 ranks"
echo "ok  generate writes melon-dataset.done last, the same on 1 and 2 ranks"

# The walk family: the same files on 1 and 2 ranks too.
"$MELON" generate --out "$WORK/walk1" "${GEN[@]}" --model walk --mel-songs 2 >/dev/null 2>&1 || fail "generate --model walk failed"
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" generate --out "$WORK/walk2" "${GEN[@]}" --model walk --mel-songs 2 \
  >/dev/null 2>&1 || fail "generate --model walk on 2 ranks failed"
for f in train.json val.json test.json answers/val.json answers/test.json calibration.json melon-dataset.done; do
  cmp -s "$WORK/walk1/$f" "$WORK/walk2/$f" || fail "generate --model walk: $f differs between 1 and 2 ranks"
done
grep -q '"model": "walk"' "$WORK/walk1/calibration.json" || fail "calibration.json does not record --model walk"
cmp -s "$WORK/walk1/train.json" "$WORK/ok1/train.json" && fail "--model walk wrote the taste family's train.json"
echo "ok  generate --model walk: the same files on 1 and 2 ranks"
expect_error "generate --model with an unknown family" "--model must be taste or walk, got 'walks'" \
  "$MELON" generate --out "$WORK/badmodel" "${GEN[@]}" --model walks

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: a full disk is simulated with a small tmpfs mount, which needs root"
  exit 77
fi
D=$WORK/full
mkdir "$D"
mount -t tmpfs -o size=3m tmpfs "$D" 2>/dev/null || { echo "SKIP: cannot mount a tmpfs here"; exit 77; }
trap 'umount "$D" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Disk full part-way through the mel files (each ~360 KB; the JSON takes ~1 MB of the 3 MB).
rc=0
"$MELON" generate --out "$D" "${GEN[@]}" --mel-mode used --mel-songs 30 >"$WORK/gen.out" 2>"$WORK/gen.err" || rc=$?
[ "$rc" -eq 2 ] || { cat "$WORK/gen.err"; fail "generate on a full disk: exit $rc, expected 2"; }
grep -q "No space left on device" "$WORK/gen.err" || { cat "$WORK/gen.err"; fail "generate's error does not say the disk is full"; }
[ -s "$D/train.json" ] || fail "the half-way generate left no train.json (the case needs one)"
n_mel=$(find "$D/arena_mel" -name '*.npy' | wc -l)
[ "$n_mel" -lt 30 ] || fail "the disk did not fill before the last mel file"
[ ! -e "$D/melon-dataset.done" ] || fail "a failed generate left a completion marker"
echo "ok  generate stopped by a full disk after $n_mel mel files: exit 2, train.json but no marker"

before=$(cd "$D" && find . | sort)
t0=$(date +%s)
expect_error "pipeline on the half-written dataset" "$D has no completion marker melon-dataset.done" \
  "$MELON" pipeline --data "$D" --work "$WORK/run" "${FAST[@]}"
grep -qF -- "--trust-data" "$WORK/err.txt" || fail "the refusal does not name --trust-data"
[ $(($(date +%s) - t0)) -le 10 ] || fail "the refusal took more than 10 s"
[ ! -e "$WORK/run" ] || fail "the refused pipeline left $WORK/run behind"
[ "$before" = "$(cd "$D" && find . | sort)" ] || fail "the refused pipeline changed the dataset folder"

# The Slurm chain makes the same decision when it is submitted (no stage is
# submitted; --dry-run needs no Slurm): both ask the one plan (`melon plan`).
printf '[pipeline]\n' >"$WORK/job.ini"
expect_error "slurm/submit.sh on the half-written dataset" "$D has no completion marker melon-dataset.done" \
  env MELON="$MELON" "$MELON_SRC/slurm/submit.sh" --dry-run "$WORK/job.ini" "$D" "$WORK/sl"
env MELON="$MELON" "$MELON_SRC/slurm/submit.sh" --dry-run "$WORK/job.ini" "$WORK/ok1" "$WORK/sl" >"$WORK/sl.out" \
  2>"$WORK/sl.err" || { cat "$WORK/sl.err"; fail "slurm/submit.sh --dry-run on a complete dataset failed"; }
grep -q "slurm/split.sbatch" "$WORK/sl.out" || fail "submit.sh --dry-run on a complete dataset submits no split"
! grep -q "generate.sbatch" "$WORK/sl.out" || fail "submit.sh generates a complete dataset again"

"$MELON" pipeline --data "$D" --work "$WORK/trusted" "${FAST[@]}" --trust-data >/dev/null 2>"$WORK/trust.log" ||
  { cat "$WORK/trust.log"; fail "pipeline --trust-data failed"; }
grep -q "using it anyway (--trust-data)" "$WORK/trust.log" || fail "--trust-data does not warn"
[ -s "$WORK/trusted/scores.json" ] || fail "pipeline --trust-data wrote no scores"
echo "ok  --trust-data runs on it, with a warning"

# The user clears the half-written mel files, checks the JSON and marks the folder.
rm -rf "$D/arena_mel"
"$MELON" validate --data "$D" --mark >/dev/null 2>"$WORK/validate.log" || { cat "$WORK/validate.log"; fail "validate --mark failed"; }
grep -q "marked $D complete" "$WORK/validate.log" || fail "validate --mark did not say it marked the folder"
[ -s "$D/melon-dataset.done" ] || fail "validate --mark wrote no marker"
grep -q '"written_by": "melon validate --mark"' "$D/melon-dataset.done" || fail "the marker does not name validate"
"$MELON" pipeline --data "$D" --work "$WORK/run" "${FAST[@]}" >/dev/null 2>"$WORK/run.log" ||
  { cat "$WORK/run.log"; fail "pipeline refused a marked dataset"; }
grep -q "$D is a complete dataset" "$WORK/run.log" || fail "pipeline did not report the marker as checked"
echo "ok  validate --mark marks it; pipeline accepts it"

# A JSON file changed after marking: refused by name.
cp "$D/val.json" "$WORK/val.json"
head -c 100 "$WORK/val.json" >"$D/val.json"
expect_error "pipeline on a dataset changed after marking" "val.json has 100 bytes" \
  "$MELON" pipeline --data "$D" --work "$WORK/run2" "${FAST[@]}"
echo "dataset marker checks passed"
