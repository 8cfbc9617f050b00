#!/usr/bin/env bash
# Submits the job's stage plan as a chain of Slurm jobs, each waiting for the
# one before it to succeed (--dependency=afterok); all read one job file.
#
#   slurm/submit.sh [options] JOB.ini [DATA [WORK]]
#
#   --stages LIST       comma-separated stages, in order (default: the plan's,
#                       `melon plan --list`, the stages `melon pipeline` runs:
#                       [generate,] split, pca, train, predict, references,
#                       rerank, evaluate, report as the job file's [pipeline]
#                       options choose). Each is slurm/<stage>.sbatch running
#                       the plan's command lines for it; another melon command
#                       goes through slurm/stage.sbatch
#   --sbatch-args "A"   extra sbatch options for every stage, split on spaces
#                       (e.g. "--partition=long --account=proj")
#   --after JOBID       the first stage also waits for JOBID (afterok)
#   --dry-run           print the sbatch commands, submit nothing
#
# DATA (the Arena files) and WORK (split, pca.h5, checkpoints, results,
# scores, logs) default to the job file's [pipeline] data and work. The plan
# starts with generate when DATA has no train.json; a DATA/train.json without
# its completion marker (DATA/melon-dataset.done) is refused unless the job
# file says [pipeline] trust-data = on. Logs:
# WORK/logs/melon-<stage>-<jobid>.out and .err. The job ids go to stdout
# ("<stage> <jobid>" lines) and to WORK/jobs.txt.
# A failed stage fails its job; the stages after it are cancelled
# (--kill-on-invalid-dep=yes, and DependencyParameters=kill_invalid_depend in
# tools/cluster/slurm-local.sh's slurm.conf), so nothing is left pending.
#
# Environment: MELON (the binary, default <repo>/build/melon), MELON_LAUNCHER
# (srun, the default: srun --mpi=pmix; or mpirun inside the allocation),
# MELON_SBATCH_<STAGE> (extra sbatch options for one stage, e.g.
# MELON_SBATCH_TRAIN="--nodes=4 --ntasks-per-node=8 --time=2-00:00:00").
# The job file is data: it is read with awk ([pipeline] data and work) and by
# melon itself (--config), never sourced.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export MELON_SRC=${MELON_SRC:-$(dirname "$here")}
export MELON=${MELON:-$MELON_SRC/build/melon}
# shellcheck source=slurm/common.sh
source "$here/common.sh"   # for ini_get; defines functions only

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
stages=
sbatch_args="${MELON_SBATCH_ARGS:-}"
after=
dry=0
pos=()
while [ $# -gt 0 ]; do
  case "$1" in
    --stages) stages=$2; shift 2 ;;
    --stages=*) stages=${1#*=}; shift ;;
    --sbatch-args) sbatch_args="$sbatch_args $2"; shift 2 ;;
    --sbatch-args=*) sbatch_args="$sbatch_args ${1#*=}"; shift ;;
    --after) after=$2; shift 2 ;;
    --after=*) after=${1#*=}; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage ;;
    -*) echo "submit: unknown option $1" >&2; usage ;;
    *) pos+=("$1"); shift ;;
  esac
done
[ ${#pos[@]} -ge 1 ] && [ ${#pos[@]} -le 3 ] || usage
job=$(realpath "${pos[0]}")
[ -f "$job" ] || { echo "submit: job file ${pos[0]} not found" >&2; exit 2; }
data=${pos[1]:-$(ini_get "$job" pipeline data || true)}
work=${pos[2]:-$(ini_get "$job" pipeline work || true)}
[ -n "$data" ] || { echo "submit: no DATA argument and no [pipeline] data in $job" >&2; exit 2; }
[ -n "$work" ] || { echo "submit: no WORK argument and no [pipeline] work in $job" >&2; exit 2; }
data=$(realpath -m "$data")
work=$(realpath -m "$work")
[ -x "$MELON" ] || { echo "submit: melon binary $MELON not found (build it, or set MELON)" >&2; exit 2; }
[ "$dry" = 1 ] || command -v sbatch >/dev/null || { echo "submit: sbatch not found (no Slurm here? tools/cluster/slurm-local.sh start)" >&2; exit 2; }

# The plan decides the stages (and refuses a dataset without its marker).
plan=$("$MELON" plan --config "$job" --data "$data" --work "$work" --list) ||
  { echo "submit: melon plan refused the job (above); nothing submitted" >&2; exit 2; }
[ -n "$stages" ] || stages=$(paste -sd, <<< "$plan")
[ "$dry" = 1 ] || mkdir -p "$work/logs"
submitted=()
cancel_submitted() {
  [ ${#submitted[@]} -eq 0 ] || scancel "${submitted[@]}" 2>/dev/null || true
}
prev=$after
[ "$dry" = 1 ] || : > "$work/jobs.txt"
for stage in ${stages//,/ }; do
  script=$here/$stage.sbatch
  args=()
  if [ ! -f "$script" ]; then
    script=$here/stage.sbatch
    args=("$stage")
  fi
  var=MELON_SBATCH_$(echo "$stage" | tr 'a-z-' 'A-Z_')
  # shellcheck disable=SC2206
  opts=(--parsable --job-name="melon-$stage" --output="$work/logs/%x-%j.out" --error="$work/logs/%x-%j.err"
    --export=ALL,MELON_SRC="$MELON_SRC",MELON="$MELON" $sbatch_args ${!var:-})
  [ -n "$prev" ] && opts+=(--dependency="afterok:$prev" --kill-on-invalid-dep=yes)
  cmd=(sbatch "${opts[@]}" "$script" "${args[@]}" "$job" "$data" "$work")
  if [ "$dry" = 1 ]; then
    echo "${cmd[*]}"
    prev="<$stage>"
    continue
  fi
  if ! out=$("${cmd[@]}"); then
    echo "submit: sbatch failed for stage $stage; cancelling the stages already submitted" >&2
    cancel_submitted
    exit 1
  fi
  id=${out%%;*}
  submitted+=("$id")
  prev=$id
  echo "$stage $id" | tee -a "$work/jobs.txt"
done
[ "$dry" = 1 ] || [ ${#submitted[@]} -gt 0 ] || { echo "submit: no stage to submit" >&2; exit 2; }
