#!/usr/bin/env bash
# Killing one rank of a 2-rank training ends the whole job promptly with a
# non-zero exit: no rank is left waiting in an allreduce.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 300 --songs 1500 --seed 6 --mel-mode none --quiet >/dev/null 2>&1
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" train --train "$WORK/data/train.json" --questions "$WORK/data/val.json" \
  --hidden 16 --batch 32 --epochs 100000 --val-size 0 --threads 1 --checkpoint-dir "$WORK/ck" --checkpoint-every 0 \
  >"$WORK/out.log" 2>&1 &
mpipid=$!
for _ in $(seq 1200); do grep -q "training:" "$WORK/out.log" && break; sleep 0.1; done
grep -q "training:" "$WORK/out.log" || { kill -9 "$mpipid"; cat "$WORK/out.log"; fail "training did not start"; }
sleep 1
ranks=($(pgrep -P "$mpipid" -f "melon train" || true))
[ "${#ranks[@]}" -eq 2 ] || { kill -9 "$mpipid"; fail "expected 2 rank processes under mpirun, found ${#ranks[@]}"; }
start=$(date +%s)
kill -9 "${ranks[1]}"
rc=0
for _ in $(seq 600); do kill -0 "$mpipid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$mpipid" 2>/dev/null; then
  kill -9 "$mpipid" "${ranks[0]}" 2>/dev/null || true
  fail "mpirun still running 60 s after one rank was killed"
fi
wait "$mpipid" || rc=$?
elapsed=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
# The survivor may take a moment to be reaped once mpirun is gone.
for _ in $(seq 100); do kill -0 "${ranks[0]}" 2>/dev/null || break; sleep 0.1; done
if kill -0 "${ranks[0]}" 2>/dev/null && ! grep -q '^State:.*zombie' "/proc/${ranks[0]}/status" 2>/dev/null; then
  kill -9 "${ranks[0]}"
  fail "the surviving rank is still running 10 s after mpirun exited"
fi
echo "ok  killed rank ${ranks[1]}: mpirun exited $rc after ${elapsed}s"
