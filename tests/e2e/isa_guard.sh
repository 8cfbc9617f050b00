#!/usr/bin/env bash
# A build for this CPU (-march=native, the default) started on an older x86-64
# CPU, emulated by qemu-user, as on the older nodes of a mixed cluster: it must
# refuse before any other code runs, naming the node, the missing extensions
# and the remedy, and exit 2 (before the check: SIGILL in static
# initialisation, "Illegal instruction"); as one rank of a job it must bring
# the job down at once. A portable build (MELON_NATIVE=OFF) must run there.
# ASan's runtime does not start under qemu-user, so on the sanitizer build
# melon_isa_probe (built as melon is: the same flags, the same check, MPI)
# stands for melon; other builds check melon itself as well.
# SKIPs (exit 77) off x86-64 and where qemu-x86_64 (Debian: qemu-user) is missing.
source "$(dirname "$0")/lib.sh"
isa_older_cpu
target=$ISA_TARGET cpu=$ISA_CPU lacks=$ISA_LACKS
echo "the build targets: ${target:-plain x86-64} (${MELON_BUILD_TYPE:-?})"

# refused NAME RANKTAG RAN CMD...: exit 2 through the check, its message
# complete, nothing in the output matching RAN.
refused() {
  local name=$1 tag=$2 ran=$3; shift 3
  local rc=0
  timeout 120 "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  [ "$rc" -ne 124 ] || fail "$name: still running after 120 s"
  isa_refused "$name" "$tag" "$ran"
  [ "$rc" -eq 2 ] || { cat "$WORK/err2.txt" >&2; fail "$name: exit $rc, expected 2"; }
  echo "ok  $name: $(grep -m1 'cannot run' "$WORK/err2.txt" | cut -c1-150)..."
}

# melon is built with the probe's flags: hostinfo names the same target.
"$MELON" hostinfo >"$WORK/hostinfo.txt" 2>&1 || { cat "$WORK/hostinfo.txt" >&2; fail "melon hostinfo"; }
grep -qF "needs ${target:-plain x86-64}; every rank's CPU has them" "$WORK/hostinfo.txt" ||
  { cat "$WORK/hostinfo.txt" >&2; fail "melon hostinfo does not name the target the probe reports"; }
echo "ok  melon hostinfo: $(grep 'needs' "$WORK/hostinfo.txt" | cut -c1-120)..."

EMU=(qemu-x86_64 -cpu "$cpu")
if [ -z "$lacks" ]; then
  rc=0
  timeout 120 "${EMU[@]}" "$MELON_ISA_PROBE" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  [ "$rc" -eq 0 ] && grep -q "passed the barrier" "$WORK/out.txt" || { cat "$WORK/err.txt" >&2; fail "a portable build: exit $rc on $cpu"; }
  echo "ok  a portable build runs on QEMU's $cpu"
  if [ "${MELON_BUILD_TYPE:-}" != Sanitize ]; then
    rc=0
    timeout 120 "${EMU[@]}" "$MELON" --help >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
    [ "$rc" -eq 0 ] && grep -q "usage: melon" "$WORK/out.txt" || { cat "$WORK/err.txt" >&2; fail "melon --help, a portable build: exit $rc on $cpu"; }
    echo "ok  melon --help, a portable build, runs on QEMU's $cpu"
  fi
  exit 0
fi

refused "the probe alone on $cpu" "" "static initialisation ran\|passed the barrier" "${EMU[@]}" "$MELON_ISA_PROBE"
# One rank on the older node, one on this one: the native rank waits in
# MPI_Init and its barrier for a rank that never comes; the refusal (exit 2
# before MPI_Init) must end the whole job before either passes the barrier.
start=$(date +%s)
refused "a job whose rank 1 runs on $cpu" " r1" "passed the barrier" "$MPIRUN" "${MPIFLAGS[@]}" -np 1 "$MELON_ISA_PROBE" : -np 1 "${EMU[@]}" "$MELON_ISA_PROBE"
echo "    the job ended $(( $(date +%s) - start )) s after it started"

if [ "${MELON_BUILD_TYPE:-}" = Sanitize ]; then
  echo "melon itself not run under QEMU: a sanitizer build (ASan's runtime does not start under qemu-user)"
  exit 0
fi
refused "melon --help on $cpu" "" "usage: melon" "${EMU[@]}" "$MELON" --help
refused "melon hostinfo, rank 1 on $cpu" " r1" "^rank \|hostinfo: " "$MPIRUN" "${MPIFLAGS[@]}" -np 1 "$MELON" hostinfo : -np 1 "${EMU[@]}" "$MELON" hostinfo
