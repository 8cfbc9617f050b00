#!/usr/bin/env bash
# melon pca survives being stopped: state is saved after every pass, --resume
# continues from the last finished pass and the output is bit-identical to an
# uninterrupted run; a resume with other settings or another rank count is a
# clear error, not a silent fresh start.
source "$(dirname "$0")/lib.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

args=(--mel-source synthetic:9:500 --songs 0-299 --components 5 --oversample 5 --power-iters 2 --pool 16 --seed 2)
run() { "$MPIRUN" "${MPIFLAGS[@]}" -np "$@"; }

run 2 "$MELON" pca "${args[@]}" --block 32 --out "$WORK/full.h5" >"$WORK/full.log" 2>&1 || { cat "$WORK/full.log"; fail "full run"; }

rc=0
run 2 "$MELON" pca "${args[@]}" --block 32 --out "$WORK/cut.h5" --stop-after-pass 2 >"$WORK/cut1.log" 2>&1 || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/cut1.log"; fail "stopped run exited $rc, expected 3"; }
[ ! -e "$WORK/cut.h5" ] || fail "a stopped run left an output file"
[ -f "$WORK/cut.h5.state/CHECKPOINT" ] || fail "no checkpoint in cut.h5.state/"
grep -q "pass=2" "$WORK/cut.h5.state/CHECKPOINT" || fail "checkpoint is not after pass 3 (index 2)"
echo "ok  stopped after pass 3 of 6 with state in cut.h5.state/"

expect_error "resume with other settings" "other settings" \
  run 2 "$MELON" pca "${args[@]}" --block 16 --out "$WORK/cut.h5" --resume
expect_error "resume with another rank count" "made by 2 ranks" \
  run 3 "$MELON" pca "${args[@]}" --block 32 --out "$WORK/cut.h5" --resume

run 2 "$MELON" pca "${args[@]}" --block 32 --out "$WORK/cut.h5" --resume >"$WORK/cut2.log" 2>&1 || { cat "$WORK/cut2.log"; fail "resume"; }
grep -q "resuming after pass 3/6" "$WORK/cut2.log" || { cat "$WORK/cut2.log"; fail "did not resume after pass 3"; }
[ "$(grep -c 'pass [0-9]/6 .*songs in' "$WORK/cut2.log")" -eq 3 ] || fail "resumed run did not run exactly passes 4-6"
cmp "$WORK/full.h5" "$WORK/cut.h5" || fail "resumed output differs from the uninterrupted run"
[ ! -e "$WORK/cut.h5.state" ] || fail "state folder not removed after success"
echo "ok  resumed run is bit-identical to the uninterrupted one; state removed"

# --resume without any state starts from the beginning (and says so).
run 1 "$MELON" pca "${args[@]}" --block 32 --out "$WORK/fresh.h5" --resume >"$WORK/fresh.log" 2>&1 || fail "resume without state"
grep -q "no checkpoint" "$WORK/fresh.log" || fail "resume without state did not say so"
echo "PASS pca_resume"
