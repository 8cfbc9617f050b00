#!/usr/bin/env bash
# Recommendation quality: every reference recommender, the autoencoder and the
# full pipeline (autoencoder + reranker) on generated mid-size datasets, scored
# by `melon evaluate` overall and per question type, with the wall time and
# peak memory of each, then a verdict against the targets.
#
#   tools/bench/bench_quality.sh [--work DIR] [--datasets a,b] [--playlists N] [--songs M]
#                          [--ablations on|off] [--epochs E]
#
# Defaults: --work /tmp/melon-bench-quality --datasets a,b --playlists 30000
# --songs 185000 --ablations on --epochs 8 (hours on 2 cores). A quick check:
#   tools/bench/bench_quality.sh --work /tmp/bq-small --playlists 3000 --songs 20000 --epochs 1
#
# Datasets (same --playlists/--songs, different seed and generator settings):
#   a: --seed 11 (defaults: 48 tastes, sparsity 1, tag noise 0.035)
#   b: --seed 23 --tastes 96 --sparsity 2 --tag-noise 0.1 (more tastes,
#      sparser playlists, noisier tags)
# Per dataset D, everything under WORK/D: generate (mpirun -np 2), the official
# split (seed 777), the PCA of every song's procedural spectrogram
# (--mel-source synthetic:SEED:M[:TASTES], 32 components, pool 16), the
# references (baseline), the autoencoder (train with the PCA's audio, predict)
# and the full pipeline's final stage (rerank over the autoencoder's
# checkpoints). Ablations (dataset a only, --ablations on): the pipeline
# without audio (autoencoder trained without --pca, rerank --audio off), without
# titles (rerank --titles off), without the reranker (rerank --ranker fusion);
# "autoencoder alone" is the autoencoder row.
#
# Every melon command runs under /usr/bin/time (GNU time: apt-get install time);
# melon runs under mpirun -np 2 except split and evaluate. "peak MB/rank" is
# GNU time's %M of mpirun: the peak RSS of its largest single descendant, i.e.
# of the busiest rank. melon (full) reports pca + train + rerank (wall summed,
# peak the largest); the autoencoder pca + train + predict; a reference its
# baseline run. Step timings live in WORK/D/times/STEP.txt ("wall_s peak_kb"),
# logs in WORK/D/logs/. A step whose times file exists is not run again, so a
# re-run after an interruption continues where it stopped (pca and train
# resume from their checkpoints; such a step's wall time covers only the last
# run and is marked *). Steps are not redone after melon is rebuilt: the times
# file records an id (md5) of the binary, and the table marks (!) the rows
# whose steps ran with another build; remove WORK/D/times/STEP.txt to redo a
# step (and the steps after it). Prints one table per dataset and the verdict,
# and writes the same as markdown to WORK/report.md.
# Env: MELON (binary; default build/melon, a Release build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MELON=${MELON:-$ROOT/build/melon}
WORK=/tmp/melon-bench-quality
DATASETS=a,b
PLAYLISTS=30000
SONGS=185000
ABLATIONS=on
EPOCHS=8

usage() { sed -n '7,8p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case $1 in
    --work) WORK=$2 ;;
    --datasets) DATASETS=$2 ;;
    --playlists) PLAYLISTS=$2 ;;
    --songs) SONGS=$2 ;;
    --ablations) ABLATIONS=$2 ;;
    --epochs) EPOCHS=$2 ;;
    *) usage ;;
  esac
  shift 2
done
for v in "$PLAYLISTS" "$SONGS" "$EPOCHS"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench_quality: not a positive integer: $v" >&2; exit 2; }
done
[ "$ABLATIONS" = on ] || [ "$ABLATIONS" = off ] || { echo "bench_quality: --ablations on|off" >&2; exit 2; }
IFS=, read -r -a DS <<<"$DATASETS"
[ ${#DS[@]} -gt 0 ] || usage
for d in "${DS[@]}"; do
  [ "$d" = a ] || [ "$d" = b ] || { echo "bench_quality: unknown dataset '$d' (a or b)" >&2; exit 2; }
done
[ -x "$MELON" ] || { echo "bench_quality: no melon binary at $MELON (set MELON=...)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_quality: /usr/bin/time (GNU time) missing: apt-get install time" >&2; exit 1; }
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "bench_quality: $PY missing: apt-get install python3" >&2; exit 1; }
MPIFLAGS=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIFLAGS+=(--allow-run-as-root)
NP=2
# Which melon build made each step (recorded in its times file; the table flags
# figures from another build than the current one).
BIN_ID=$(md5sum "$MELON" | cut -c1-12)

now() { date +%s.%N; }
T0=$(now)
mkdir -p "$WORK"
echo "== bench_quality: datasets $DATASETS, $PLAYLISTS playlists, $SONGS songs, $EPOCHS epochs, ablations $ABLATIONS; work $WORK"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows every step)"

# step DS NAME NP RESUME_MARK -- melon args...: runs melon (under mpirun when
# NP > 1) timed into DS/times/NAME.txt, logged into DS/logs/NAME.log; skipped
# when the times file exists. RESUME_MARK: a path whose existence before the
# run means the command resumes earlier work (its time is then partial), or -.
step() {
  local ds=$1 name=$2 np=$3 mark=$4
  shift 4
  [ "$1" = -- ] && shift
  local dir=$WORK/$ds
  local t=$dir/times/$name.txt log=$dir/logs/$name.log
  if [ -f "$t" ]; then
    local by=
    grep -q " bin=$BIN_ID" "$t" || by=", by another melon build"
    echo "== dataset $ds: $name (done before$by: $(cut -d' ' -f1 "$t") s)"
    return 0
  fi
  echo "== dataset $ds: $name"
  local resumed=
  if [ "$mark" != - ] && [ -e "$mark" ]; then
    resumed=resumed
  fi
  local cmd=("$MELON" "$@")
  if [ "$np" -gt 1 ]; then
    cmd=(mpirun "${MPIFLAGS[@]}" -np "$np" "${cmd[@]}")
  fi
  if ! /usr/bin/time -f '%e %M' -o "$t.tmp" "${cmd[@]}" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    echo "bench_quality: step $name of dataset $ds failed; command: ${cmd[*]}; log: $log" >&2
    exit 1
  fi
  echo "$(tail -n 1 "$t.tmp") bin=$BIN_ID $resumed" >"$t.tmp"
  mv "$t.tmp" "$t"
  awk -v r="$resumed" '{ printf "   %.1f s, peak %.0f MB/rank%s\n", $1, $2 / 1024, r == "" ? "" : " (resumed: partial time)" }' "$t"
}

# score DS NAME RESULTS: melon evaluate's JSON into DS/scores/NAME.json.
score() {
  local ds=$1 name=$2 res=$3
  local dir=$WORK/$ds
  local out=$dir/scores/$name.json
  [ -f "$out" ] && [ "$out" -nt "$res" ] && return 0
  "$MELON" evaluate --answers "$dir/split/answers/val.json" --results "$res" \
    --questions "$dir/split/questions/val.json" --json >"$out.tmp" 2>"$dir/logs/evaluate-$name.log" ||
    { cat "$dir/logs/evaluate-$name.log" >&2; echo "bench_quality: evaluate $name of dataset $ds failed" >&2; exit 1; }
  mv "$out.tmp" "$out"
}

for ds in "${DS[@]}"; do
  case $ds in
    a) SEED=11; TASTES=48; GENX=() ;;
    b) SEED=23; TASTES=96; GENX=(--tastes 96 --sparsity 2 --tag-noise 0.1) ;;
  esac
  D=$WORK/$ds
  mkdir -p "$D/times" "$D/logs" "$D/scores"
  # Outputs are reused only with the same settings.
  settings="dataset=$ds
playlists=$PLAYLISTS
songs=$SONGS
epochs=$EPOCHS
seed=$SEED
generate_extra=${GENX[*]}"
  if [ -f "$D/settings.txt" ]; then
    [ "$(cat "$D/settings.txt")" = "$settings" ] ||
      { echo "bench_quality: $D holds a run with other settings ($D/settings.txt); use another --work or remove $D" >&2; exit 1; }
  else
    echo "$settings" >"$D/settings.txt"
  fi
  MEL=synthetic:$SEED:$SONGS
  [ "$TASTES" = 48 ] || MEL=$MEL:$TASTES
  TRAIN=$D/split/orig/train.json
  Q=$D/split/questions/val.json
  META=$D/data/song_meta.json

  step "$ds" generate "$NP" - -- generate --out "$D/data" --playlists "$PLAYLISTS" --songs "$SONGS" \
    --seed "$SEED" "${GENX[@]}" --mel-songs 0 --quiet
  step "$ds" split 1 - -- split --input "$D/data/train.json" --out "$D/split" --seed 777
  step "$ds" pca "$NP" "$D/pca.h5.state" -- pca --mel-source "$MEL" --out "$D/pca.h5" --components 32 --pool 16 \
    --feature-log off --seed 1 --resume --quiet

  for m in most-popular genre-most-popular item-knn playlist-knn ease; do
    step "$ds" "baseline-$m" "$NP" - -- baseline --method "$m" --train "$TRAIN" --questions "$Q" --song-meta "$META" \
      --out "$D/results-$m.json"
    score "$ds" "$m" "$D/results-$m.json"
  done

  step "$ds" train "$NP" "$D/ckpt" -- train --train "$TRAIN" --questions "$Q" --song-meta "$META" --pca "$D/pca.h5" \
    --checkpoint-dir "$D/ckpt" --epochs "$EPOCHS" --seed 1 --val-size 2000 --resume
  step "$ds" predict "$NP" - -- predict --checkpoint-dir "$D/ckpt" --questions "$Q" --song-meta "$META" \
    --out "$D/results-autoencoder.json"
  score "$ds" autoencoder "$D/results-autoencoder.json"

  RR=(--train "$TRAIN" --questions "$Q" --song-meta "$META")
  step "$ds" rerank "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt" --pca "$D/pca.h5" \
    --out "$D/results-melon.json" --model-dir "$D/ranker"
  score "$ds" melon "$D/results-melon.json"

  if [ "$ABLATIONS" = on ] && [ "$ds" = a ]; then
    step "$ds" train-noaudio "$NP" "$D/ckpt-noaudio" -- train --train "$TRAIN" --questions "$Q" --song-meta "$META" \
      --checkpoint-dir "$D/ckpt-noaudio" --epochs "$EPOCHS" --seed 1 --val-size 2000 --resume
    step "$ds" predict-noaudio "$NP" - -- predict --checkpoint-dir "$D/ckpt-noaudio" --questions "$Q" \
      --song-meta "$META" --out "$D/results-autoencoder-noaudio.json"
    score "$ds" autoencoder-noaudio "$D/results-autoencoder-noaudio.json"
    step "$ds" rerank-noaudio "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt-noaudio" --audio off \
      --out "$D/results-melon-noaudio.json" --model-dir "$D/ranker-noaudio"
    score "$ds" melon-noaudio "$D/results-melon-noaudio.json"
    step "$ds" rerank-notitles "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt" --pca "$D/pca.h5" \
      --titles off --out "$D/results-melon-notitles.json" --model-dir "$D/ranker-notitles"
    score "$ds" melon-notitles "$D/results-melon-notitles.json"
    step "$ds" rerank-fusion "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt" --pca "$D/pca.h5" \
      --ranker fusion --out "$D/results-melon-fusion.json"
    score "$ds" melon-fusion "$D/results-melon-fusion.json"
    step "$ds" rerank-split "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt" --pca "$D/pca.h5" \
      --song-models 2 --no-song-copies on --out "$D/results-melon-split.json"
    score "$ds" melon-split "$D/results-melon-split.json"
  fi
done

echo "== tables"
"$PY" "$ROOT/tools/bench/bench_quality_table.py" --work "$WORK" --datasets "$DATASETS" --binary-id "$BIN_ID"
awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "bench_quality: %.0f s wall in this run", b - a }'
echo "; markdown tables in $WORK/report.md"
