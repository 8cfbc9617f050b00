# Shared helpers for the end-to-end scripts (sourced, not a test itself).
set -euo pipefail
: "${MELON:?set MELON to the melon binary}"
: "${MELON_SRC:?set MELON_SRC to the repository root}"
MPIRUN=${MPIRUN:-mpirun}
MPIFLAGS=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIFLAGS+=(--allow-run-as-root)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/melon-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_error NAME FRAGMENT CMD...: the command must exit non-zero through
# melon's own error path (exit 1-3, not a signal or sanitizer abort), print
# FRAGMENT in its error output, and leave no *.tmp.* files in $WORK.
expect_error() {
  local name=$1 frag=$2; shift 2
  local rc=0
  "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  [ "$rc" -ne 0 ] || fail "$name: exit 0, expected an error"
  [ "$rc" -le 3 ] || { cat "$WORK/err.txt" >&2; fail "$name: exit $rc (crash or signal?)"; }
  grep -q "AddressSanitizer\|runtime error" "$WORK/err.txt" && { cat "$WORK/err.txt" >&2; fail "$name: sanitizer report"; }
  grep -qF -- "$frag" "$WORK/err.txt" || { cat "$WORK/err.txt" >&2; fail "$name: message lacks '$frag'"; }
  local left
  left=$(find "$WORK" -name '*.tmp.*' -print -quit)
  [ -z "$left" ] || fail "$name: left a temporary file behind: $left"
  echo "ok  $name: $(grep -m1 'error' "$WORK/err.txt" | cut -c1-160)"
}

# start_local_slurm OFFSET: a private single-node Slurm (tools/cluster/slurm-local.sh)
# for this test, its state under $WORK/slurm, on a free port pair from
# 20000 + OFFSET in steps of 8 (tests that run at once get different
# offsets), stopped on exit. SKIPs the test (exit 77, CTest's SKIP) unless run as root, which
# munged, slurmctld and slurmd need.
start_local_slurm() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the local Slurm (munged, slurmctld, slurmd) needs root"
    exit 77
  fi
  chmod 755 "$WORK"  # munged wants the folders above its socket searchable
  export MELON_SLURM_DIR=$WORK/slurm
  local port=$((20000 + $1 + ($$ % 1000) * 8))
  while ss -Hltn "sport = :$port or sport = :$((port + 1))" | grep -q .; do port=$((port + 8)); done
  export MELON_SLURM_PORT=$port
  export SLURM_CONF=$MELON_SLURM_DIR/slurm.conf
  trap '"$MELON_SRC/tools/cluster/slurm-local.sh" stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  "$MELON_SRC/tools/cluster/slurm-local.sh" start
}

# The CPU check's tests (isa_guard*.sh). isa_older_cpu SKIPs off x86-64 and
# without qemu-x86_64, then sets ISA_TARGET (what the build targets, as
# melon_isa_probe reports it), ISA_CPU (a QEMU CPU model without part of it:
# an AVX2 one against a build that uses AVX-512, else QEMU's baseline x86-64,
# SSE3 only) and ISA_LACKS (one extension ISA_CPU lacks; empty for a portable
# build).
isa_older_cpu() {
  [ "$(uname -m)" = x86_64 ] || { echo "SKIP: the CPU check is for x86-64, this is $(uname -m)"; exit 77; }
  command -v qemu-x86_64 >/dev/null || { echo "SKIP: qemu-x86_64 (Debian: qemu-user) is not installed"; exit 77; }
  : "${MELON_ISA_PROBE:?set MELON_ISA_PROBE to tests/melon_isa_probe}"
  ISA_TARGET=$("$MELON_ISA_PROBE" --target)
  case " $ISA_TARGET " in
    *" avx512f "*) ISA_CPU=Haswell ISA_LACKS=avx512f ;;
    *" ssse3 "*) ISA_CPU=qemu64 ISA_LACKS=ssse3 ;;
    *) ISA_CPU=qemu64 ISA_LACKS= ;;
  esac
}

# isa_refused NAME TAG RAN: the output of a refused run ($WORK/out.txt,
# $WORK/err.txt) holds the refusal ("[melon<TAG>] melon cannot run on
# <host>:", ISA_LACKS, the remedy) and nothing matching RAN (what the program
# prints once it runs). QEMU's warnings are dropped into $WORK/err2.txt.
isa_refused() {
  local name=$1 tag=$2 ran=$3 frag
  grep -v '^qemu-x86_64: warning' "$WORK/err.txt" >"$WORK/err2.txt" || true
  grep -q "Illegal instruction\|signal 4" "$WORK/err2.txt" && { cat "$WORK/err2.txt" >&2; fail "$name: died of SIGILL"; }
  for frag in "[melon$tag] melon cannot run on $(hostname):" " $ISA_LACKS" "-DMELON_NATIVE=OFF"; do
    grep -qF -- "$frag" "$WORK/err2.txt" || { cat "$WORK/err2.txt" >&2; fail "$name: no '$frag' in the output"; }
  done
  if grep -q "$ran" "$WORK/out.txt" "$WORK/err2.txt"; then
    cat "$WORK/out.txt" "$WORK/err2.txt" >&2
    fail "$name: the program ran past the check"
  fi
}

# expect_queue_empty: no job pending or running, once the jobs that just
# ended have left the queue (Slurm lists a job as completing, CG, for a
# moment after its last step: a single squeue there failed e2e_slurm_signals
# once). Bounded: 10 s.
expect_queue_empty() {
  local _
  for _ in $(seq 50); do
    [ -z "$(squeue -h)" ] && return 0
    sleep 0.2
  done
  squeue
  fail "jobs left in the queue"
}
