#!/usr/bin/env bash
# A Pangolin-like site for tests: a client namespace and a site namespace joined by a veth
# pair, a WireGuard tunnel between them (wireguard-go: this kernel has no WireGuard module),
# client 100.90.128.2 / fd90::2, site 100.90.128.1 / fd90::1, and on the site an HTTP server
# (port 8080, files blob10k and blob100k) and a UDP responder (port 5353, 200-byte answers).
#   wg-site.sh up ID     prints the names as shell assignments
#   wg-site.sh down ID
# ID keeps names unique per run (wireguard-go's sockets in /var/run/wireguard are shared by
# every namespace). Only the namespaces made here are addressed. Needs root, iproute2,
# wireguard-go, wireguard-tools, python3.
set -euo pipefail
cmd=$1 id=$2
C=nlc$id S=nls$id WC=wgc$id WS=wgs$id VC=vc$id VS=vs$id
WORK=/tmp/netlog-wg-$id
HERE=$(cd "$(dirname "$0")" && pwd)

down() {
  for f in "$WORK"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  ip netns del "$C" 2>/dev/null || true
  ip netns del "$S" 2>/dev/null || true
  rm -f "/var/run/wireguard/$WC.sock" "/var/run/wireguard/$WS.sock"
  rm -rf "$WORK"
}

if [ "$cmd" = down ]; then down; exit 0; fi
down
mkdir -p "$WORK/www"
trap 'down' ERR
ip netns add "$C"
ip netns add "$S"
ip link add "$VC" netns "$C" type veth peer name "$VS" netns "$S"
ip -n "$C" addr add 10.77.0.1/24 dev "$VC"
ip -n "$S" addr add 10.77.0.2/24 dev "$VS"
for ns in "$C" "$S"; do ip -n "$ns" link set lo up; done
ip -n "$C" link set "$VC" up
ip -n "$S" link set "$VS" up

KC=$(wg genkey); KS=$(wg genkey)
PC=$(echo "$KC" | wg pubkey); PS=$(echo "$KS" | wg pubkey)
WG_PROCESS_FOREGROUND=1 ip netns exec "$C" wireguard-go "$WC" >/dev/null 2>&1 & echo $! > "$WORK/wgc.pid"
WG_PROCESS_FOREGROUND=1 ip netns exec "$S" wireguard-go "$WS" >/dev/null 2>&1 & echo $! > "$WORK/wgs.pid"
for _ in $(seq 100); do [ -S "/var/run/wireguard/$WC.sock" ] && [ -S "/var/run/wireguard/$WS.sock" ] && break; sleep 0.05; done
ip netns exec "$C" wg set "$WC" private-key <(echo "$KC") peer "$PS" allowed-ips 100.90.128.1/32,fd90::1/128 endpoint 10.77.0.2:51821
ip netns exec "$S" wg set "$WS" private-key <(echo "$KS") listen-port 51821 peer "$PC" allowed-ips 100.90.128.2/32,fd90::2/128
ip -n "$C" addr add 100.90.128.2/24 dev "$WC"
ip -n "$S" addr add 100.90.128.1/24 dev "$WS"
ip -n "$C" addr add fd90::2/64 dev "$WC" nodad
ip -n "$S" addr add fd90::1/64 dev "$WS" nodad
ip -n "$C" link set "$WC" up
ip -n "$S" link set "$WS" up

head -c 10000 /dev/zero | tr '\0' 'b' > "$WORK/www/blob10k"
head -c 100000 /dev/zero | tr '\0' 'a' > "$WORK/www/blob100k"
ip netns exec "$S" python3 -m http.server --bind :: --directory "$WORK/www" 8080 >/dev/null 2>&1 & echo $! > "$WORK/http.pid"
ip netns exec "$S" python3 "$HERE/../../fixtures/udp-peer.py" serve 0.0.0.0 5353 200 >/dev/null 2>&1 & echo $! > "$WORK/udp.pid"
# Bring the tunnel's handshake up and wait for the servers.
for _ in $(seq 100); do
  ip netns exec "$C" python3 "$HERE/../../fixtures/udp-peer.py" ask 100.90.128.1 5353 1 1 2>/dev/null && \
    ip netns exec "$C" python3 -c "import socket; socket.create_connection(('100.90.128.1', 8080), 1).close()" 2>/dev/null && break
  sleep 0.1
done
trap - ERR
echo "CLIENT_NS=$C SITE_NS=$S SITE_IF=$WS WORK=$WORK"
