#!/usr/bin/env bash
# Preemption under a real (local) Slurm: slurm/train.sbatch gets SIGUSR1 in the
# middle of `melon train` (as `--signal=B:USR1@SECS` sends it before a time
# limit; sent here with `scancel --signal=USR1 --batch` so the moment is
# known), forwards it to the step, train checkpoints and exits 0, the job
# requeues itself, runs again with SLURM_RESTART_COUNT=1 and --resume, and
# finishes. Checks: the job COMPLETED after exactly one restart, its log shows
# the restart and --resume, the signal really came mid-training (a checkpoint
# older than the final one), and the newest checkpoint equals (h5diff, every
# dataset and attribute except timestamp-like attributes) the one of the same
# training run uninterrupted under mpirun. Then the rerank stage: SIGUSR1
# mid-run stops it, the job requeues and reruns it, and its answers equal an
# uninterrupted rerank job's.
source "$(dirname "$0")/lib.sh"
command -v h5diff > /dev/null || fail "h5diff not found (Debian: hdf5-tools)"
start_local_slurm 2

# A small dataset and its split; the Slurm run and the reference share them.
D=$WORK/data S=$WORK/run-slurm
"$MELON" generate --out "$D" --playlists 1000 --songs 5000 --seed 7 --mel-songs 0 > /dev/null 2>&1
"$MELON" split --input "$D/train.json" --out "$S/split" 2> /dev/null
JOB=$WORK/job.ini
# Small and slow enough (2 ranks, ~10 s) that the signal lands mid-training.
cat > "$JOB" <<'EOF'
[pipeline]
pca = off
[train]
epochs = 8
seed = 5
hidden = 64
batch = 32
threads = 1
checkpoint-every = 0
[rerank]
references = item-knn
rounds = 40
tag-rounds = 40
EOF
# The paths the plan gives train (melon plan --stage train), without --resume=auto.
targs=(--train "$S/split/orig/train.json" --questions "$S/split/questions/val.json" --song-meta "$D/song_meta.json")

start=$SECONDS
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train --config "$JOB" "${targs[@]}" --checkpoint-dir "$WORK/ref" \
  > "$WORK/ref.log" 2>&1 || { tail -20 "$WORK/ref.log"; fail "uninterrupted reference training failed"; }
echo "ok  reference training (uninterrupted, mpirun -np 2) in $((SECONDS - start)) s"

"$MELON_SRC/slurm/submit.sh" --stages train --sbatch-args "--ntasks=2" "$JOB" "$D" "$S" > "$WORK/submit.txt"
id=$(awk '$1 == "train" {print $2}' "$S/jobs.txt")
out=$S/logs/melon-train-$id.out err=$S/logs/melon-train-$id.err
# One field of the job's record, by shell expansion (polled twice a second: no tr or sed each time).
jstate() {
  local rec
  rec=" $(scontrol show job -o "$id" 2>/dev/null || true) "
  case "$rec" in *" $1="*) rec=${rec#* "$1"=} && echo "${rec%% *}" ;; esac
}
dump() { scontrol show job "$id" || true; cat "$out" "$err" 2>/dev/null | tail -30; }

# The signal must land while the step still works, on any build: a Release
# build trains this job in well under a second, the sanitizer build in a few.
# So the test freezes the step's ranks (SIGSTOP) as soon as the log shows the
# moment wanted, sends the signal through Slurm, waits until the batch shell
# has passed it on and each rank holds it pending (or has died of it), and
# only then lets the ranks go on (SIGCONT), which runs melon's own handling.
# step_ranks COMMAND: pids of this test's `melon COMMAND` processes (not
# srun's; other tests' melon runs at the same time elsewhere).
step_ranks() {
  local p cmd
  for p in $(pgrep -x melon); do
    cmd=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null) || continue
    case "$cmd" in *" $1 "*"$S/"*) echo "$p" ;; esac
  done
}
# signal_frozen_step WAIT_FOR COMMAND DONE: poll the step's log (every 20 ms,
# at most 240 s) for WAIT_FOR, freeze the step's ranks (fails when the log
# already says DONE), send SIGUSR1 to the batch shell, then release the ranks
# once the signal is theirs.
signal_frozen_step() {
  local ranks p n pnd h i
  for i in $(seq 12000); do
    grep -q "$1" "$err" 2>/dev/null && break
    # The job's state twice a second, not at every poll: scontrol is a process
    # and an RPC. CONFIGURING: allocated, its prolog still starting (seen
    # under load); "": scontrol did not answer this time.
    if [ $((i % 25)) = 0 ]; then
      case "$(jstate JobState)" in RUNNING | PENDING | CONFIGURING | "") ;; *) dump; fail "job $id ended before '$1' (state $(jstate JobState))" ;; esac
    fi
    sleep 0.02
  done
  ranks=$(step_ranks "$2")
  if [ -z "$ranks" ] || ! grep -q "$1" "$err"; then dump; fail "no '$1' with the step running within 240 s"; fi
  # shellcheck disable=SC2086
  kill -STOP $ranks
  if grep -q "$3" "$err"; then dump; fail "the step had already logged '$3' when it was frozen"; fi
  scancel --signal=USR1 --batch "$id"
  echo "ok  SIGUSR1 sent to the batch shell of job $id, its ranks (${ranks//$'\n'/ }) frozen after '$1'"
  for _ in $(seq 300); do
    grep -q "SIGUSR1 (time limit or preemption near)" "$out" 2>/dev/null && break
    sleep 0.05
  done
  # Each rank: SIGUSR1 (10) or SIGTERM (15) pending, bits 9 and 14 of its
  # process- or thread-wide mask, or the process gone.
  for p in $ranks; do
    for _ in $(seq 300); do
      pnd=$(awk '$1 == "ShdPnd:" || $1 == "SigPnd:" {print $2}' "/proc/$p/status" 2>/dev/null) || break
      [ -n "$pnd" ] || break
      n=0
      for h in $pnd; do n=$((n | 16#$h)); done
      [ $((n & (1 << 9 | 1 << 14))) -ne 0 ] && break
      sleep 0.05
    done
  done
  # shellcheck disable=SC2086
  kill -CONT $ranks 2>/dev/null || true
}

# Once training runs (first epoch logged), the "time limit is near" signal.
# The bound is generous: under the whole suite the job can pend behind other
# tests' load.
signal_frozen_step "epoch 1/" train "trained [0-9]* steps in"

# release_requeued: job $id requeues itself; once it is PENDING again, release
# the ~2 min hold (StartTime=now; it does not take while the job is still
# COMPLETING, so retry until the job runs again; bounded). Fails when it never
# runs again.
release_requeued() {
  local st pending=0
  for _ in $(seq 120); do
    st=$(jstate JobState)
    if [ "$(jstate Restarts)" = 1 ]; then
      case "$st" in
        PENDING)
          pending=1
          if [ "$(jstate Reason)" = BeginTime ]; then scontrol update JobId="$id" StartTime=now 2>/dev/null || true; fi
          ;;
        RUNNING|COMPLETED) [ $pending = 1 ] && return 0 ;;
      esac
    fi
    sleep 0.5
  done
  return 1
}
release_requeued || { dump; fail "job $id was not requeued and restarted after SIGUSR1 (state $(jstate JobState), restarts $(jstate Restarts))"; }
echo "ok  job $id requeued itself and was released"

"$MELON_SRC/slurm/wait.sh" --timeout 150 "$S" > "$WORK/states.txt" || { cat "$WORK/states.txt"; dump; fail "the requeued train job did not complete"; }
cat "$WORK/states.txt"
[ "$(jstate Restarts)" = 1 ] || fail "expected exactly 1 restart, got $(jstate Restarts)"
grep -q "stage train: start (SLURM_RESTART_COUNT=0)" "$out" || { dump; fail "first run's start line missing"; }
grep -q "SIGUSR1 (time limit or preemption near): forwarding SIGUSR1" "$out" || { dump; fail "signal not forwarded"; }
grep -q "stage train stopped after SIGUSR1 (exit code 0): requeueing" "$out" || { dump; fail "no clean stop + requeue"; }
grep -q "stage train: start (SLURM_RESTART_COUNT=1)" "$out" || { dump; fail "no rerun with SLURM_RESTART_COUNT=1"; }
[ "$(grep -c -- "step: .* train .*--checkpoint-dir=$S/checkpoints --resume=auto" "$out")" = 2 ] ||
  { dump; fail "not two train steps with --resume=auto"; }
grep -q "resuming from .*ckpt-" "$err" || { dump; fail "the rerun did not resume from a checkpoint"; }
echo "ok  log: signal forwarded, clean stop, requeue, rerun with SLURM_RESTART_COUNT=1 resumed (--resume=auto)"

newest() { ls "$1"/ckpt-*.h5 2>/dev/null | sort | tail -1; }
n_ckpt=$(ls "$S/checkpoints"/ckpt-*.h5 2>/dev/null | wc -l)
[ "$n_ckpt" -ge 2 ] || { dump; fail "only $n_ckpt checkpoint: the signal did not land mid-training (make the run longer)"; }
A=$(newest "$WORK/ref") B=$(newest "$S/checkpoints")
[ -n "$A" ] && [ -n "$B" ] || fail "no checkpoint files (ref: '$A', slurm: '$B')"
[ "$(basename "$A")" = "$(basename "$B")" ] || fail "final checkpoints differ in step: $(basename "$A") vs $(basename "$B")"
echo "ok  interrupted run: checkpoints $(ls "$S/checkpoints" | tr '\n' ' ')"

# same_checkpoint A B: h5diff finds no difference in any dataset, nor in any
# attribute except those whose names look like timestamps (time, date, clock, host).
same_checkpoint() {
  local rc=0
  h5diff -v -n 1 "$1" "$2" > "$WORK/h5diff.txt" 2>&1 || rc=$?   # -n 1: one difference per object is enough
  [ $rc = 0 ] && return 0
  [ $rc = 1 ] || { cat "$WORK/h5diff.txt"; fail "h5diff error (exit $rc)"; }
  python3 - "$WORK/h5diff.txt" <<'PY'
import re, sys
bad, item = [], None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(dataset|attribute): <(.*?)> and <", line)
    if m:
        item = (m.group(1), m.group(2))
        continue
    m = re.match(r"(\d+) differences? found", line.strip())
    if m and item and int(m.group(1)) > 0:
        kind, name = item
        attr = name.split(" of ")[0]
        if not (kind == "attribute" and re.search(r"time|date|clock|host|created|wall", attr, re.I)):
            bad.append(f"{kind} {name}: {m.group(1)} differences")
        item = None
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
PY
}
if ! same_checkpoint "$A" "$B"; then
  # Diagnose: does the same training, run twice uninterrupted, agree with itself?
  "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train --config "$JOB" "${targs[@]}" --checkpoint-dir "$WORK/ref2" \
    > "$WORK/ref2.log" 2>&1 || true
  if [ -n "$(newest "$WORK/ref2")" ] && same_checkpoint "$A" "$(newest "$WORK/ref2")" > /dev/null; then
    fail "resumed weights differ from the uninterrupted run (two uninterrupted runs agree: resume is not exact)"
  fi
  fail "resumed weights differ from the uninterrupted run (and two uninterrupted runs differ too: training is not deterministic)"
fi
echo "ok  newest checkpoints identical: $(basename "$B") after preemption == uninterrupted"

# The rerank stage (on-stop kill): SIGUSR1 mid-run stops the step, the job
# requeues and runs rerank again from the start; the answers equal those of
# an uninterrupted rerank job on the same checkpoints.
rerank_job() {  # prints the job id
  "$MELON_SRC/slurm/submit.sh" --stages rerank --sbatch-args "--ntasks=2" "$JOB" "$D" "$S" > "$WORK/submit-rerank.txt"
  awk '$1 == "rerank" {print $2}' "$S/jobs.txt"
}
id=$(rerank_job)
"$MELON_SRC/slurm/wait.sh" --timeout 240 "$S" > "$WORK/states.txt" || { cat "$WORK/states.txt"; fail "the uninterrupted rerank job did not complete"; }
cp "$S/results.json" "$WORK/rerank-uninterrupted.json"
id=$(rerank_job)
out=$S/logs/melon-rerank-$id.out err=$S/logs/melon-rerank-$id.err
signal_frozen_step "reranker: sources" rerank "rerank: [0-9]* answers"
release_requeued || { dump; fail "rerank job $id was not requeued and restarted after SIGUSR1"; }
"$MELON_SRC/slurm/wait.sh" --timeout 240 "$S" > "$WORK/states.txt" || { cat "$WORK/states.txt"; dump; fail "the requeued rerank job did not complete"; }
grep -q "SIGUSR1 (time limit or preemption near): stopping the rerank step" "$out" || { dump; fail "rerank step not stopped on SIGUSR1"; }
grep -q "stage rerank: start (SLURM_RESTART_COUNT=1)" "$out" || { dump; fail "no rerank rerun with SLURM_RESTART_COUNT=1"; }
cmp "$S/results.json" "$WORK/rerank-uninterrupted.json" || fail "answers after the interrupted rerank differ from the uninterrupted ones"
echo "ok  rerank job $id: stopped by SIGUSR1 mid-run, requeued, rerun; results.json identical to the uninterrupted rerank's"
expect_queue_empty
echo "slurm preemption end-to-end passed"
