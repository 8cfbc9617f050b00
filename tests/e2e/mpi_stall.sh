#!/usr/bin/env bash
# A stopped rank (SIGSTOP here; a hung NFS read looks the same) no longer
# hangs the job: the rank left waiting in a collective ends the job after
# --stall-timeout seconds with one message naming the stage, the collective
# and the rank that did not arrive, and no process is left behind.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 300 --songs 1500 --seed 6 --mel-mode none --quiet >/dev/null 2>&1
expect_error "negative stall timeout" "--stall-timeout: expected seconds >= 0" \
  "$MELON" baseline --method most-popular --train "$WORK/data/train.json" --questions "$WORK/data/val.json" \
  --out "$WORK/b.json" --stall-timeout -1
# From a job file, like every common option.
timeout=5
printf '[train]\nstall-timeout = %s\n' "$timeout" >"$WORK/job.ini"
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train --train "$WORK/data/train.json" --questions "$WORK/data/val.json" \
  --hidden 16 --batch 32 --epochs 100000 --val-size 0 --threads 1 --checkpoint-dir "$WORK/ck" --checkpoint-every 0 \
  --config "$WORK/job.ini" >"$WORK/out.log" 2>&1 &
mpipid=$!
ranks=()
cleanup() {
  for p in "${ranks[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
  kill -9 "$mpipid" "${ranks[@]}" 2>/dev/null || true
}
trap 'cleanup; rm -rf "$WORK"' EXIT
for _ in $(seq 1200); do grep -q "training:" "$WORK/out.log" && break; sleep 0.1; done
grep -q "training:" "$WORK/out.log" || { cat "$WORK/out.log"; fail "training did not start"; }
sleep 1
ranks=($(pgrep -P "$mpipid" -f "melon train" || true))
[ "${#ranks[@]}" -eq 2 ] || fail "expected 2 rank processes under mpirun, found ${#ranks[@]}"
# A whole job stopped and continued (`scontrol suspend`/`resume`, a debugger)
# is not a stall: waits count the time a rank ran, so no rank reports one
# after a stop longer than the timeout, and training goes on.
kill -STOP "${ranks[@]}"
sleep $((timeout + 2))
kill -CONT "${ranks[@]}"
sleep 2
kill -0 "$mpipid" 2>/dev/null || { cat "$WORK/out.log"; fail "the job ended after all its ranks were stopped and continued"; }
grep -q "stall watchdog" "$WORK/out.log" && { cat "$WORK/out.log"; fail "a stall reported after a stop of the whole job"; }
epochs=$(grep -c "^\[melon r0/2 .*epoch [0-9]*/" "$WORK/out.log")
sleep 1
[ "$(grep -c "^\[melon r0/2 .*epoch [0-9]*/" "$WORK/out.log")" -gt "$epochs" ] || fail "training did not go on after the job was continued"
echo "ok  the whole job stopped for $((timeout + 2)) s and continued: no stall reported, training went on"
# The stall message names the stopped rank with its pid.
stopped=${ranks[1]}
start=$(date +%s)
kill -STOP "$stopped"
# Before the timeout the survivor waits, sleeping between polls, not spinning.
sleep 3
survivor=${ranks[0]}
t0=$(awk '{print $14+$15}' "/proc/$survivor/stat")
sleep 1
t1=$(awk '{print $14+$15}' "/proc/$survivor/stat")
ticks=$((t1 - t0))
limit=$((timeout + 2 + 20))
for _ in $(seq $((limit * 10))); do kill -0 "$mpipid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$mpipid" 2>/dev/null && { cat "$WORK/out.log"; fail "job still running ${limit}s after rank pid $stopped was stopped"; }
rc=0
wait "$mpipid" || rc=$?
elapsed=$(($(date +%s) - start))
[ "$rc" -ne 0 ] || fail "mpirun exited 0 after a rank stalled"
[ "$elapsed" -ge "$timeout" ] || fail "job ended after ${elapsed}s, before the ${timeout}s stall timeout"
msgs=$(grep -c "stall watchdog" "$WORK/out.log" || true)
[ "$msgs" -eq 1 ] || { cat "$WORK/out.log"; fail "expected one stall message, found $msgs"; }
line=$(grep "stall watchdog" "$WORK/out.log")
for want in "melon train: error:" "during 'train" "collective #" "did not arrive" "(pid $stopped on " \
  "--stall-timeout 5)"; do
  grep -qF -- "$want" <<<"$line" || fail "stall message lacks '$want': $line"
done
# Where SIGSTOP lands decides the path: usually the survivor waits at a
# collective's watched entry (polled, sleeping); sometimes the stopped rank had
# already entered a blocking floating-point reduction with it, and then the
# survivor is inside Open MPI's blocking call, which spins until the
# watchdog's thread ends the job (e2e_mpi_stall_blocking pins that path).
blocking=0
if grep -qF "which every rank had entered" <<<"$line"; then
  blocking=1
  grep -qF "did not arrive at its end: rank 1 (pid $stopped on " <<<"$line" || fail "blocking-path message lacks the stopped rank: $line"
  grep -qF "is stopped" <<<"$line" || fail "blocking-path message does not say the rank is stopped: $line"
fi
grep -q "HDF5-DIAG\|Segmentation\|core dumped" "$WORK/out.log" && { cat "$WORK/out.log"; fail "crash output"; }
# Stopped processes get SIGKILL from mpirun; give the kernel a moment to reap.
for _ in $(seq 100); do
  alive=0
  for p in "${ranks[@]}"; do
    kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*zombie' "/proc/$p/status" 2>/dev/null && alive=1
  done
  [ "$alive" -eq 0 ] && break
  sleep 0.1
done
[ "$alive" -eq 0 ] || fail "a rank process is still alive after the job ended"
# Under 1 s of CPU in that 1 s window: a spinning rank uses ~100 ticks.
if [ "$blocking" -eq 0 ]; then
  [ "$ticks" -lt 50 ] || fail "the waiting rank used $ticks ticks of CPU in 1 s (spinning)"
  echo "ok  stopped pid $stopped at a watched entry: mpirun exited $rc after ${elapsed}s, waiting rank used $ticks/100 ticks/s"
else
  echo "ok  stopped pid $stopped inside a blocking reduction: mpirun exited $rc after ${elapsed}s (waiting rank spun: $ticks/100 ticks/s)"
fi
echo "    $line"
