#!/usr/bin/env bash
# Several workstations on one machine: two network namespaces (tools/cluster/netns-hosts.sh)
# stand in for two hosts; Open MPI starts its remote daemon through
# tools/cluster/netns-rsh.sh instead of ssh. Checks that:
#  - `melon hostinfo` with 2 ranks reports two different network namespaces, each
#    rank holding its own, different 192.0.2.x address;
#  - a real 2-rank job across the namespaces, launched with the example hostfile
#    jobs/hosts.example (melon baseline, ranks exchanging counts over TCP on the
#    veth pair), writes the same file as 1 rank;
#  - the namespaces are gone afterwards (always torn down, also on failure).
# SKIPs (exit 77, CTest's SKIP) only where creating a network namespace is not permitted.
source "$(dirname "$0")/lib.sh"
export MELON_NETNS_PREFIX=melon-wst   # not the user's melon-ws1/2, so a test never tears those down
HOSTS=$MELON_SRC/tools/cluster/netns-hosts.sh
RSH=$MELON_SRC/tools/cluster/netns-rsh.sh

probe=melon-wsprobe$$
if ! ip netns add "$probe" 2>"$WORK/probe.txt"; then
  echo "SKIP: 'ip netns add' is not permitted here: $(head -1 "$WORK/probe.txt")"
  exit 77
fi
ip netns del "$probe"

trap '"$HOSTS" down >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
"$HOSTS" up

# Open MPI's own flags for the two "hosts"; every launch bounded in time.
NETFLAGS=(--host 192.0.2.1,192.0.2.2 -np 2 --mca plm_rsh_agent "$RSH" --mca btl tcp,self
  --mca btl_tcp_if_include 192.0.2.0/24 --mca oob_tcp_if_include 192.0.2.0/24)
ROOT=()
[ "$(id -u)" -eq 0 ] && ROOT=(--allow-run-as-root)
across() { timeout 120 ip netns exec "${MELON_NETNS_PREFIX}1" "$MPIRUN" "${ROOT[@]}" "${NETFLAGS[@]}" "$@"; }
# The same with the example hostfile instead of --host.
across_hostfile() {
  timeout 120 ip netns exec "${MELON_NETNS_PREFIX}1" "$MPIRUN" "${ROOT[@]}" --hostfile "$MELON_SRC/jobs/hosts.example" \
    "${NETFLAGS[@]:2}" "$@"
}

across "$MELON" hostinfo > "$WORK/hostinfo.txt" 2> "$WORK/hostinfo.err" ||
  { cat "$WORK/hostinfo.txt" "$WORK/hostinfo.err"; fail "2-rank hostinfo across the namespaces failed"; }
cat "$WORK/hostinfo.txt"
python3 - "$WORK/hostinfo.txt" <<'PY' || fail "ranks are not on two separate network hosts"
import re, sys
ranks = {}
for line in open(sys.argv[1]):
    m = re.match(r"rank (\d+)/2 host=\S+ pid=\d+ netns=(\d+) addrs=(\S+)", line)
    if m:
        addrs = [a.split(":", 1)[1] for a in m.group(3).split(",")]
        ranks[int(m.group(1))] = (m.group(2), [a for a in addrs if a.startswith("192.0.2.")])
assert sorted(ranks) == [0, 1], f"expected ranks 0 and 1, got {sorted(ranks)}"
(ns0, a0), (ns1, a1) = ranks[0], ranks[1]
assert ns0 != ns1, f"both ranks in network namespace {ns0}"
assert len(a0) == 1 and len(a1) == 1, f"each rank should hold one 192.0.2.x address: {a0} {a1}"
assert a0 != a1, f"same address {a0} on both ranks"
print(f"ok  rank 0 in netns {ns0} at {a0[0]}, rank 1 in netns {ns1} at {a1[0]}")
PY

# A real job across the two "hosts": the data-parallel baseline equals 1 rank.
D=$WORK/data
"$MELON" generate --out "$D" --playlists 600 --songs 4000 --seed 5 --mel-songs 0 > /dev/null 2> "$WORK/gen.err" ||
  { cat "$WORK/gen.err"; fail "generate failed"; }
"$MELON" split --input "$D/train.json" --out "$WORK/split" 2> /dev/null
args=(baseline --method genre-most-popular --train "$WORK/split/orig/train.json"
  --questions "$WORK/split/questions/val.json" --song-meta "$D/song_meta.json")
"$MELON" "${args[@]}" --out "$WORK/np1.json" 2> /dev/null
across_hostfile "$MELON" "${args[@]}" --out "$WORK/np2.json" > "$WORK/np2.out" 2>&1 ||
  { cat "$WORK/np2.out"; fail "2-rank baseline across the namespaces failed"; }
cmp "$WORK/np1.json" "$WORK/np2.json" || fail "2-rank baseline across namespaces differs from 1 rank"
echo "ok  2-rank baseline across the two namespaces (mpirun --hostfile jobs/hosts.example) identical to 1 rank"

"$HOSTS" down
ip netns list | awk '{print $1}' | grep -q "^${MELON_NETNS_PREFIX}" && fail "namespaces left behind"
echo "ok  namespaces deleted"
echo "workstations (network namespaces) end-to-end passed"
