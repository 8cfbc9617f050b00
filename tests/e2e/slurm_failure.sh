#!/usr/bin/env bash
# A failing stage stops the Slurm chain (local single-node Slurm of
# tools/cluster/slurm-local.sh, stopped at the end). Two chains split ->
# references -> evaluate:
#  A: the job file gives split a negative seed: split FAILS with melon's exit
#     code, the reason is in split's .err file, references and evaluate are
#     CANCELLED (never run, no log);
#  B: song_meta.json is malformed (in a folder with no completion marker, used
#     with [pipeline] trust-data = on): split COMPLETES, references FAILS with
#     the parse error in its .err file, evaluate is CANCELLED.
# And a folder without the marker is refused at submission when the job file
# does not trust it: nothing submitted. No job is left pending: the queue is
# empty at the end (bounded waits).
source "$(dirname "$0")/lib.sh"
start_local_slurm 4

D=$WORK/data
"$MELON" generate --out "$D" --playlists 600 --songs 4000 --seed 9 --mel-songs 0 > /dev/null 2>&1
cat > "$WORK/bad-input.ini" <<EOF
[split]
seed = -3
EOF
mkdir -p "$WORK/data-b"
cp "$D/train.json" "$WORK/data-b/"
printf '[{"id": 0, "song_name": "x", ' > "$WORK/data-b/song_meta.json"   # truncated JSON
printf '# defaults only\n' > "$WORK/plain.ini"
printf '[pipeline]\ntrust-data = on\n' > "$WORK/trusting.ini"

rc=0
"$MELON_SRC/slurm/submit.sh" "$WORK/plain.ini" "$WORK/data-b" "$WORK/run-u" > "$WORK/refused.txt" 2>&1 || rc=$?
[ $rc = 2 ] || { cat "$WORK/refused.txt"; fail "submit.sh on an unmarked dataset exited $rc, expected 2"; }
grep -q "has no completion marker melon-dataset.done" "$WORK/refused.txt" || { cat "$WORK/refused.txt"; fail "no reason given"; }
[ ! -e "$WORK/run-u" ] && [ -z "$(squeue -h)" ] || fail "the refused submission submitted or wrote something"
echo "ok  an unmarked dataset is refused at submission: $(grep -m1 'no completion marker' "$WORK/refused.txt" | cut -c1-120)"

stages=split,references,evaluate
"$MELON_SRC/slurm/submit.sh" --stages $stages "$WORK/bad-input.ini" "$D" "$WORK/run-a"
"$MELON_SRC/slurm/submit.sh" --stages $stages "$WORK/trusting.ini" "$WORK/data-b" "$WORK/run-b"
for run in run-a run-b; do
  rc=0
  "$MELON_SRC/slurm/wait.sh" --timeout 120 "$WORK/$run" > "$WORK/$run.states" || rc=$?
  cat "$WORK/$run.states"
  [ "$rc" = 1 ] || fail "$run: slurm/wait.sh exit $rc (expected 1: a stage failed; 124 = timeout)"
done

state() { awk -v s="$2" '$1 == s {print $3}' "$WORK/$1.states"; }
exitcode() { awk -v s="$2" '$1 == s {print $4}' "$WORK/$1.states"; }
logf() { echo "$WORK/$1/logs/melon-$2-$(awk -v s="$2" '$1 == s {print $2}' "$WORK/$1/jobs.txt").$3"; }

# A: split failed with melon's error code, the reason in its error file, the rest cancelled.
[ "$(state run-a split)" = FAILED ] || fail "A: split is $(state run-a split), expected FAILED"
[ "$(exitcode run-a split)" != "exit=0:0" ] || fail "A: split failed with exit 0:0"
grep -q "key 'seed': expected a number >= 0, got '-3'" "$(logf run-a split err)" ||
  { cat "$(logf run-a split err)"; fail "A: the reason is not in split's error file"; }
grep -q "error: stage split: melon split failed with exit code" "$(logf run-a split err)" ||
  fail "A: the batch script did not report the failed step"
for s in references evaluate; do
  [ "$(state run-a $s)" = CANCELLED ] || fail "A: $s is $(state run-a $s), expected CANCELLED"
  [ ! -e "$(logf run-a $s out)" ] || fail "A: $s ran (it has a log)"
done
echo "ok  A: split FAILED ($(exitcode run-a split)): $(grep -m1 'expected a number' "$(logf run-a split err)" | cut -c1-120)"
echo "ok  A: references and evaluate CANCELLED without running"

# B: split completed, references failed on the malformed song_meta.json, evaluate cancelled.
[ "$(state run-b split)" = COMPLETED ] || fail "B: split is $(state run-b split), expected COMPLETED"
[ "$(state run-b references)" = FAILED ] || fail "B: references is $(state run-b references), expected FAILED"
grep -q "song_meta.json" "$(logf run-b references err)" ||
  { cat "$(logf run-b references err)"; fail "B: the reason is not in references' error file"; }
[ "$(state run-b evaluate)" = CANCELLED ] || fail "B: evaluate is $(state run-b evaluate), expected CANCELLED"
echo "ok  B: split COMPLETED, references FAILED: $(grep -m1 'song_meta.json:' "$(logf run-b references err)" | cut -c1-120)"
echo "ok  B: evaluate CANCELLED"

# Nothing pending or running, now or a moment later (bounded).
expect_queue_empty
echo "ok  queue empty"
echo "slurm failure end-to-end passed"
