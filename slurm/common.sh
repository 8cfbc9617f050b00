# Shared by the slurm/*.sbatch scripts (sourced from $MELON_SRC/slurm/common.sh;
# sbatch runs a copy of the script, so the scripts find this file through
# MELON_SRC, which slurm/submit.sh exports into the job).
#
# melon_stage STAGE JOB DATA WORK [EXTRA MELON ARGS...] runs one stage of the
# chain as job steps:
#   srun --mpi=pmix $MELON STAGE --config JOB <paths that link the stages> [EXTRA...]
# MELON_LAUNCHER=mpirun uses `mpirun -np $SLURM_NTASKS` inside the allocation
# instead (for sites without Slurm's PMIx plugin; Open MPI's mpirun reads the
# allocation from Slurm; as root it gets --allow-run-as-root). Extra launcher
# flags: MELON_SRUN_FLAGS / MELON_MPIRUN_FLAGS (split on spaces).
#
# The job file is data: values are read with ini_get (awk), never sourced, and
# melon itself reads the rest through --config. A path is given on the command
# line (where it beats the job file) only where it links stages together
# (split --out, baseline --out, pca --out, train --pca when WORK/pca.h5 exists,
# --checkpoint-dir, predict --out), or as a default when the job file does not
# set that key itself.
#
# Time limits and preemption: the scripts ask for `--signal=B:USR1@SECS`, so
# this batch shell gets SIGUSR1 some minutes before the limit. The payload runs
# as `launcher ... & wait $!` (bash runs a trap only once `wait` returns, so the
# wait is repeated until the step really ended):
#   train  USR1 is forwarded to the step; melon train checkpoints and exits 0;
#          the job then requeues itself (scontrol requeue) and the rerun gets
#          --resume=auto (SLURM_RESTART_COUNT > 0), continuing from the newest
#          valid checkpoint (damaged ones are set aside as *.bad), or from
#          scratch when there is none (a node failure before the first one).
#   pca    it saves its state after every pass but does not catch signals: the
#          step is stopped (SIGTERM) and the job requeued; the rerun resumes
#          from the last finished pass.
#   others are short and restartable: USR1 is logged and ignored.
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
# Environment: MELON (binary; default $MELON_SRC/build/melon), MELON_METHODS
# (baseline methods, default: job file [pipeline] methods, else most-popular),
# MELON_SIGNAL_STAGES (stages that checkpoint on SIGUSR1; default "train"),
# MELON_KILL_RESUME_STAGES (stopped and resumed from their own state; "pca"),
# MELON_RESUME=1 (pass --resume even on a first run: after a manual resubmit).

MELON_SRC=${MELON_SRC:?MELON_SRC must point at the melon source tree (slurm/submit.sh exports it)}
MELON=${MELON:-$MELON_SRC/build/melon}
MELON_LAUNCHER=${MELON_LAUNCHER:-srun}
MELON_SIGNAL_STAGES=${MELON_SIGNAL_STAGES:-train}
MELON_KILL_RESUME_STAGES=${MELON_KILL_RESUME_STAGES:-pca}

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
ini_has() { ini_get "$@" >/dev/null; }

in_list() {  # in_list WORD "LIST OF WORDS"
  case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

_step_pid=
_got_usr1=0
_got_term=0
_stage=

_on_usr1() {
  _got_usr1=1
  if in_list "$_stage" "$MELON_SIGNAL_STAGES"; then
    mlog "SIGUSR1 (time limit or preemption near): forwarding SIGUSR1 to the $_stage step to checkpoint and stop"
    [ -n "$_step_pid" ] && kill -USR1 "$_step_pid" 2>/dev/null
  elif in_list "$_stage" "$MELON_KILL_RESUME_STAGES"; then
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
  "${cmd[@]}" &
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
  if [ "$_got_usr1" = 1 ] && in_list "$_stage" "$MELON_SIGNAL_STAGES $MELON_KILL_RESUME_STAGES"; then
    mlog "SIGUSR1 came before this step started: not starting it"
  else
    launch "$@" || rc=$?
  fi
  if [ "$_got_term" = 1 ]; then
    mlog "stage $_stage stopped by SIGTERM (step exit code $rc)"
    exit $((rc ? rc : 143))
  fi
  if [ "$_got_usr1" = 1 ] && in_list "$_stage" "$MELON_SIGNAL_STAGES $MELON_KILL_RESUME_STAGES"; then
    if [ "$rc" -ne 0 ] && in_list "$_stage" "$MELON_SIGNAL_STAGES"; then
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
melon_stage() {
  _stage=$1
  local job=$2 data=$3 work=$4
  shift 4
  local -a extra=("$@") base r
  trap _on_usr1 USR1
  trap _on_term TERM
  exec {_mlog_fd}>&1
  [ -f "$job" ] || { merr "job file $job not found"; exit 2; }
  [ -x "$MELON" ] || { merr "melon binary $MELON not found (build it, or set MELON)"; exit 2; }
  mkdir -p "$work" || exit 2
  local restarts=${SLURM_RESTART_COUNT:-0}
  mlog "stage $_stage: start (SLURM_RESTART_COUNT=$restarts) on ${SLURM_JOB_NODELIST:-?}," \
    "${SLURM_NTASKS:-1} task(s), launcher $MELON_LAUNCHER; job file $job, data $data, work $work"
  local -a resume=()
  if [ "$restarts" -gt 0 ] || [ "${MELON_RESUME:-0}" = 1 ]; then
    if in_list "$_stage" "$MELON_SIGNAL_STAGES $MELON_KILL_RESUME_STAGES"; then
      # train: resume when a valid checkpoint exists, else start (a bare
      # --resume is an error when there is none).
      if [ "$_stage" = train ]; then resume=(--resume=auto); else resume=(--resume); fi
      mlog "stage $_stage: rerun $restarts: passing ${resume[*]}"
    fi
  fi
  base=(--config "$job")
  local split=$work/split
  case "$_stage" in
    generate)
      # Only a completion marker makes a folder a dataset: train.json alone
      # may be a generate that died half-way, or real data never validated
      # (which a new generate must not overwrite).
      if [ -f "$data/melon-dataset.done" ]; then
        mlog "stage generate: $data/melon-dataset.done exists: nothing to do"
      elif [ -e "$data/train.json" ]; then
        merr "stage generate: $data has train.json but no completion marker (melon-dataset.done): a generate that" \
          "stopped half-way, or real data not yet checked; run 'melon validate --data $data --mark' for real data," \
          "or remove the folder to generate it again"
        exit 2
      else
        step generate "${base[@]}" --out "$data" "${extra[@]}"
      fi
      ;;
    split)
      local -a a=()
      ini_has "$job" split input || a+=(--input "$data/train.json")
      step split "${base[@]}" "${a[@]}" --out "$split" "${extra[@]}"
      ;;
    baseline)
      local methods=${MELON_METHODS:-$(ini_get "$job" pipeline methods || echo most-popular)}
      local m
      for m in ${methods//,/ }; do
        local -a a=()
        ini_has "$job" baseline train || a+=(--train "$split/orig/train.json")
        ini_has "$job" baseline questions || a+=(--questions "$split/questions/val.json")
        ini_has "$job" baseline song-meta || a+=(--song-meta "$data/song_meta.json")
        step baseline "${base[@]}" --method "$m" "${a[@]}" --out "$work/results-$m.json" "${extra[@]}"
      done
      ;;
    pca)
      local -a a=()
      ini_has "$job" pca mel-dir || ini_has "$job" pca mel-source || a+=(--mel-dir "$data/arena_mel")
      step pca "${base[@]}" "${a[@]}" --out "$work/pca.h5" "${resume[@]}" "${extra[@]}"
      ;;
    train)
      local -a a=()
      ini_has "$job" train train || a+=(--train "$split/orig/train.json")
      ini_has "$job" train questions || a+=(--questions "$split/questions/val.json")
      ini_has "$job" train song-meta || a+=(--song-meta "$data/song_meta.json")
      # The pca stage's output links the stages: it wins over a [train] pca path.
      [ -f "$work/pca.h5" ] && a+=(--pca "$work/pca.h5")
      step train "${base[@]}" "${a[@]}" --checkpoint-dir "$work/checkpoints" "${resume[@]}" "${extra[@]}"
      ;;
    predict)
      local -a a=()
      ini_has "$job" predict questions || a+=(--questions "$split/questions/val.json")
      ini_has "$job" predict song-meta || a+=(--song-meta "$data/song_meta.json")
      step predict "${base[@]}" "${a[@]}" --checkpoint-dir "$work/checkpoints" --out "$work/results.json" "${extra[@]}"
      ;;
    evaluate)
      # Scores every results*.json of the work folder: scores/<name>.json holds
      # `melon evaluate --json`, and the table goes to this job's output file.
      local answers q n=0
      answers=$(ini_get "$job" evaluate answers || echo "$split/answers/val.json")
      q=$(ini_get "$job" evaluate questions || echo "$split/questions/val.json")
      mkdir -p "$work/scores"
      for r in "$work"/results*.json; do
        [ -f "$r" ] || continue
        n=$((n + 1))
        local name
        name=$(basename "$r" .json)
        MELON_STEP_TASKS=1 step evaluate --answers "$answers" --results "$r" --questions "$q" --json \
          "${extra[@]}" > "$work/scores/$name.json.tmp"
        mv "$work/scores/$name.json.tmp" "$work/scores/$name.json"
        mlog "score $name: $(cat "$work/scores/$name.json")"
      done
      [ "$n" -gt 0 ] || { merr "stage evaluate: no results*.json in $work"; exit 2; }
      ;;
    report)
      MELON_STEP_TASKS=1 step report --work "$work" --song-meta "$data/song_meta.json" --out "$work/report.html" "${extra[@]}"
      ;;
    *)
      # Any other melon command: melon STAGE --config JOB [EXTRA...].
      step "$_stage" "${base[@]}" "${resume[@]}" "${extra[@]}"
      ;;
  esac
  mlog "stage $_stage: done"
  exit 0
}
