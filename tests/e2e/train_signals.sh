#!/usr/bin/env bash
# Issue 15, case 5: SIGTERM, SIGINT and SIGUSR1 all end `melon train` in a
# checkpoint at the next step boundary, with a documented exit status per
# launcher (README "Failure behaviour", slurm/common.sh):
#   single process       TERM 0, INT 0, USR1 0 (checkpoint, then exit 0)
#   mpirun -np 2         USR1 to mpirun 0 (forwarded); TERM to the ranks 0
#                        (mpirun exits 0 when they do); TERM or INT to
#                        mpirun 1: mpirun itself exits 1 whatever the ranks do
#                        (Open MPI 4.1), sends them SIGCONT, SIGTERM and,
#                        odls_base_sigkill_timeout (1 s) later, SIGKILL: they
#                        checkpoint when they get there first (a loaded
#                        machine may not), and never leave a damaged file
#   srun                 tests/e2e/slurm_signals.sh
# Each run: the stop message names the signal, a checkpoint with its DONE
# marker is written, no temp file is left, and the run resumes.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 400 --songs 2000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
ARGS=(--train "$WORK/split/orig/train.json" --questions "$WORK/split/questions/val.json"
      --hidden 16 --batch 32 --val-size 20 --threads 1 --min-song-count 2 --epochs 100000 --checkpoint-every 0)

# stop NAME SIGNAL WANT_RC DIR CMD...: start CMD, wait until it trains, send
# SIGNAL to it (the launcher's pid; to its children, the ranks, when TO=ranks),
# check status, message and checkpoint (only status and no damage when
# SOFT=1).
stop() {
  local name=$1 sig=$2 want=$3 dir=$4; shift 4
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  local pid=$! rc=0
  for _ in $(seq 600); do grep -q "training:" "$WORK/$name.log" && break; sleep 0.1; done
  grep -q "training:" "$WORK/$name.log" || { cat "$WORK/$name.log"; fail "$name: training did not start"; }
  sleep 1
  if [ "${TO:-}" = ranks ]; then kill -"$sig" $(pgrep -P "$pid"); else kill -"$sig" "$pid"; fi
  wait "$pid" || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$WORK/$name.log"; fail "$name: SIG$sig: exit $rc, expected $want"; }
  [ -z "$(find "$WORK" -name '*.tmp.*' -print -quit)" ] || fail "$name: temporary files left behind"
  if [ "${SOFT:-0}" = 1 ]; then
    echo "ok  $name: SIG$sig -> exit $rc; checkpoint: $(ls "$dir" | grep -c 'ckpt-.*\.h5\.done$') written"
    return
  fi
  grep -q "stop signal received (SIG" "$WORK/$name.log" || { cat "$WORK/$name.log"; fail "$name: no stop message"; }
  local ck
  ck=$(ls "$dir"/ckpt-*.h5 2>/dev/null | sort | tail -1)
  [ -n "$ck" ] && [ -f "$ck.done" ] || { cat "$WORK/$name.log"; fail "$name: no checkpoint with its marker in $dir"; }
  grep -q "checkpoint $ck" "$WORK/$name.log" || fail "$name: the log does not name $ck"
  [ -z "$(find "$WORK" -name '*.tmp.*' -print -quit)" ] || fail "$name: temporary files left behind"
  echo "ok  $name: SIG$sig -> exit $rc, $(basename "$ck") ($(grep -o 'stop signal received ([A-Z0-9]*)' "$WORK/$name.log" | head -1))"
}

for sig in TERM INT USR1; do
  stop "single-$sig" "$sig" 0 "$WORK/s-$sig" "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/s-$sig"
  grep -q "stop signal received (SIG$sig)" "$WORK/single-$sig.log" || fail "single-$sig: the message does not name SIG$sig"
done
"$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/s-INT" --max-steps 1000000 --resume 2>"$WORK/r.log" &
pid=$!
for _ in $(seq 600); do grep -q "training:" "$WORK/r.log" && break; sleep 0.1; done
grep -q "resuming from $WORK/s-INT/ckpt-" "$WORK/r.log" || { kill "$pid"; cat "$WORK/r.log"; fail "did not resume after SIGINT"; }
kill -TERM "$pid"; wait "$pid" || fail "resumed run: SIGTERM exit $?"
echo "ok  resumed after Ctrl-C's checkpoint"

# The pipeline stops with its training stage: a checkpoint, exit 0, and no
# later stage run on the half-trained model.
printf '[train]\nhidden = 16\nbatch = 32\nval-size = 20\nthreads = 1\nmin-song-count = 2\nepochs = 100000\ncheckpoint-every = 0\n' \
  >"$WORK/pipe.ini"
stop "pipeline-TERM" TERM 0 "$WORK/pipe/checkpoints" "$MELON" pipeline --config "$WORK/pipe.ini" --data "$WORK/data" \
  --work "$WORK/pipe" --pca off --rerank off --methods most-popular
grep -q "skipping the later stages" "$WORK/pipeline-TERM.log" || { cat "$WORK/pipeline-TERM.log"; fail "pipeline: no stop message"; }
[ ! -e "$WORK/pipe/results-autoencoder.json" ] && [ ! -e "$WORK/pipe/scores.json" ] \
  || fail "pipeline: later stages ran after the stop signal"

MPI=("$MPIRUN" "${MPIFLAGS[@]}" -np 2)
stop "mpirun-USR1" USR1 0 "$WORK/m-USR1" "${MPI[@]}" "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/m-USR1"
TO=ranks stop "mpirun-ranks-TERM" TERM 0 "$WORK/m-rTERM" "${MPI[@]}" "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/m-rTERM"
timeout 120 "${MPI[@]}" "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/m-rTERM" --resume --max-steps 1 2>"$WORK/mr.log" \
  || { cat "$WORK/mr.log"; fail "2 ranks: could not resume after SIGTERM"; }
grep -q "resuming from $WORK/m-rTERM/ckpt-" "$WORK/mr.log" || { cat "$WORK/mr.log"; fail "2 ranks: did not resume"; }
for sig in TERM INT; do
  SOFT=1 stop "mpirun-$sig" "$sig" 1 "$WORK/m-$sig" "${MPI[@]}" "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/m-$sig"
  # Whatever was written is whole: the next run continues or starts.
  timeout 120 "${MPI[@]}" "$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/m-$sig" --resume=auto --max-steps 1 \
    2>"$WORK/ma.log" || { cat "$WORK/ma.log"; fail "mpirun-$sig: --resume=auto afterwards failed"; }
  grep -q "skipping unreadable" "$WORK/ma.log" && fail "mpirun-$sig: left a damaged checkpoint"
done
echo "train signal checks passed"
