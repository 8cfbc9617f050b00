#!/usr/bin/env bash
# A real single-node Slurm on this machine (munge + slurmctld + slurmd), for
# trying the slurm/ scripts and for the Slurm end-to-end tests. Needs root; no
# systemd. Everything lives in one state folder this script owns:
#   ${MELON_SLURM_DIR:-/tmp/melon-slurm}/  slurm.conf, munge/ (own key, socket,
#   munged), state/, spool/, tmp/, log/, *.pid
#
#   tools/cluster/slurm-local.sh start    install packages if missing, write slurm.conf,
#                                 start munged, slurmctld (cold: -c -i), slurmd,
#                                 wait until the node is idle; a no-op if running
#   tools/cluster/slurm-local.sh stop     cancel this cluster's jobs, then stop exactly
#                                 the daemons started here (by their PID files)
#   tools/cluster/slurm-local.sh status   daemons, node state, queue
#   tools/cluster/slurm-local.sh env      prints the export line the slurm commands need
#
# The Slurm commands find this cluster through SLURM_CONF:
#   export SLURM_CONF=${MELON_SLURM_DIR:-/tmp/melon-slurm}/slurm.conf
# Environment: MELON_SLURM_DIR (state folder), MELON_SLURM_PORT (slurmctld
# port, default 6817; slurmd uses the next one; job ids start at PORT*100+1 so
# two local clusters on different ports never share a job id), MELON_SLURM_CPUS
# (CPUs declared for the node, default max(4, nproc): tests run 2-3 ranks on
# 2 cores), MELON_SLURM_WAIT (seconds to wait for an idle node, default 60).
# Verified recipe and traps: shared/docs/slurm-local.md.
set -euo pipefail

DIR=${MELON_SLURM_DIR:-/tmp/melon-slurm}
PORT=${MELON_SLURM_PORT:-6817}
WAIT=${MELON_SLURM_WAIT:-60}
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF
MUNGE_SOCKET=$DIR/munge/munge.socket
PKGS=(munge slurmctld slurmd slurm-client slurm-wlm-basic-plugins libpmix-dev)

say() { echo "slurm-local: $*"; }
die() { echo "slurm-local: error: $*" >&2; exit 1; }

# pid_alive PID COMM: PID is a live (not zombie) process named COMM.
pid_alive() {
  local pid=$1 comm=$2 state
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  # The state follows the command name, which is in parentheses and may hold spaces.
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
pid_of() { { tr -dc 0-9 < "$1"; } 2>/dev/null || true; }
# alive PIDFILE COMM: the PID written in PIDFILE is a live COMM process.
alive() { pid_alive "$(pid_of "$1")" "$2"; }

# stop_daemon NAME PIDFILE COMM: TERM, bounded wait, then KILL; only that PID.
stop_daemon() {
  local name=$1 pidfile=$2 comm=$3 pid i
  pid=$(pid_of "$pidfile")
  if ! pid_alive "$pid" "$comm"; then
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    pid_alive "$pid" "$comm" || break
    sleep 0.1
  done
  if pid_alive "$pid" "$comm"; then
    say "$name (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile"
  say "stopped $name (pid $pid)"
}

port_busy() {  # port_busy PORT: something listens on it
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q . 
}

need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (munged, slurmctld and slurmd run as root here); on a real cluster use its Slurm"; }

install_packages() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get"
  say "installing ${missing[*]} (Debian packages)"
  # Post-install scripts try to start the services and are refused without systemd: harmless.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    > "$DIR/log/apt.log" 2>&1 || {
    tail -20 "$DIR/log/apt.log" >&2
    die "apt-get install ${missing[*]} failed (log: $DIR/log/apt.log)"
  }
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=${MELON_SLURM_CPUS:-$(nproc)}
  [ "$cpus" -ge 4 ] || cpus=4
  mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)
  [ -n "$mem" ] || mem=1024
  cat > "$CONF.tmp.$$" <<EOF
# Written by tools/cluster/slurm-local.sh: a single-node cluster for this host only.
ClusterName=melon
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
MpiDefault=pmix
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
DependencyParameters=kill_invalid_depend
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
FirstJobId=$((PORT * 100 + 1))
MinJobAge=600
KillWait=10
InactiveLimit=0
TmpFS=$DIR/tmp
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# More CPUs than cores so tests can run 2-3 ranks on a 2-core machine.
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp.$$" "$CONF"
}

start_munge() {
  if alive "$DIR/munge/munged.pid" munged; then return 0; fi
  mkdir -p "$DIR/munge"
  chmod 755 "$DIR" "$DIR/munge"  # munged: the socket's folders must be searchable by all
  if [ ! -s "$DIR/munge/munge.key" ]; then
    mungekey -c -k "$DIR/munge/munge.key" -b 1024 2>/dev/null ||
      dd if=/dev/urandom of="$DIR/munge/munge.key" bs=128 count=1 status=none
    chmod 600 "$DIR/munge/munge.key"
  fi
  /usr/sbin/munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/munge/munged.pid" --seed-file="$DIR/munge/munged.seed" \
    --log-file="$DIR/log/munged.log" || {
    tail -5 "$DIR/log/munged.log" >&2 || true
    die "munged did not start"
  }
  munge -S "$MUNGE_SOCKET" -n | unmunge -S "$MUNGE_SOCKET" >/dev/null || die "munge -n | unmunge failed"
  say "munged running (pid $(cat "$DIR/munge/munged.pid"), socket $MUNGE_SOCKET)"
}

# wait_for SECONDS CMD...: retry CMD until it succeeds, at most SECONDS.
wait_for() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

ctld_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
queue_empty() { [ -z "$(squeue -h -o %i 2>/dev/null)" ]; }
node_idle() { [ "$(sinfo -h -o %T 2>/dev/null | head -1)" = idle ]; }

start() {
  need_root
  mkdir -p "$DIR/log" "$DIR/state" "$DIR/spool" "$DIR/tmp"
  if alive "$DIR/munge/munged.pid" munged && alive "$DIR/slurmctld.pid" slurmctld &&
    alive "$DIR/slurmd.pid" slurmd && [ -f "$CONF" ]; then
    say "already running ($DIR); export SLURM_CONF=$CONF"
    return 0
  fi
  install_packages
  local fresh=0
  if ! alive "$DIR/slurmctld.pid" slurmctld; then
    fresh=1
    for p in "$PORT" "$((PORT + 1))"; do
      port_busy "$p" && die "port $p is in use (another Slurm?); set MELON_SLURM_PORT to a free port"
    done
    write_conf
  fi
  start_munge
  if [ $fresh = 1 ]; then
    # Cold start: no jobs or reservations inherited from an earlier run.
    slurmctld -c -i || die "slurmctld did not start (log: $DIR/log/slurmctld.log)"
  fi
  if ! wait_for 20 ctld_up; then
    tail -20 "$DIR/log/slurmctld.log" >&2 || true
    die "slurmctld not answering after 20 s (log: $DIR/log/slurmctld.log)"
  fi
  if ! alive "$DIR/slurmd.pid" slurmd; then
    slurmd || die "slurmd did not start (log: $DIR/log/slurmd.log)"
  fi
  if ! wait_for "$WAIT" node_idle; then
    sinfo -N -l >&2 || true
    tail -20 "$DIR/log/slurmd.log" >&2 || true
    die "node not idle after ${WAIT} s (state: '$(sinfo -h -o %T 2>/dev/null | head -1)'; logs in $DIR/log)"
  fi
  say "up: slurmctld pid $(cat "$DIR/slurmctld.pid"), slurmd pid $(cat "$DIR/slurmd.pid"), node $(hostname -s) idle" \
    "($(sinfo -h -o %c | head -1) CPUs); export SLURM_CONF=$CONF"
}

stop() {
  [ -d "$DIR" ] || { say "nothing to stop ($DIR does not exist)"; return 0; }
  if alive "$DIR/slurmctld.pid" slurmctld && [ -f "$CONF" ]; then
    # Jobs first, so no slurmstepd or job processes outlive the daemons.
    local jobs
    mapfile -t jobs < <(squeue -h -o %i 2>/dev/null)
    if [ ${#jobs[@]} -gt 0 ]; then
      scancel --full --quiet "${jobs[@]}" 2>/dev/null || true
      wait_for 15 queue_empty ||
        say "warning: jobs still in the queue after 15 s"
    fi
  fi
  stop_daemon slurmd "$DIR/slurmd.pid" slurmd
  stop_daemon slurmctld "$DIR/slurmctld.pid" slurmctld
  stop_daemon munged "$DIR/munge/munged.pid" munged
}

status() {
  local rc=0 d
  for d in "munged:$DIR/munge/munged.pid" "slurmctld:$DIR/slurmctld.pid" "slurmd:$DIR/slurmd.pid"; do
    if alive "${d#*:}" "${d%%:*}"; then
      echo "${d%%:*}: running (pid $(cat "${d#*:}"))"
    else
      echo "${d%%:*}: not running"
      rc=1
    fi
  done
  if [ $rc = 0 ]; then
    echo "SLURM_CONF=$CONF"
    sinfo -N -o "%N %T %c" || rc=1
    squeue || rc=1
  fi
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *)
    echo "usage: $0 start|stop|status|env   (state folder: $DIR)" >&2
    exit 2
    ;;
esac
