#!/usr/bin/env bash
# Issue 15, case 5 under srun (a real local Slurm; SKIPs without root): a
# stop signal that reaches the tasks ends `melon train` (2 tasks) in a
# checkpoint and srun exits 0:
#   scancel --signal=TERM (as scancel, preemption and time limits deliver
#                         SIGTERM to the tasks, SIGKILL KillWait later) -> checkpoint, 0
#   scancel --signal=INT  -> checkpoint, 0
#   SIGUSR1 to srun       forwarded to the tasks -> checkpoint, 0
#   SIGTERM to srun       srun itself SIGKILLs the tasks ("forcing job
#                         termination", Slurm's convention) -> 137, no new
#                         checkpoint; the older ones are whole
# (One Ctrl-C on srun only prints the tasks' state: srun's own convention.)
# The batch-script path (USR1 -> checkpoint -> requeue) is slurm_preempt.sh.
source "$(dirname "$0")/lib.sh"
start_local_slurm 5
"$MELON" generate --out "$WORK/data" --playlists 400 --songs 2000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
ARGS=(--train "$WORK/split/orig/train.json" --questions "$WORK/split/questions/val.json"
      --hidden 16 --batch 32 --val-size 20 --threads 1 --min-song-count 2 --epochs 100000 --checkpoint-every 0)

# stop NAME HOW WANT DIR [ARGS...]: srun 2 tasks of melon train, wait until
# it trains, send the signal (HOW: a signal for srun, or scancel-SIG for the
# tasks), check the status and (WANT 0) the checkpoint.
stop() {
  local name=$1 how=$2 want=$3 dir=$4 rc=0
  shift 4
  srun --mpi=pmix --ntasks=2 --kill-on-bad-exit=1 --job-name="sig-$name" "$MELON" train "${ARGS[@]}" \
    --checkpoint-dir "$dir" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  local pid=$!
  for _ in $(seq 1200); do grep -q "training:" "$WORK/$name.log" && break; sleep 0.1; done
  grep -q "training:" "$WORK/$name.log" || { cat "$WORK/$name.log"; fail "$name: training did not start"; }
  sleep 1
  case "$how" in
    scancel-*) scancel --signal="${how#scancel-}" --name="sig-$name" ;;
    *) kill -"$how" "$pid" ;;
  esac
  wait "$pid" || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$WORK/$name.log"; fail "$name: exit $rc, expected $want"; }
  # A SIGKILL (want 137) can land inside a write and leave its NAME.tmp.PID:
  # the next run on the folder clears it (checked below).
  [ "$want" = 0 ] || { echo "ok  srun, $how: exit $rc"; return; }
  grep -q "stop signal received (SIG" "$WORK/$name.log" || { cat "$WORK/$name.log"; fail "$name: no stop message"; }
  local ck
  ck=$(ls "$dir"/ckpt-*.h5 2>/dev/null | sort | tail -1)
  [ -n "$ck" ] && [ -f "$ck.done" ] || { cat "$WORK/$name.log"; fail "$name: no checkpoint with its marker"; }
  [ -z "$(find "$WORK" -name '*.tmp.*' -print -quit)" ] || fail "$name: temporary files left behind"
  echo "ok  srun, $how: exit 0, $(basename "$ck") ($(grep -o 'stop signal received ([A-Z0-9]*)' "$WORK/$name.log" | head -1))"
}
stop term scancel-TERM 0 "$WORK/term"
stop int scancel-INT 0 "$WORK/int"
stop usr1 USR1 0 "$WORK/usr1"
# SIGTERM to srun: killed by srun; the checkpoint of the USR1 run stays whole
# and the next run resumes from it.
usr1_ck=$(basename "$(ls "$WORK/usr1"/ckpt-*.h5 | sort | tail -1)")
stop srun-term TERM 137 "$WORK/usr1" --resume=auto
grep -q "resuming from $WORK/usr1/ckpt-" "$WORK/srun-term.log" || { cat "$WORK/srun-term.log"; fail "did not resume"; }
srun --mpi=pmix --ntasks=2 "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/usr1" --resume --max-steps 1 2>"$WORK/after.log" \
  || { cat "$WORK/after.log"; fail "resume after srun's SIGKILL"; }
# The USR1 run's checkpoint is whole; a file the SIGKILLed run was writing
# (put in place, its marker not yet) may be set aside, named, never loaded.
resumed=$(grep -o "resuming from [^:]*ckpt-[0-9]*\.h5" "$WORK/after.log" | grep -o 'ckpt-[0-9]*\.h5')
[ -n "$resumed" ] && [[ ! "$resumed" < "$usr1_ck" ]] || { cat "$WORK/after.log"; fail "resumed from '$resumed', older than $usr1_ck"; }
if grep "skipping unreadable" "$WORK/after.log" | grep -q -e "$usr1_ck"; then
  cat "$WORK/after.log"; fail "srun's SIGKILL damaged a checkpoint written before it"
fi
[ -z "$(find "$WORK" -name '*.tmp.*' -print -quit)" ] || fail "a half-written file of the SIGKILLed run survived the next run"
expect_queue_empty
echo "slurm signal checks passed"
