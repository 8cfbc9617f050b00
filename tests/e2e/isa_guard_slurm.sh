#!/usr/bin/env bash
# The CPU check under Slurm: a two-task srun step whose task 1 runs on an
# older CPU (QEMU's user-mode Haswell against a build that uses AVX-512, or
# its baseline x86-64 against any native build). Plain `srun`, without
# --kill-on-bad-exit (Slurm's default), is the hard case: a task that only
# exits leaves task 0 waiting in MPI_Init for good (measured: still there
# when `timeout 60` ended it). The refusing task joins the job only to
# MPI_Abort it, so the step must end within seconds, exit non-zero, with
# task 1's refusal by name in its output. On the sanitizer build
# melon_isa_probe (built as melon is, see isa_guard.sh) stands for melon.
# SKIPs (exit 77) off x86-64, without qemu-x86_64, without root (the local
# Slurm), and for a portable build (nothing to refuse).
source "$(dirname "$0")/lib.sh"
isa_older_cpu
[ -n "$ISA_LACKS" ] || { echo "SKIP: a portable build (it targets plain x86-64): no CPU to refuse"; exit 77; }
start_local_slurm 6

# step NAME RAN PROGRAM...: a two-task step, task 1 on the emulated CPU.
step() {
  local name=$1 ran=$2; shift 2
  printf '0 %s\n1 qemu-x86_64 -cpu %s %s\n' "$*" "$ISA_CPU" "$*" >"$WORK/tasks.conf"
  local rc=0 start=$SECONDS
  timeout 60 srun --mpi=pmix --ntasks=2 --multi-prog "$WORK/tasks.conf" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  local took=$((SECONDS - start))
  [ "$rc" -ne 124 ] || { cat "$WORK/err.txt" >&2; fail "$name: the step still ran after 60 s"; }
  [ "$rc" -ne 0 ] || fail "$name: exit 0"
  isa_refused "$name" " r1" "$ran"
  echo "ok  $name: exit $rc after ${took} s; $(grep -m1 'cannot run' "$WORK/err2.txt" | cut -c1-100)..."
}

step "srun, task 1 of the probe on $ISA_CPU" "passed the barrier" "$MELON_ISA_PROBE"
if [ "${MELON_BUILD_TYPE:-}" = Sanitize ]; then
  echo "melon itself not run under QEMU: a sanitizer build (ASan's runtime does not start under qemu-user)"
  exit 0
fi
step "srun, task 1 of melon hostinfo on $ISA_CPU" "^rank \|hostinfo: " "$MELON" hostinfo
