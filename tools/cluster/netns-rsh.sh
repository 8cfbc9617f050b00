#!/bin/sh
# Remote-shell agent for Open MPI across the network namespaces made by
# tools/cluster/netns-hosts.sh: use instead of ssh with
#   mpirun --mca plm_rsh_agent tools/cluster/netns-rsh.sh --host 192.0.2.1,192.0.2.2 ...
# Called as `netns-rsh.sh [ssh-style options] HOST COMMAND...`: HOST is an
# address (or the name) of one of the melon-ws* namespaces; the command runs in
# that namespace: exec ip netns exec NS /bin/sh -c "COMMAND...".
# MELON_NETNS_PREFIX (default melon-ws) limits the search to PREFIX* namespaces.
set -eu
prefix=${MELON_NETNS_PREFIX:-melon-ws}
# Skip ssh-style options that a launcher may put before the host.
while [ $# -gt 0 ]; do
  case "$1" in
    -[lpioF]) shift 2 ;;   # options with an argument
    -*) shift ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "netns-rsh: usage: netns-rsh.sh HOST COMMAND..." >&2; exit 255; }
host=$1
shift
target=
for ns in $(ip netns list | awk '{print $1}'); do
  case "$ns" in "$prefix"*) ;; *) continue ;; esac
  if [ "$ns" = "$host" ] || ip -n "$ns" -o addr show 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | grep -qxF -- "$host"; then
    target=$ns
    break
  fi
done
[ -n "$target" ] || { echo "netns-rsh: no $prefix* network namespace has address '$host' (tools/cluster/netns-hosts.sh up?)" >&2; exit 255; }
exec ip netns exec "$target" /bin/sh -c "$*"
