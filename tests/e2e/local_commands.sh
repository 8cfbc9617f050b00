#!/usr/bin/env bash
# The commands that read files and write one on a single rank (split,
# evaluate, plan) run without MPI when started by hand: they work where MPI
# cannot start at all (here: Open MPI told to use a messaging layer that does
# not exist, which makes any MPI_Init fail), while a command that needs MPI
# fails there. Under mpirun they start MPI like every command (the same
# broken setting passed to the ranks makes them fail), and with a working MPI
# their files are the same bytes as the by-hand run's.
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 300 --songs 2000 --seed 4 --mel-mode none --quiet >/dev/null 2>&1

broken=(env OMPI_MCA_pml=no-such-pml)
rc=0
timeout 60 "${broken[@]}" "$MELON" hostinfo >"$WORK/hostinfo.txt" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "hostinfo (needs MPI) did not fail promptly where MPI cannot start: exit $rc"
echo "ok  where MPI cannot start, hostinfo fails (exit $rc)"

timeout 60 "${broken[@]}" "$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" 2>"$WORK/split.log" ||
  { cat "$WORK/split.log"; fail "split needed MPI"; }
"$MELON" baseline --method most-popular --train "$WORK/split/orig/train.json" \
  --questions "$WORK/split/questions/val.json" --out "$WORK/mp.json" 2>/dev/null
timeout 60 "${broken[@]}" "$MELON" evaluate --answers "$WORK/split/answers/val.json" --results "$WORK/mp.json" \
  --questions "$WORK/split/questions/val.json" --json >"$WORK/score.json" 2>"$WORK/eval.log" ||
  { cat "$WORK/eval.log"; fail "evaluate needed MPI"; }
grep -q '"overall"' "$WORK/score.json" || fail "evaluate wrote no score"
timeout 60 "${broken[@]}" "$MELON" plan --config "$MELON_SRC/jobs/demo.ini" --data "$WORK/data" \
  --work "$WORK/run" >"$WORK/plan.txt" 2>"$WORK/plan.log" ||
  { cat "$WORK/plan.log"; fail "plan needed MPI"; }
[ -s "$WORK/plan.txt" ] || fail "plan printed nothing"
echo "ok  split, evaluate and plan run by hand without MPI"

rc=0
timeout 120 "$MPIRUN" "${MPIFLAGS[@]}" -x OMPI_MCA_pml=no-such-pml -np 2 "$MELON" split \
  --input "$WORK/data/train.json" --out "$WORK/split-broken" >"$WORK/mpi-broken.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "split under mpirun did not start MPI (exit $rc with a broken MPI)"
echo "ok  under mpirun split starts MPI (a broken MPI stops it: exit $rc)"

"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" split --input "$WORK/data/train.json" --out "$WORK/split2" 2>/dev/null
for f in orig/train.json questions/val.json answers/val.json; do
  cmp "$WORK/split/$f" "$WORK/split2/$f" || fail "split under mpirun -np 2 wrote another $f"
done
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" evaluate --answers "$WORK/split/answers/val.json" --results "$WORK/mp.json" \
  --questions "$WORK/split/questions/val.json" --json >"$WORK/score2.json" 2>/dev/null
cmp "$WORK/score.json" "$WORK/score2.json" || fail "evaluate under mpirun -np 2 printed another score (or printed it twice)"
echo "ok  under mpirun -np 2 split writes the same files and evaluate prints the score once"
