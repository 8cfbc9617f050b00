#!/usr/bin/env bash
# Two "workstations" on one machine: two network namespaces joined by a veth
# pair, each with its own address from the documentation range 192.0.2.0/24.
# With tools/cluster/netns-rsh.sh as Open MPI's remote-shell agent, `mpirun --host
# 192.0.2.1,192.0.2.2` then starts one rank in each namespace and the ranks talk
# over TCP between them, as on two real machines (see README.md, "Running on several workstations").
#
#   tools/cluster/netns-hosts.sh up      create PREFIX1 (192.0.2.1) and PREFIX2 (192.0.2.2); no-op if up
#   tools/cluster/netns-hosts.sh down    delete both namespaces (the veth pair goes with them)
#   tools/cluster/netns-hosts.sh status  addresses of each namespace
#
# MELON_NETNS_PREFIX (default melon-ws) names the namespaces PREFIX1 and PREFIX2;
# it must start with "melon-ws" (this script only ever touches such names).
# Needs root (CAP_NET_ADMIN) and iproute2. Launch mpirun from inside PREFIX1:
#   ip netns exec melon-ws1 mpirun --host 192.0.2.1,192.0.2.2 -np 2 \
#     --mca plm_rsh_agent tools/cluster/netns-rsh.sh --mca btl tcp,self \
#     --mca btl_tcp_if_include 192.0.2.0/24 --mca oob_tcp_if_include 192.0.2.0/24 build/melon hostinfo
set -euo pipefail

PREFIX=${MELON_NETNS_PREFIX:-melon-ws}
case "$PREFIX" in
  melon-ws*) ;;
  *) echo "netns-hosts: MELON_NETNS_PREFIX must start with melon-ws (got '$PREFIX')" >&2; exit 2 ;;
esac
NS1=${PREFIX}1 NS2=${PREFIX}2
ADDR1=192.0.2.1 ADDR2=192.0.2.2
IF=veth0   # the same name in both namespaces; never created in the caller's namespace

has_ns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"; }

up() {
  if has_ns "$NS1" && has_ns "$NS2" &&
    ip -n "$NS1" -o -4 addr show dev "$IF" 2>/dev/null | grep -q " $ADDR1/" &&
    ip -n "$NS2" -o -4 addr show dev "$IF" 2>/dev/null | grep -q " $ADDR2/"; then
    echo "netns-hosts: already up: $NS1 $ADDR1, $NS2 $ADDR2"
    return 0
  fi
  down quiet  # half-made leftovers from an interrupted run
  ip netns add "$NS1"
  ip netns add "$NS2"
  # Both ends are created directly inside their namespaces.
  ip link add "$IF" netns "$NS1" type veth peer name "$IF" netns "$NS2"
  ip -n "$NS1" addr add "$ADDR1/24" dev "$IF"
  ip -n "$NS2" addr add "$ADDR2/24" dev "$IF"
  for ns in "$NS1" "$NS2"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$IF" up
  done
  # Bounded check that the link works (veth carrier comes up within ~1 s).
  local i
  for ((i = 0; i < 50; i++)); do
    ip netns exec "$NS1" ping -c1 -W1 "$ADDR2" >/dev/null 2>&1 && break
    command -v ping >/dev/null || break
    sleep 0.1
  done
  echo "netns-hosts: up: $NS1 $ADDR1, $NS2 $ADDR2 (veth pair $IF)"
}

down() {
  local ns quiet=${1:-}
  for ns in "$NS1" "$NS2"; do
    if has_ns "$ns"; then
      ip netns del "$ns"
      [ -n "$quiet" ] || echo "netns-hosts: deleted $ns"
    fi
  done
}

status() {
  local ns rc=0
  for ns in "$NS1" "$NS2"; do
    if has_ns "$ns"; then
      echo "$ns: $(ip -n "$ns" -o -4 addr show | awk '{print $2 ":" $4}' | tr '\n' ' ')"
    else
      echo "$ns: absent"
      rc=1
    fi
  done
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status   (namespaces ${NS1}, ${NS2})" >&2; exit 2 ;;
esac
