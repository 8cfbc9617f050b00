#!/usr/bin/env bash
# The stall watchdog inside a blocking collective: floating-point sums run as
# blocking MPI calls after a watched barrier (their summation order fixes the
# bits), so a rank stopped part-way through one is timed by the watchdog's
# thread instead. tests/support/stall_probe.cpp stops rank 1 while rank 0
# waits in such a call: the job must end after the 2 s timeout with one
# message naming rank 1 and its pid as stopped, exit non-zero, no process left.
source "$(dirname "$0")/lib.sh"
: "${MELON_STALL_PROBE:?set MELON_STALL_PROBE to the stall_probe binary}"
start=$(date +%s)
rc=0
timeout 60 "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON_STALL_PROBE" >"$WORK/out.log" 2>&1 || rc=$?
elapsed=$(($(date +%s) - start))
[ "$rc" -ne 0 ] || { cat "$WORK/out.log"; fail "the probe job exited 0"; }
[ "$rc" -ne 124 ] || { cat "$WORK/out.log"; fail "the job hung: no end after 60 s"; }
[ "$elapsed" -ge 2 ] || fail "ended after ${elapsed}s, before the 2 s stall timeout"
line=$(grep "stall watchdog" "$WORK/out.log" || true)
[ "$(grep -c "stall watchdog" "$WORK/out.log")" -eq 1 ] || { cat "$WORK/out.log"; fail "expected one stall message"; }
for want in "melon stall-probe: error:" "MPI_Barrier(probe)" "which every rank had entered" \
  "did not arrive at its end: rank 1 (pid " "is stopped" "(--stall-timeout 2)"; do
  grep -qF -- "$want" <<<"$line" || fail "stall message lacks '$want': $line"
done
sleep 1
pgrep -f "$MELON_STALL_PROBE" >/dev/null && { pkill -9 -f "$MELON_STALL_PROBE"; fail "a probe process is still alive"; }
echo "ok  ended after ${elapsed}s with exit $rc: $line"
