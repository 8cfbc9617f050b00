# Shared by the slurm/*.sbatch scripts (sourced from $MELON_SRC/slurm/common.sh;
# sbatch runs a copy of the script, so the scripts find this file through
# MELON_SRC, which slurm/submit.sh exports into the job).
#
# melon_stage STAGE JOB DATA WORK [EXTRA MELON ARGS...] runs one stage of the
# job's plan: `melon plan --config JOB --data DATA --work WORK --stage STAGE`
# prints its command lines (the ones `melon pipeline` runs; the stages and the
# work-folder layout are defined once, in src/plan/plan.cpp) and each becomes
# a job step:
#   srun --mpi=pmix $MELON <command line> [EXTRA...]
# MELON_LAUNCHER=mpirun uses `mpirun -np $SLURM_NTASKS` inside the allocation
# instead (for sites without Slurm's PMIx plugin; Open MPI's mpirun reads the
# allocation from Slurm; as root it gets --allow-run-as-root). Extra launcher
# flags: MELON_SRUN_FLAGS / MELON_MPIRUN_FLAGS (split on spaces).
#
# The job file is data: this shell reads only what `melon plan` prints (and
# slurm/submit.sh reads [pipeline] data/work with ini_get, awk), never sources
# it; melon itself reads the rest through --config.
#
# Time limits and preemption: the scripts ask for `--signal=B:USR1@SECS`, so
# this batch shell gets SIGUSR1 some minutes before the limit. The payload runs
# as `launcher ... & wait $!` (bash runs a trap only once `wait` returns, so the
# wait is repeated until the step really ended). What happens depends on the
# stage's "on-stop" in the plan:
#   checkpoint (train)  USR1 is forwarded to the step; melon train checkpoints
#          and exits 0; the job then requeues itself (scontrol requeue) and the
#          rerun continues from the newest valid checkpoint (train always runs
#          with --resume=auto; damaged checkpoints are set aside as *.bad), or
#          from scratch when there is none (a node failure before the first one).
#   kill (pca, rerank)  pca saves its state after every pass but does not catch signals:
#          the step is stopped (SIGTERM) and the job requeued; the rerun gets
#          the plan's rerun arguments (--resume) and resumes from the last
#          finished pass. rerank likewise, run again from the start (it
#          saves nothing midway; its answers do not depend on the interruption).
#   finish (the others: short and restartable)  USR1 is logged and ignored.
# SIGTERM (scancel, preemption by the site) is forwarded to the step and the
# job ends with the step's exit code, or 143 when the step exited 0 (train
# checkpoints on SIGTERM too); no self-requeue: a cancelled job stays
# cancelled. A failed step fails the job with its exit code, and with
# DependencyParameters=kill_invalid_depend the later stages are cancelled.
#
# melon train's exit status after a stop signal (README "Failure behaviour";
# tests/e2e/train_signals.sh, slurm_signals.sh): SIGTERM, SIGINT or SIGUSR1
# that reaches the melon processes -> checkpoint at the next step boundary,
# exit 0. That covers a single process, scancel and Slurm's own SIGTERM
# (preemption, time limit: KillWait seconds before SIGKILL) to the tasks, and
# SIGUSR1 to srun or mpirun (both forward it). The launchers' own handling of
# their SIGTERM/SIGINT differs: SIGTERM to srun makes srun SIGKILL the tasks
# (exit 137, no new checkpoint); SIGTERM or SIGINT to mpirun makes mpirun
# exit 1 whatever the ranks do (Open MPI 4.1), after sending them SIGTERM
# and, odls_base_sigkill_timeout (1 s) later, SIGKILL. So inside a job, send
# SIGUSR1 (this script does); no case leaves a damaged checkpoint.
#
# Environment: MELON (binary; default $MELON_SRC/build/melon), MELON_RESUME=1
# (pass the rerun arguments even on a first run: after a manual resubmit).

MELON_SRC=${MELON_SRC:?MELON_SRC must point at the melon source tree (slurm/submit.sh exports it)}
MELON=${MELON:-$MELON_SRC/build/melon}
MELON_LAUNCHER=${MELON_LAUNCHER:-srun}

# Log lines go to the job's output file even while a step's stdout is redirected.
mlog() { echo "melon-slurm: $(date '+%F %T') job ${SLURM_JOB_ID:-?} $*" >&"${_mlog_fd:-1}"; }
merr() { echo "melon-slurm: $(date '+%F %T') job ${SLURM_JOB_ID:-?} error: $*" >&2; }

# ini_get FILE SECTION KEY: the value of KEY in [SECTION], else at the top of
# FILE (before any section); status 1 when neither has it. The same reading
# rules as melon's own: '#'/';' comment lines, first '=' splits, " #" starts
# an inline comment.
ini_get() {
  awk -v want="$2" -v key="$3" '
    function trim(s) { sub(/^[ \t\r]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
    { t = trim($0) }
    t == "" || t ~ /^[#;]/ { next }
    t ~ /^\[/ { sec = trim(substr(t, 2, length(t) - 2)); next }
    {
      eq = index(t, "="); if (!eq) next
      k = trim(substr(t, 1, eq - 1)); v = trim(substr(t, eq + 1))
      h = index(v, " #"); if (h) v = trim(substr(v, 1, h - 1))
      if (k != key) next
      if (sec == want) { sv = v; sf = 1 } else if (sec == "") { tv = v; tf = 1 }
    }
    END { if (sf) { print sv; exit 0 } if (tf) { print tv; exit 0 } exit 1 }' "$1"
}
_step_pid=
_on_stop=finish
_got_usr1=0
_got_term=0
_stage=

_on_usr1() {
  _got_usr1=1
  if [ "$_on_stop" = checkpoint ]; then
    mlog "SIGUSR1 (time limit or preemption near): forwarding SIGUSR1 to the $_stage step to checkpoint and stop"
    [ -n "$_step_pid" ] && kill -USR1 "$_step_pid" 2>/dev/null
  elif [ "$_on_stop" = kill ]; then
    mlog "SIGUSR1 (time limit or preemption near): stopping the $_stage step; the rerun resumes from its last saved state"
    [ -n "$_step_pid" ] && kill -TERM "$_step_pid" 2>/dev/null
  else
    mlog "SIGUSR1: stage $_stage does not checkpoint; letting it run"
  fi
  return 0
}

_on_term() {
  _got_term=1
  mlog "SIGTERM: forwarding to the $_stage step"
  [ -n "$_step_pid" ] && kill -TERM "$_step_pid" 2>/dev/null
  return 0
}

# launch ARGS...: one job step running `melon ARGS...` on all the job's tasks
# (MELON_STEP_TASKS overrides the count); returns the step's exit code.
launch() {
  local rc=0 ntasks=${MELON_STEP_TASKS:-${SLURM_NTASKS:-1}}
  local -a cmd
  case "$MELON_LAUNCHER" in
    srun)
      # shellcheck disable=SC2206
      cmd=(srun --mpi=pmix --ntasks="$ntasks" --kill-on-bad-exit=1 ${MELON_SRUN_FLAGS:-} "$MELON" "$@")
      ;;
    mpirun)
      cmd=(mpirun -np "$ntasks")
      [ "$(id -u)" -eq 0 ] && cmd+=(--allow-run-as-root)
      # shellcheck disable=SC2206
      cmd+=(${MELON_MPIRUN_FLAGS:-} "$MELON" "$@")
      ;;
    *)
      merr "MELON_LAUNCHER must be srun or mpirun, got '$MELON_LAUNCHER'"
      return 2
      ;;
  esac
  mlog "step: ${cmd[*]}"
  "${cmd[@]}" < /dev/null &
  _step_pid=$!
  # wait returns early (status > 128) when a trapped signal arrives; wait again
  # until the step has really ended, then we have its own exit code.
  while :; do
    wait "$_step_pid" && rc=0 || rc=$?
    [ "$rc" -gt 128 ] && kill -0 "$_step_pid" 2>/dev/null && continue
    break
  done
  _step_pid=
  return "$rc"
}

# step ARGS...: launch, and end the job at once when the step fails (or when
# the job is being cancelled).
step() {
  local rc=0
  if [ "$_got_usr1" = 1 ] && [ "$_on_stop" != finish ]; then
    mlog "SIGUSR1 came before this step started: not starting it"
  else
    launch "$@" || rc=$?
  fi
  if [ "$_got_term" = 1 ]; then
    mlog "stage $_stage stopped by SIGTERM (step exit code $rc)"
    exit $((rc ? rc : 143))
  fi
  if [ "$_got_usr1" = 1 ] && [ "$_on_stop" != finish ]; then
    if [ "$rc" -ne 0 ] && [ "$_on_stop" = checkpoint ]; then
      merr "stage $_stage exited with code $rc after SIGUSR1 (no clean checkpoint): not requeued"
      exit "$rc"
    fi
    mlog "stage $_stage stopped after SIGUSR1 (exit code $rc): requeueing job $SLURM_JOB_ID to resume" \
      "(this was run $((${SLURM_RESTART_COUNT:-0} + 1)))"
    if scontrol requeue "$SLURM_JOB_ID"; then
      # Slurm now ends this run and queues the job again (held ~2 min, BeginTime).
      exit 0
    fi
    merr "scontrol requeue $SLURM_JOB_ID failed: the stage is not finished; resubmit with MELON_RESUME=1"
    exit 75
  fi
  if [ "$rc" -ne 0 ]; then
    merr "stage $_stage: melon ${1:-} failed with exit code $rc (details above in this file)"
    exit "$rc"
  fi
}

# melon_stage STAGE JOB DATA WORK [EXTRA...]
# The stage's command lines come from the plan (`melon plan --stage STAGE`,
# src/plan/plan.cpp): the same ones `melon pipeline` runs, one job step each;
# EXTRA is appended to each. A name the plan does not have runs as
# `melon STAGE --config JOB [EXTRA...]` (validate, hostinfo, ...).
melon_stage() {
  _stage=$1
  local job=$2 data=$3 work=$4
  shift 4
  local -a extra=("$@") run=() rerun=()
  local tasks= line lines restarts=${SLURM_RESTART_COUNT:-0} n=0
  trap _on_usr1 USR1
  trap _on_term TERM
  exec {_mlog_fd}>&1
  [ -f "$job" ] || { merr "job file $job not found"; exit 2; }
  [ -x "$MELON" ] || { merr "melon binary $MELON not found (build it, or set MELON)"; exit 2; }
  mkdir -p "$work" || exit 2
  mlog "stage $_stage: start (SLURM_RESTART_COUNT=$restarts) on ${SLURM_JOB_NODELIST:-?}," \
    "${SLURM_NTASKS:-1} task(s), launcher $MELON_LAUNCHER; job file $job, data $data, work $work"
  _on_stop=finish
  lines=$(melon_plan "$job" "$data" "$work" --stage "$_stage") || { merr "stage $_stage: melon plan failed"; exit 2; }
  if [ "$lines" = not-in-plan ]; then
    step "$_stage" --config "$job" "${extra[@]}"
    mlog "stage $_stage: done"
    exit 0
  fi
  # Read whole first: a step must not share this loop's stdin (srun forwards
  # its stdin to the tasks and would swallow the lines after its own).
  local -a plan_lines
  mapfile -t plan_lines < <(printf '%s\n\n' "$lines")  # $(...) dropped the final empty line
  for line in "${plan_lines[@]}"; do
    case "$line" in
      "on-stop "*) _on_stop=${line#on-stop } ;;
      "rerun-arg "*) rerun+=("${line#rerun-arg }") ;;
      "skip "*) mlog "stage $_stage: nothing to do: ${line#skip }" ;;
      "run all" | "run one") tasks=${line#run }; run=() ;;
      "")
        [ -n "$tasks" ] || continue
        if [ "$restarts" -gt 0 ] || [ "${MELON_RESUME:-0}" = 1 ]; then
          [ ${#rerun[@]} -eq 0 ] || mlog "stage $_stage: rerun $restarts: passing ${rerun[*]}"
          run+=("${rerun[@]}")
        fi
        if [ "$tasks" = one ]; then MELON_STEP_TASKS=1 step "${run[@]}" "${extra[@]}"; else step "${run[@]}" "${extra[@]}"; fi
        n=$((n + 1))
        tasks=
        ;;
      *) run+=("$line") ;;
    esac
  done
  mlog "stage $_stage: done ($n step(s))"
  exit 0
}

# melon_plan JOB DATA WORK [ARGS...]: `melon plan` for this job (one process,
# no MPI launcher: it reads the job file and the data folder's marker only).
melon_plan() {
  local job=$1 data=$2 work=$3
  shift 3
  "$MELON" plan --config "$job" --data "$data" --work "$work" "$@" < /dev/null
}

