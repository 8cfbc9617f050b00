#!/usr/bin/env bash
# The Slurm scripts on a real single-node Slurm (tools/cluster/slurm-local.sh, its own
# state folder, ports and munge, stopped at the end): slurm/submit.sh chains
# generate -> split -> baseline -> pca -> train -> predict -> evaluate with
# --dependency=afterok from one job file. Checks that every stage COMPLETED,
# each wrote its own .out/.err log under WORK/logs (with SLURM_RESTART_COUNT
# logged), and that the chain's dataset, PCA scores, trained weights,
# results.json files and `melon evaluate --json` scores equal the same stages
# run directly under mpirun. Every wait is bounded.
source "$(dirname "$0")/lib.sh"
command -v h5diff > /dev/null || fail "h5diff not found (Debian: hdf5-tools)"
start_local_slurm 0

JOB=$WORK/job.ini
cat > "$JOB" <<'EOF'
# slurm_chain test: a small synthetic dataset, both baselines, the PCA of the
# generator's spectrograms (computed on the fly), a small autoencoder.
[generate]
playlists = 1000
songs = 5000
seed = 7
mel-songs = 0
[split]
seed = 3
[pipeline]
methods = most-popular,genre-most-popular
[pca]
mel-source = synthetic:7:5000
components = 8
pool = 64
seed = 1
[train]
epochs = 3
hidden = 32
batch = 64
threads = 1
seed = 2
EOF
STAGES=generate,split,baseline,pca,train,predict,evaluate,report

# Through Slurm: the data folder does not exist yet, so the chain starts with generate.
start=$SECONDS
"$MELON_SRC/slurm/submit.sh" --stages "$STAGES" "$JOB" "$WORK/data-slurm" "$WORK/run-slurm"
"$MELON_SRC/slurm/wait.sh" --timeout 480 "$WORK/run-slurm" > "$WORK/states.txt" || {
  cat "$WORK/states.txt"
  tail -n 20 "$WORK"/run-slurm/logs/* >&2 || true
  fail "the chain did not complete"
}
cat "$WORK/states.txt"
echo "ok  chain of 8 stages completed in $((SECONDS - start)) s"
for stage in ${STAGES//,/ }; do
  id=$(awk -v s=$stage '$1 == s {print $2}' "$WORK/run-slurm/jobs.txt")
  out=$WORK/run-slurm/logs/melon-$stage-$id.out err=$WORK/run-slurm/logs/melon-$stage-$id.err
  [ -f "$out" ] && [ -f "$err" ] || fail "stage $stage: no $out / .err"
  grep -q "stage $stage: start (SLURM_RESTART_COUNT=0)" "$out" || fail "stage $stage: start line missing in $out"
  grep -q "stage $stage: done" "$out" || fail "stage $stage: no 'done' in $out"
  grep -qi "error" "$err" && { cat "$err"; fail "stage $stage: errors in $err"; }
done
echo "ok  per-stage logs: $(ls "$WORK/run-slurm/logs" | tr '\n' ' ')"
# The chain's last stage: the run report, drawn from the chain's own outputs.
rep=$WORK/run-slurm/report.html
[ -s "$rep" ] || fail "the report stage wrote no $rep"
for section in Scores Training "PCA of the spectrograms"; do
  grep -q "<h2[^>]*>$section</h2>" "$rep" || fail "report: no '$section' section in $rep"
done
[ "$(grep -o '<svg' "$rep" | wc -l)" -ge 5 ] || fail "report: fewer than 5 plots in $rep"
echo "ok  report.html: $(grep -o '<svg' "$rep" | wc -l) plots"

# The same stages directly under mpirun, same job file.
D=$WORK/data-direct R=$WORK/run-direct
mkdir -p "$R/scores"
mp() { "$MPIRUN" "${MPIFLAGS[@]}" -np "$@"; }
mp 2 "$MELON" generate --config "$JOB" --out "$D" > /dev/null 2>&1
mp 1 "$MELON" split --config "$JOB" --input "$D/train.json" --out "$R/split" 2> /dev/null
for m in most-popular genre-most-popular; do
  mp 2 "$MELON" baseline --config "$JOB" --method $m --train "$R/split/orig/train.json" \
    --questions "$R/split/questions/val.json" --song-meta "$D/song_meta.json" --out "$R/results-$m.json" 2> /dev/null
done
mp 2 "$MELON" pca --config "$JOB" --out "$R/pca.h5" > "$R/pca.log" 2>&1 || { cat "$R/pca.log"; fail "direct pca"; }
mp 2 "$MELON" train --config "$JOB" --train "$R/split/orig/train.json" --questions "$R/split/questions/val.json" \
  --song-meta "$D/song_meta.json" --pca "$R/pca.h5" --checkpoint-dir "$R/checkpoints" > "$R/train.log" 2>&1 ||
  { cat "$R/train.log"; fail "direct train"; }
mp 2 "$MELON" predict --config "$JOB" --checkpoint-dir "$R/checkpoints" --questions "$R/split/questions/val.json" \
  --song-meta "$D/song_meta.json" --out "$R/results.json" > "$R/predict.log" 2>&1 ||
  { cat "$R/predict.log"; fail "direct predict"; }
for f in train.json val.json song_meta.json; do
  cmp "$D/$f" "$WORK/data-slurm/$f" || fail "generate under Slurm wrote a different $f"
done
h5diff "$R/pca.h5" "$WORK/run-slurm/pca.h5" /scores > /dev/null || fail "pca under Slurm wrote other scores"
echo "ok  pca.h5 scores equal mpirun's"
w_direct=$(grep -o 'weights fnv1a64=[0-9a-f]*' "$R/train.log" | tail -1)
w_slurm=$(cat "$WORK"/run-slurm/logs/melon-train-* | grep -o 'weights fnv1a64=[0-9a-f]*' | tail -1)
[ -n "$w_direct" ] && [ "$w_direct" = "$w_slurm" ] || fail "weights: Slurm '$w_slurm', mpirun '$w_direct'"
echo "ok  trained weights equal mpirun's ($w_direct)"
for f in results-most-popular results-genre-most-popular results; do
  "$MELON" evaluate --answers "$R/split/answers/val.json" --results "$R/$f.json" \
    --questions "$R/split/questions/val.json" --json > "$R/scores/$f.json"
  cmp "$R/scores/$f.json" "$WORK/run-slurm/scores/$f.json" ||
    fail "$f: Slurm chain score $(cat "$WORK/run-slurm/scores/$f.json") != direct $(cat "$R/scores/$f.json")"
  cmp "$R/$f.json" "$WORK/run-slurm/$f.json" || fail "$f.json differs"
  echo "ok  $f.json: Slurm chain score equals mpirun: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["overall"])' "$R/scores/$f.json")"
done

# Nothing left in the queue.
[ -z "$(squeue -h)" ] || { squeue; fail "jobs left in the queue"; }
echo "ok  queue empty"
echo "slurm chain end-to-end passed"
