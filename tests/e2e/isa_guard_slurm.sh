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
[ "$(uname -m)" = x86_64 ] || { echo "SKIP: the CPU check is for x86-64, this is $(uname -m)"; exit 77; }
command -v qemu-x86_64 >/dev/null || { echo "SKIP: qemu-x86_64 (Debian: qemu-user) is not installed"; exit 77; }
: "${MELON_ISA_PROBE:?set MELON_ISA_PROBE to tests/melon_isa_probe}"
target=$("$MELON_ISA_PROBE" --target)
case " $target " in
  *" avx512f "*) cpu=Haswell lacks=avx512f ;;
  *" ssse3 "*) cpu=qemu64 lacks=ssse3 ;;
  *) echo "SKIP: a portable build (it targets plain x86-64): no CPU to refuse"; exit 77 ;;
esac
start_local_slurm 6
HOST=$(hostname)

# step NAME RAN PROGRAM...: a two-task step, task 1 on the emulated CPU.
step() {
  local name=$1 ran=$2; shift 2
  printf '0 %s\n1 qemu-x86_64 -cpu %s %s\n' "$*" "$cpu" "$*" >"$WORK/tasks.conf"
  local rc=0 start=$SECONDS
  timeout 60 srun --mpi=pmix --ntasks=2 --multi-prog "$WORK/tasks.conf" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  local took=$((SECONDS - start))
  grep -v '^qemu-x86_64: warning' "$WORK/err.txt" >"$WORK/err2.txt" || true
  [ "$rc" -ne 124 ] || { cat "$WORK/err2.txt" >&2; fail "$name: the step still ran after 60 s"; }
  [ "$rc" -ne 0 ] || fail "$name: exit 0"
  for frag in "[melon r1] melon cannot run on $HOST:" " $lacks" "-DMELON_NATIVE=OFF"; do
    grep -qF -- "$frag" "$WORK/err2.txt" || { cat "$WORK/err2.txt" >&2; fail "$name: no '$frag' in the output"; }
  done
  if grep -q "$ran" "$WORK/out.txt" "$WORK/err2.txt"; then
    cat "$WORK/out.txt" "$WORK/err2.txt" >&2
    fail "$name: a task ran past MPI_Init"
  fi
  echo "ok  $name: exit $rc after ${took} s; $(grep -m1 'cannot run' "$WORK/err2.txt" | cut -c1-100)..."
}

step "srun, task 1 of the probe on $cpu" "passed the barrier" "$MELON_ISA_PROBE"
if [ "${MELON_BUILD_TYPE:-}" = Sanitize ]; then
  echo "melon itself not run under QEMU: a sanitizer build (ASan's runtime does not start under qemu-user)"
  exit 0
fi
step "srun, task 1 of melon hostinfo on $cpu" "^rank \|hostinfo: " "$MELON" hostinfo
