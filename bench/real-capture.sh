#!/usr/bin/env bash
# A capture of real kernel traffic for the peers benchmark:  bench/real-capture.sh OUT.pcap [SCALE]
# Two network namespaces joined by a veth pair (offloads off, so packets are MTU-sized as on a
# wire), traffic from bench/traffic.py (short TCP exchanges with local ports reused, UDP
# request/response, bulk transfers; IPv4 and IPv6), captured on the server side by tcpdump with
# a 128-byte snaplen. SCALE 1 gives about 5M packets. Needs root, iproute2, ethtool, tcpdump,
# python3. Only the namespaces it makes are addressed; they are removed at the end.
set -euo pipefail
OUT=$1
SCALE=${2:-1}
ID=$$
A=nlpc$ID
B=nlps$ID
HERE=$(cd "$(dirname "$0")" && pwd)
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
  [ -n "${DUMP:-}" ] && kill "$DUMP" 2>/dev/null || true
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
}
trap cleanup EXIT
ip netns add $A
ip netns add $B
ip link add pc$ID netns $A type veth peer name ps$ID netns $B
ip -n $A addr add 10.88.0.1/24 dev pc$ID
ip -n $B addr add 10.88.0.2/24 dev ps$ID
ip -n $A addr add fd88::1/64 dev pc$ID nodad
ip -n $B addr add fd88::2/64 dev ps$ID nodad
for ns in $A $B; do ip -n $ns link set lo up; done
ip -n $A link set pc$ID up
ip -n $B link set ps$ID up
ip netns exec $A ethtool -K pc$ID tso off gso off gro off >/dev/null
ip netns exec $B ethtool -K ps$ID tso off gso off gro off >/dev/null
ip netns exec $B python3 "$HERE/traffic.py" serve 10.88.0.2 fd88::2 &
SERVER=$!
ip netns exec $B tcpdump -q -n -s 128 -B 262144 -i ps$ID -w "$OUT" 2>/dev/null &
DUMP=$!
sleep 1
inA() { ip netns exec $A python3 "$HERE/traffic.py" "$@"; }
pids=()
# Short exchanges (~10 packets each), ports reused: 4 workers per family.
for w in 0 1 2 3; do
  inA short 10.88.0.2 $((12000 * SCALE)) $((20000 + w * 500)) 500 & pids+=($!)
  inA short fd88::2 $((6000 * SCALE)) $((30000 + w * 500)) 500 & pids+=($!)
done
inA udp 10.88.0.2 $((200000 * SCALE)) & pids+=($!)
inA udp fd88::2 $((100000 * SCALE)) & pids+=($!)
for i in 1 2; do
  inA bulk 10.88.0.2 $((2000 * SCALE)) & pids+=($!)
  inA bulk fd88::2 $((900 * SCALE)) & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
sleep 1
kill -INT "$DUMP"
wait "$DUMP" 2>/dev/null || true
DUMP=
echo "$OUT: $(capinfos -c -M "$OUT" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}') packets"
