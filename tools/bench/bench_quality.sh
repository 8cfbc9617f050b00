#!/usr/bin/env bash
# Recommendation quality on data melon was not tuned on: a grid of generated
# datasets, {generator family} x {size} x {title-tag rate}, each on the
# official split, every method with melon's defaults and no per-dataset
# setting: every reference (hyperparameters chosen by melon on held-out
# training playlists, never on the questions scored here), the autoencoder
# alone, the reranked pipeline, and the pipeline without the autoencoder;
# scored by `melon evaluate` overall and per question type, with the wall time
# and peak memory of each; then a verdict per cell against the targets.
#
#   tools/bench/bench_quality.sh [--work DIR] [--families taste,walk] [--sizes small,mid]
#                                [--rates 0,default,0.95] [--cells LIST] [--ablations CELL|off]
#                                [--seed-offset N]
#
# A cell is FAMILY-SIZE-rRATE (e.g. walk-small-r0.95, taste-mid-rdefault):
#   family: taste (`melon generate`'s default model) | walk (`--model walk`)
#   size:   small: 6,000 playlists, 20,000 songs; mid: 30,000 playlists, 185,000 songs
#   rate:   `--title-tag-rate` (share of titles holding one of their tags); default: the generator's own
# --cells replaces the product of the three lists. Seeds are fixed per family
# and size (taste 12/13, walk 32/31 for small/mid), so cells differ only in
# the rate. Cells "a" and "b" are the two datasets melon's defaults were
# chosen on (30,000 playlists, 185,000 songs; a: the taste family with seed
# 11 and title-tag rate 1, b: seed 23, 96 tastes, --sparsity 2, --tag-noise
# 0.1): their rows are the tuning data's own test questions, reported apart.
# No grid cell may share a seed with them: the generator draws each playlist
# from its own stream and its title last, so a taste cell of a's size and seed
# 11 has a's songs and tags in every playlist, only the titles re-drawn.
# --seed-offset N adds N to every seed: datasets of the same kind that the
# grid does not report, whose questions serve as held-out questions when a
# default is chosen (the report names each cell's seed).
# Quick check: tools/bench/bench_quality.sh --work /tmp/bq --cells taste-small-rdefault
#
# Per cell C, everything under WORK/C: generate (mpirun -np 2), the official
# split (seed 777), the PCA of every song's procedural spectrogram (the
# --mel-source the generator names in calibration.json, 32 components, pool
# 16), training (defaults: self-sizing), predict, the references (item-kNN,
# playlist-kNN, EASE and the mixture, `melon baseline --checkpoint-dir
# --fitted`: tuned on the autoencoder's held-out playlists), rerank (`--fitted`: the references' fits loaded), rerank without
# the autoencoder (its own held-out slice); on taste cells, the data's
# ceiling (`melon oracle`: the Bayes answer, knowing the generator's
# catalogue and rules). Ablations (--ablations CELL): the
# pipeline without audio, without titles, without the learned ranker.
#
# Every melon command runs under /usr/bin/time (GNU time: apt-get install time);
# melon runs under mpirun -np 2 except split and evaluate. "peak MB/rank" is
# GNU time's %M of mpirun: the peak RSS of its largest single descendant, i.e.
# of the busiest rank. melon (full) reports pca + train + the references it
# reranks (item-kNN, playlist-kNN, EASE) + rerank (wall summed, peak the largest); the autoencoder pca + train + predict; a
# reference its baseline run (tuning included). Step timings live in
# WORK/C/times/STEP.txt ("wall_s peak_kb"), logs in WORK/C/logs/. A step whose
# times file exists is not run again, so a re-run after an interruption
# continues where it stopped (pca and train resume from their checkpoints;
# such a step's wall time covers only the last run and is marked *). Steps
# are not redone after melon is rebuilt: the times file records an id (md5)
# of the binary, and the table marks (!) the rows whose steps ran with
# another build; remove WORK/C/times/STEP.txt to redo a step (and the steps
# after it). Prints one table per cell, the verdicts and a summary, and
# writes the same as markdown to WORK/report.md.
# Env: MELON (binary; default build/melon, a Release build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MELON=${MELON:-$ROOT/build/melon}
WORK=/tmp/melon-bench-quality
FAMILIES=taste,walk
SIZES=small,mid
RATES=0,default,0.95
CELLS=
ABLATIONS=off
SEED_OFFSET=0

usage() { sed -n '11,13p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case $1 in
    --work) WORK=$2 ;;
    --families) FAMILIES=$2 ;;
    --sizes) SIZES=$2 ;;
    --rates) RATES=$2 ;;
    --cells) CELLS=$2 ;;
    --ablations) ABLATIONS=$2 ;;
    --seed-offset) SEED_OFFSET=$2 ;;
    *) usage ;;
  esac
  shift 2
done
if [ -z "$CELLS" ]; then
  IFS=, read -r -a fams <<<"$FAMILIES"
  IFS=, read -r -a sizes <<<"$SIZES"
  IFS=, read -r -a rates <<<"$RATES"
  for f in "${fams[@]}"; do for z in "${sizes[@]}"; do for r in "${rates[@]}"; do
    CELLS+="${CELLS:+,}$f-$z-r$r"
  done; done; done
fi
IFS=, read -r -a DS <<<"$CELLS"
[ ${#DS[@]} -gt 0 ] || usage
[[ $SEED_OFFSET =~ ^[0-9]+$ ]] || { echo "bench_quality: --seed-offset must be a whole number, got '$SEED_OFFSET'" >&2; exit 2; }
# cell_settings CELL: sets FAMILY PLAYLISTS SONGS SEED RATE GENX, or fails naming the cell.
cell_settings() {
  local c=$1
  GENX=()
  case $c in
    a) FAMILY=taste PLAYLISTS=30000 SONGS=185000 SEED=$((11 + SEED_OFFSET)) RATE=1; GENX=(--title-tag-rate 1); return 0 ;;
    b) FAMILY=taste PLAYLISTS=30000 SONGS=185000 SEED=$((23 + SEED_OFFSET)) RATE=1
       GENX=(--title-tag-rate 1 --tastes 96 --sparsity 2 --tag-noise 0.1); return 0 ;;
  esac
  [[ $c =~ ^(taste|walk)-(small|mid)-r(default|[0-9.]+)$ ]] ||
    { echo "bench_quality: unknown cell '$c' (FAMILY-SIZE-rRATE: taste|walk, small|mid, a rate in [0, 1] or default; or a, b)" >&2; exit 2; }
  FAMILY=${BASH_REMATCH[1]} RATE=${BASH_REMATCH[3]}
  case ${BASH_REMATCH[2]} in
    small) PLAYLISTS=6000 SONGS=20000; [ "$FAMILY" = taste ] && SEED=12 || SEED=32 ;;
    mid) PLAYLISTS=30000 SONGS=185000; [ "$FAMILY" = taste ] && SEED=13 || SEED=31 ;;
  esac
  SEED=$((SEED + SEED_OFFSET))
  [ "$FAMILY" = walk ] && GENX+=(--model walk)
  [ "$RATE" = default ] || GENX+=(--title-tag-rate "$RATE")
}
for d in "${DS[@]}"; do cell_settings "$d"; done
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
echo "== bench_quality: cells $CELLS; ablations $ABLATIONS; work $WORK"
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
  cell_settings "$ds"
  D=$WORK/$ds
  mkdir -p "$D/times" "$D/logs" "$D/scores"
  # Outputs are reused only with the same settings.
  settings="cell=$ds
family=$FAMILY
playlists=$PLAYLISTS
songs=$SONGS
seed=$SEED
title_tag_rate=$RATE
generate_extra=${GENX[*]}"
  if [ -f "$D/settings.txt" ]; then
    [ "$(cat "$D/settings.txt")" = "$settings" ] ||
      { echo "bench_quality: $D holds a run with other settings ($D/settings.txt); use another --work or remove $D" >&2; exit 1; }
  else
    echo "$settings" >"$D/settings.txt"
  fi
  TRAIN=$D/split/orig/train.json
  Q=$D/split/questions/val.json
  META=$D/data/song_meta.json

  step "$ds" generate "$NP" - -- generate --out "$D/data" --playlists "$PLAYLISTS" --songs "$SONGS" \
    --seed "$SEED" "${GENX[@]}" --mel-songs 0 --quiet
  MEL=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["params"]["mel_source"])' "$D/data/calibration.json")
  step "$ds" split 1 - -- split --input "$D/data/train.json" --out "$D/split" --seed 777
  step "$ds" pca "$NP" "$D/pca.h5.state" -- pca --mel-source "$MEL" --out "$D/pca.h5" --components 32 --pool 16 \
    --feature-log off --seed 1 --resume --quiet

  step "$ds" train "$NP" "$D/ckpt" -- train --train "$TRAIN" --questions "$Q" --song-meta "$META" --pca "$D/pca.h5" \
    --checkpoint-dir "$D/ckpt" --seed 1 --resume=auto
  step "$ds" predict "$NP" - -- predict --checkpoint-dir "$D/ckpt" --questions "$Q" --song-meta "$META" \
    --out "$D/results-autoencoder.json"
  score "$ds" autoencoder "$D/results-autoencoder.json"

  # The mixture is a reference melon ships but the reranker does not use by
  # default: it is scored so that "the best reference" includes it.
  for m in most-popular genre-most-popular item-knn playlist-knn ease mixture; do
    fit=()
    case $m in item-knn|playlist-knn|ease|mixture) fit=(--checkpoint-dir "$D/ckpt" --fitted "$D/fits") ;; esac
    step "$ds" "baseline-$m" "$NP" - -- baseline --method "$m" --train "$TRAIN" --questions "$Q" --song-meta "$META" \
      "${fit[@]}" --out "$D/results-$m.json"
    score "$ds" "$m" "$D/results-$m.json"
  done

  # The data's ceiling: the Bayes answer from the generator's catalogue and rules (taste family only).
  if [ "$FAMILY" = taste ]; then
    step "$ds" oracle 1 - -- oracle --data "$D/data" --questions "$Q" --out "$D/results-oracle.json"
    score "$ds" oracle "$D/results-oracle.json"
  fi

  RR=(--train "$TRAIN" --questions "$Q" --song-meta "$META")
  step "$ds" rerank "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt" --pca "$D/pca.h5" --fitted "$D/fits" \
    --out "$D/results-melon.json" --model-dir "$D/ranker"
  score "$ds" melon "$D/results-melon.json"
  # Without the autoencoder: the reranker holds out its own slice, so it fits the references itself.
  step "$ds" rerank-noae "$NP" - -- rerank "${RR[@]}" --pca "$D/pca.h5" --out "$D/results-melon-noae.json"
  score "$ds" melon-noae "$D/results-melon-noae.json"

  if [ "$ABLATIONS" = "$ds" ]; then
    step "$ds" rerank-noaudio "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt" --pca "$D/pca.h5" \
      --fitted "$D/fits" --audio off --out "$D/results-melon-noaudio.json"
    score "$ds" melon-noaudio "$D/results-melon-noaudio.json"
    step "$ds" rerank-notitles "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt" --pca "$D/pca.h5" \
      --fitted "$D/fits" --titles off --out "$D/results-melon-notitles.json"
    score "$ds" melon-notitles "$D/results-melon-notitles.json"
    step "$ds" rerank-norefit "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt" --pca "$D/pca.h5" \
      --fitted "$D/fits" --refit off --out "$D/results-melon-norefit.json"
    score "$ds" melon-norefit "$D/results-melon-norefit.json"
    step "$ds" rerank-fusion "$NP" - -- rerank "${RR[@]}" --checkpoint-dir "$D/ckpt" --pca "$D/pca.h5" \
      --fitted "$D/fits" --ranker fusion --out "$D/results-melon-fusion.json"
    score "$ds" melon-fusion "$D/results-melon-fusion.json"
  fi
done

echo "== tables"
"$PY" "$ROOT/tools/bench/bench_quality_table.py" --work "$WORK" --cells "$CELLS" --binary-id "$BIN_ID"
awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "bench_quality: %.0f s wall in this run", b - a }'
echo "; markdown tables in $WORK/report.md"
