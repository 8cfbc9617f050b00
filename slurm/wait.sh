#!/usr/bin/env bash
# Waits (bounded) for a chain submitted by slurm/submit.sh to end, then prints
# one line per stage: "<stage> <jobid> <STATE> exit=<code:signal> <reason>".
#
#   slurm/wait.sh [--timeout SECS] WORK        (reads WORK/jobs.txt)
#   slurm/wait.sh [--timeout SECS] JOBID...
#
# Exit status: 0 when every job COMPLETED, 1 when one did not (FAILED,
# CANCELLED, TIMEOUT, ...), 124 when the timeout (default 600 s) passed first.
# Uses scontrol (no accounting needed); a job that Slurm has already purged
# (older than MinJobAge) shows as GONE and counts as not completed.
set -euo pipefail
timeout=600
if [ "${1:-}" = --timeout ]; then timeout=$2; shift 2; fi
case "${1:-}" in --timeout=*) timeout=${1#*=}; shift ;; esac
[ $# -ge 1 ] || { echo "usage: $0 [--timeout SECS] WORK | JOBID..." >&2; exit 2; }
names=() ids=()
if [ $# -eq 1 ] && [ -f "$1/jobs.txt" ]; then
  while read -r stage id; do names+=("$stage"); ids+=("$id"); done < "$1/jobs.txt"
else
  for id in "$@"; do names+=("job"); ids+=("$id"); done
fi
[ ${#ids[@]} -gt 0 ] || { echo "wait: no jobs" >&2; exit 2; }

# field VAR RECORD NAME: VAR = the value of NAME= in a one-line scontrol record.
# Shell builtins only: with tr, sed and head per field, polling nine pending
# jobs for 3.5 s started 323 processes (60 now), on the login node it polls
# from, for as long as the chain runs.
field() {
  local rec=" $2 " val=""
  case "$rec" in *" $3="*) val=${rec#* "$3"=} val=${val%% *} ;; esac
  printf -v "$1" '%s' "$val"
}
final() {
  case "$1" in
    COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|GONE) return 0 ;;
    *) return 1 ;;
  esac
}

deadline=$((SECONDS + timeout))
states=() lines=()
while :; do
  all_final=1
  for i in "${!ids[@]}"; do
    # A job in a final state stays in it: asked once, not every second.
    if [ -n "${states[$i]:-}" ] && final "${states[$i]}"; then continue; fi
    rec=$(scontrol show job -o "${ids[$i]}" 2>/dev/null || true)
    if [ -z "$rec" ]; then
      st=GONE ec='?' reason=purged
    else
      field st "$rec" JobState
      field ec "$rec" ExitCode
      field reason "$rec" Reason
    fi
    states[$i]=$st
    lines[$i]="${names[$i]} ${ids[$i]} $st exit=$ec reason=$reason"
    final "$st" || all_final=0
  done
  [ $all_final = 1 ] && break
  if [ $SECONDS -ge $deadline ]; then
    printf '%s\n' "${lines[@]}"
    echo "wait: timeout after ${timeout} s" >&2
    exit 124
  fi
  sleep 1
done
printf '%s\n' "${lines[@]}"
for st in "${states[@]}"; do [ "$st" = COMPLETED ] || exit 1; done
exit 0
