#!/usr/bin/env bash
# The whole chain of a job file, stage by stage, each command line of the
# plan (`melon plan --stage`, the lines Slurm's steps run) under
# /usr/bin/time: wall time and peak RSS per stage, then the scores.
#   tools/bench/bench_chain.sh JOB.ini DATA WORK [RANKS]     (RANKS default 2)
# Env: MELON (default build/melon). DATA must hold a generated or validated
# dataset (generate is not timed: run `melon generate` first). WORK must not
# exist: the chain starts from nothing.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
JOB=$1 DATA=$2 WORK=$3 RANKS=${4:-2}
MELON=${MELON:-build/melon}
[ -x "$MELON" ] || { echo "no $MELON (build it, or set MELON)" >&2; exit 2; }
[ ! -e "$WORK" ] || { echo "$WORK exists: give a new folder" >&2; exit 2; }
MPIFLAGS=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIFLAGS+=(--allow-run-as-root)
mkdir -p "$WORK/bench"
T=$WORK/bench/times.tsv
printf 'stage\tstep\tranks\twall_s\tpeak_rss_mb_per_rank\n' >"$T"
echo "commit $(git describe --always --dirty 2>/dev/null || echo unknown); $RANKS ranks; job $JOB; data $DATA; work $WORK"
start=$(date +%s.%N)
mapfile -t stages < <("$MELON" plan --config "$JOB" --data "$DATA" --work "$WORK" --list </dev/null 2>/dev/null)
for stage in "${stages[@]}"; do
  [ "$stage" = generate ] && continue
  mapfile -t lines < <("$MELON" plan --config "$JOB" --data "$DATA" --work "$WORK" --stage "$stage" </dev/null 2>/dev/null)
  lines+=("")
  run=() tasks= n=0
  for line in "${lines[@]}"; do
    case "$line" in
      "on-stop "* | "rerun-arg "*) ;;
      "skip "*) echo "$stage: skipped (${line#skip })" ;;
      "run all" | "run one") tasks=${line#run }; run=() ;;
      "")
        [ -n "$tasks" ] || continue
        n=$((n + 1))
        np=$RANKS
        [ "$tasks" = one ] && np=1
        log=$WORK/bench/$stage-$n.log
        t0=$(date +%s.%N)
        /usr/bin/time -f '%M' -o "$WORK/bench/$stage-$n.rss" mpirun "${MPIFLAGS[@]}" -np "$np" "$MELON" "${run[@]}" \
          >"$log" 2>&1 || { tail -20 "$log" >&2; echo "$stage step $n failed (log $log)" >&2; exit 1; }
        t1=$(date +%s.%N)
        rss=$(cat "$WORK/bench/$stage-$n.rss")
        awk -v s="$stage" -v n="$n" -v p="$np" -v a="$t0" -v b="$t1" -v r="$rss" \
          'BEGIN { printf "%s\t%d\t%d\t%.1f\t%.0f\n", s, n, p, b - a, r / 1024 }' | tee -a "$T"
        tasks=
        ;;
      *) run+=("$line") ;;
    esac
  done
done
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN { printf "chain wall time (generate excluded): %.1f s = %.1f min\n", b - a, (b - a) / 60 }' | tee "$WORK/bench/total.txt"
awk -F'\t' 'NR > 1 && $5 > m { m = $5; s = $1 } END { printf "largest peak RSS per rank: %.0f MB (%s)\n", m, s }' "$T" | tee -a "$WORK/bench/total.txt"
# Scores of every method on the local split (the evaluate stage's tables).
for f in "$WORK"/scores*.json; do
  [ -f "$f" ] || continue
  python3 - "$f" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(sys.argv[1] + ": method, score (song nDCG, tag nDCG), then the score per question type")
for name, t in d.items():
    o = t["overall"]
    types = ", ".join(f"{k} {v['score']:.4f}" for k, v in t.get("by_type", {}).items())
    print(f"  {name}: {o['score']:.4f} ({o['song_ndcg']:.4f}, {o['tag_ndcg']:.4f}); {types}")
PY
done
