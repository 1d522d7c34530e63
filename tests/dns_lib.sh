# dns_lib.sh - DNS servers of a test's own on loopback, for the tests
# that resolve (dns.sh, send.sh, hygiene.sh, doctor.sh): a dnsmasq with
# the test's records, and small UDP servers that never answer or answer
# SERVFAIL. Needs PY; appends every server to $pids for lib.sh's trap.

# udp_server MODE PORTFILE: silent (reads, never replies) or servfail, on
# a port the kernel picks, written to PORTFILE.
udp_server() {
	"$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
open(sys.argv[2], "w").write("%d\n" % s.getsockname()[1])
while True:
    q, peer = s.recvfrom(4096)
    if sys.argv[1] == "servfail" and len(q) >= 12:
        s.sendto(q[:2] + bytes([q[2] | 0x80, (q[3] & 0xf0) | 0x82]) + q[4:], peer)
' "$1" "$2" &
	pids="$pids $!"
	for _ in $(seq 50); do [ -s "$2" ] && break; sleep 0.1; done
}

# dns_ready PORT NAME: the server at 127.0.0.1:PORT has an A record for
# NAME.
dns_ready() {
	"$PY" - "$1" "$2" <<'PYEOF'
import socket, struct, sys
q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in sys.argv[2].split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
try:
    r = s.recv(512)
except OSError:
    sys.exit(1)
sys.exit(0 if r[:2] == q[:2] and struct.unpack(">H", r[6:8])[0] > 0 else 1)
PYEOF
}

# dns_start NAME ARGS...: dnsmasq with the test's ARGS on a free loopback
# port (DNSPORT; its process DM), up once it answers an A query for NAME;
# stderr in dnsmasq.err. Another run may take the port between free_port
# and dnsmasq, hence three tries; when none answers, the script ends with
# a failed check.
dns_start() {
	_probe=$1; shift
	for _ in 1 2 3; do
		DNSPORT=$(free_port)
		dnsmasq --no-resolv --no-hosts --port="$DNSPORT" \
		    --listen-address=127.0.0.1 --bind-interfaces \
		    --keep-in-foreground "$@" 2>dnsmasq.err &
		DM=$!
		pids="$pids $DM"
		for _ in $(seq 50); do
			if dns_ready "$DNSPORT" "$_probe"; then
				ok "dnsmasq answers on 127.0.0.1:$DNSPORT"
				return 0
			fi
			kill -0 "$DM" 2>/dev/null || break
			sleep 0.1
		done
		kill "$DM" 2>/dev/null
	done
	notok "dnsmasq answers"
	sed 's/^/#   /' dnsmasq.err | head -5
	done_testing
	exit 1
}
