#!/bin/sh
# Regenerate tests/fixtures/sample.pcap: real traffic between two network
# namespaces joined by a veth pair captured
# with tcpdump.  Needs root, iproute2, tcpdump, python3 and curl.  Everything
# it creates is removed on exit, even on failure.
#   tools/make-sample.sh [OUTPUT]
set -eu
out=${1:-tests/fixtures/sample.pcap}
A=nmsample-a.$$
B=nmsample-b.$$
work=$(mktemp -d)
pids=""

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$A"
ip netns add "$B"
ip link add nmva netns "$A" type veth peer name nmvb netns "$B"
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" addr add 10.77.0.1/24 dev nmva
ip -n "$B" addr add 10.77.0.2/24 dev nmvb
ip -n "$A" addr add fd77::1/64 dev nmva nodad
ip -n "$B" addr add fd77::2/64 dev nmvb nodad
ip -n "$A" link set nmva up
ip -n "$B" link set nmvb up
# Turn offloads off so the capture holds wire-sized frames.
ip netns exec "$A" ethtool -K nmva tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$B" ethtool -K nmvb tso off gso off gro off >/dev/null 2>&1 || true

mkdir -p "$work/www"
head -c 20000 /dev/zero | tr '\0' 'm' > "$work/www/moon.txt"
echo "hello from the far side" > "$work/www/index.html"

cat > "$work/servers.py" <<'PY'
import http.server, socket, socketserver, sys, threading, os
os.chdir(sys.argv[1])
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
class S6(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
httpd = S6(("::", 8080), H)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
u.bind(("::", 5353))
while True:
    data, addr = u.recvfrom(2048)
    u.sendto(b"pong:" + data, addr)
PY

cat > "$work/client.py" <<'PY'
import socket, struct, time
def udp(addr, fam, n):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(2)
    for i in range(n):
        s.sendto(b"ping %d" % i, (addr, 5353))
        s.recvfrom(2048)
    s.close()
def icmp_echo(addr, n, ident_hint):
    # Unprivileged-style ICMP socket: the kernel fills in the id.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    s.settimeout(2)
    for seq in range(n):
        s.sendto(struct.pack("!BBHHH", 8, 0, 0, ident_hint, seq) + b"netmoon-ping", (addr, 0))
        s.recvfrom(2048)
        time.sleep(0.05)
    s.close()
udp("10.77.0.2", socket.AF_INET, 3)
udp("fd77::2", socket.AF_INET6, 2)
icmp_echo("10.77.0.2", 3, 7)
# A refused connection (RST from the responder).
c = socket.socket()
try:
    c.connect(("10.77.0.2", 9))
except OSError:
    pass
c.close()
PY

ip netns exec "$A" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
ip netns exec "$B" python3 "$work/servers.py" "$work/www" & pids="$pids $!"
ip netns exec "$B" tcpdump -q -n -i nmvb -s 0 -U -w "$work/cap.pcap" 2>/dev/null & pids="$pids $!"
sleep 1.5
ip netns exec "$A" curl -s -o /dev/null http://10.77.0.2:8080/index.html
ip netns exec "$A" curl -s -o /dev/null http://10.77.0.2:8080/moon.txt
ip netns exec "$A" curl -s -o /dev/null "http://[fd77::2]:8080/moon.txt"
ip netns exec "$A" python3 "$work/client.py"
sleep 1
for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=""
mkdir -p "$(dirname "$out")"
cp "$work/cap.pcap" "$out"
echo "wrote $out: $(tcpdump -r "$out" 2>/dev/null | wc -l) packets"
