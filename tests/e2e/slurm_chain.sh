#!/usr/bin/env bash
# The Slurm scripts on a real single-node Slurm (tools/slurm-local.sh, its own
# state folder, ports and munge, stopped at the end): slurm/submit.sh chains
# generate -> split -> baseline -> evaluate with --dependency=afterok from one
# job file. Checks that every stage COMPLETED, each wrote its own .out/.err log
# under WORK/logs (with SLURM_RESTART_COUNT logged), and that the chain's
# dataset and `melon evaluate --json` scores equal the same stages run
# directly under mpirun. Every wait is bounded.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the local Slurm (munged, slurmctld, slurmd) needs root"
  exit 0
fi
chmod 755 "$WORK"  # munged wants the folders above its socket searchable
export MELON_SLURM_DIR=$WORK/slurm
port=$((20000 + ($$ % 1000) * 8))
while ss -Hltn "sport = :$port or sport = :$((port + 1))" | grep -q .; do port=$((port + 8)); done
export MELON_SLURM_PORT=$port
export SLURM_CONF=$MELON_SLURM_DIR/slurm.conf
trap '"$MELON_SRC/tools/slurm-local.sh" stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
"$MELON_SRC/tools/slurm-local.sh" start

JOB=$WORK/job.ini
cat > "$JOB" <<'EOF'
# slurm_chain test: a small synthetic dataset, both baselines
[generate]
playlists = 1000
songs = 5000
seed = 7
mel-songs = 0
[split]
seed = 3
[pipeline]
methods = most-popular,genre-most-popular
EOF

# Through Slurm: the data folder does not exist yet, so the chain starts with generate.
start=$SECONDS
"$MELON_SRC/slurm/submit.sh" --stages generate,split,baseline,evaluate "$JOB" "$WORK/data-slurm" "$WORK/run-slurm"
"$MELON_SRC/slurm/wait.sh" --timeout 180 "$WORK/run-slurm" > "$WORK/states.txt" || {
  cat "$WORK/states.txt"
  tail -n 20 "$WORK"/run-slurm/logs/* >&2 || true
  fail "the chain did not complete"
}
cat "$WORK/states.txt"
echo "ok  chain of 4 stages completed in $((SECONDS - start)) s"
for stage in generate split baseline evaluate; do
  id=$(awk -v s=$stage '$1 == s {print $2}' "$WORK/run-slurm/jobs.txt")
  out=$WORK/run-slurm/logs/melon-$stage-$id.out err=$WORK/run-slurm/logs/melon-$stage-$id.err
  [ -f "$out" ] && [ -f "$err" ] || fail "stage $stage: no $out / .err"
  grep -q "stage $stage: start (SLURM_RESTART_COUNT=0)" "$out" || fail "stage $stage: start line missing in $out"
  grep -q "stage $stage: done" "$out" || fail "stage $stage: no 'done' in $out"
  grep -qi "error" "$err" && { cat "$err"; fail "stage $stage: errors in $err"; }
done
echo "ok  per-stage logs: $(ls "$WORK/run-slurm/logs" | tr '\n' ' ')"

# The same stages directly under mpirun, same job file.
D=$WORK/data-direct R=$WORK/run-direct
mkdir -p "$R/scores"
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" generate --config "$JOB" --out "$D" > /dev/null 2>&1
"$MPIRUN" "${MPIFLAGS[@]}" -np 1 "$MELON" split --config "$JOB" --input "$D/train.json" --out "$R/split" 2> /dev/null
for m in most-popular genre-most-popular; do
  "$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" baseline --config "$JOB" --method $m --train "$R/split/orig/train.json" \
    --questions "$R/split/questions/val.json" --song-meta "$D/song_meta.json" --out "$R/results-$m.json" 2> /dev/null
  "$MELON" evaluate --answers "$R/split/answers/val.json" --results "$R/results-$m.json" \
    --questions "$R/split/questions/val.json" --json > "$R/scores/results-$m.json"
done
for f in train.json val.json song_meta.json; do
  cmp "$D/$f" "$WORK/data-slurm/$f" || fail "generate under Slurm wrote a different $f"
done
for m in most-popular genre-most-popular; do
  cmp "$R/scores/results-$m.json" "$WORK/run-slurm/scores/results-$m.json" ||
    fail "$m: Slurm chain score $(cat "$WORK/run-slurm/scores/results-$m.json") != direct $(cat "$R/scores/results-$m.json")"
  cmp "$R/results-$m.json" "$WORK/run-slurm/results-$m.json" || fail "$m: results.json differs"
  echo "ok  $m: Slurm chain score equals mpirun: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["overall"])' "$R/scores/results-$m.json")"
done

# Nothing left in the queue.
[ -z "$(squeue -h)" ] || { squeue; fail "jobs left in the queue"; }
echo "ok  queue empty"
echo "slurm chain end-to-end passed"
