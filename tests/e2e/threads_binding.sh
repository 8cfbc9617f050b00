#!/usr/bin/env bash
# A rank's threads follow the CPUs it may run on (mpi::threads_per_rank), as
# `melon hostinfo` reports them: pinned to one CPU (taskset, or mpirun's
# default binding of one or two ranks to a core each) it gets one thread
# whatever the node has; unbound, the CPUs it may use shared by the ranks
# that may use them too. A stage's log says what it chose.
source "$(dirname "$0")/lib.sh"
command -v taskset >/dev/null || { echo "SKIP: taskset (util-linux) missing"; exit 77; }
cpus=$(nproc)  # the CPUs this script may run on (its affinity, as melon reads it)
first=$(taskset -cp $$ | sed 's/.*: //; s/[-,].*//')
field() { sed -n "s/.*rank $1\/[0-9]* .* cpus=\([^ ]*\) threads=\([0-9]*\)$/\2 \1/p" "$WORK/h.txt"; }

taskset -c "$first" "$MELON" hostinfo >"$WORK/h.txt" 2>"$WORK/h.err" || { cat "$WORK/h.err"; fail "hostinfo"; }
[ "$(field 0)" = "1 $first" ] || { cat "$WORK/h.txt"; fail "pinned to CPU $first: expected threads=1 cpus=$first"; }
echo "ok  pinned to CPU $first: 1 thread"

"$MELON" hostinfo >"$WORK/h.txt" 2>"$WORK/h.err" || { cat "$WORK/h.err"; fail "hostinfo"; }
[ "$(field 0 | cut -d' ' -f1)" = "$cpus" ] || { cat "$WORK/h.txt"; fail "unbound, 1 rank: expected threads=$cpus"; }
echo "ok  unbound, 1 rank: $cpus threads"

"$MPIRUN" "${MPIFLAGS[@]}" --bind-to none -np 2 "$MELON" hostinfo >"$WORK/h.txt" 2>"$WORK/h.err" ||
  { cat "$WORK/h.err"; fail "hostinfo on 2 ranks"; }
want=$(( cpus / 2 > 1 ? cpus / 2 : 1 ))
for r in 0 1; do
  [ "$(field $r | cut -d' ' -f1)" = "$want" ] || { cat "$WORK/h.txt"; fail "2 unbound ranks: expected threads=$want on rank $r"; }
done
echo "ok  2 unbound ranks on $cpus CPUs: $want threads each"

if [ "$cpus" -ge 2 ]; then
  "$MPIRUN" "${MPIFLAGS[@]}" --bind-to core -np 2 "$MELON" hostinfo >"$WORK/h.txt" 2>"$WORK/h.err" ||
    { cat "$WORK/h.err"; fail "hostinfo on 2 bound ranks"; }
  for r in 0 1; do
    read -r t c <<<"$(field $r)"
    [ "$t" = 1 ] || { cat "$WORK/h.txt"; fail "rank $r bound to CPUs $c: expected 1 thread, got $t"; }
  done
  echo "ok  2 ranks bound to a core each: 1 thread each"
fi

# A stage logs its choice (here melon baseline, one rank pinned to one CPU).
"$MELON" generate --out "$WORK/data" --playlists 300 --songs 2000 --seed 5 --mel-songs 0 --quiet >/dev/null 2>&1
taskset -c "$first" "$MELON" baseline --method item-knn --tune off --train "$WORK/data/train.json" \
  --questions "$WORK/data/val.json" --out "$WORK/r.json" >"$WORK/b.log" 2>&1 || { tail "$WORK/b.log"; fail "baseline"; }
grep -q "threads: 1 a rank (rank 0 may run on 1 CPU, shared by 1 rank of its node" "$WORK/b.log" ||
  { cat "$WORK/b.log"; fail "baseline did not log its thread choice"; }
echo "threads_binding checks passed"
