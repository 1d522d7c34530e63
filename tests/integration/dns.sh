#!/bin/bash
# dns.sh - next hops from engine/dns.c (build/tools/dns_sample) against a
# dnsmasq of our own on 127.0.0.1 at a free high port (never port 53, so a
# system dnsmasq the Debian package may have started does not matter), and
# against a Python UDP server that never answers or answers SERVFAIL.
#
# --local=/test/ makes dnsmasq answer NXDOMAIN for unknown names under
# .test; outside it, with --no-resolv, it answers REFUSED. Served:
#   multi.test   MX 10 mx1 (A+AAAA), 20 mx2a, 20 mx2b, 30 mx3 (--address)
#   aonly.test   no MX, an A record: the implicit MX
#   nullmx.test  MX 0 "." (RFC 7505; dnsmasq accepts ".")
#   nohost.test  MX to a name that does not exist
#   mixed.test   MX 10 to a missing name, 20 to mx1.multi.test
#   tempmx.test  MX to a name in fail.test, forwarded to a SERVFAIL server
#   many.test    six A and six AAAA: LIMIT_DNS_ADDRS per family kept
. "$TESTS/lib.sh"
PY=/usr/bin/python3
. "$TESTS/dns_lib.sh"

TOOLS="$(dirname "$PB")/tools"
S="$TOOLS/dns_sample"
if [ ! -x "$S" ] || ! command -v dnsmasq >/dev/null; then
	notok "dns_sample is built and dnsmasq installed"
	done_testing
	exit 1
fi

udp_server silent silent.port
udp_server servfail servfail.port
SILENT=$(cat silent.port)
SERVFAIL=$(cat servfail.port)

many=""
for i in 1 2 3 4 5 6; do
	many="$many --host-record=many.test,127.0.1.$i,2001:db8::$i"
done
# shellcheck disable=SC2086
dns_start aonly.test --conf-file=/dev/null --local=/test/ \
	--mx-host=multi.test,mx1.multi.test,10 \
	--mx-host=multi.test,mx2a.multi.test,20 \
	--mx-host=multi.test,mx2b.multi.test,20 \
	--mx-host=multi.test,mx3.multi.test,30 \
	--host-record=mx1.multi.test,127.0.0.11,2001:db8::11 \
	--host-record=mx2a.multi.test,127.0.0.12 \
	--host-record=mx2b.multi.test,127.0.0.13 \
	--address=/mx3.multi.test/127.0.0.14 \
	--host-record=aonly.test,127.0.0.20 \
	--mx-host=nullmx.test,.,0 \
	--mx-host=nohost.test,gone.nohost.test,10 \
	--mx-host=mixed.test,gone.mixed.test,10 \
	--mx-host=mixed.test,mx1.multi.test,20 \
	--mx-host=tempmx.test,mx.fail.test,10 \
	--server="/fail.test/127.0.0.1#$SERVFAIL" \
	$many

SRV="127.0.0.1:$DNSPORT"
line() { grep "^$1 " out; }

expect 0 "all domains resolved in one run" "$S" --server "$SRV" \
	--timeout 1000 --port 2525 multi.test aonly.test nullmx.test \
	nohost.test mixed.test unknown.test unknown.invalid tempmx.test \
	many.test bad_name.test
cp out all.out

# RFC 5321 5.1: by preference; the two at 20 in either order.
eq "MX by preference, A then AAAA, port from the config" \
	"$(line multi.test | sed 's/mx2b\(.*\) mx2a\(.*\) mx3/mx2a\2 mx2b\1 mx3/')" \
	"multi.test ok mx1.multi.test/10=127.0.0.11:2525,[2001:db8::11]:2525 mx2a.multi.test/20=127.0.0.12:2525 mx2b.multi.test/20=127.0.0.13:2525 mx3.multi.test/30=127.0.0.14:2525"
eq "no MX: the domain's A as implicit MX 0" "$(line aonly.test)" \
	"aonly.test ok implicit aonly.test/0=127.0.0.20:2525"
eq "null MX: permanent, no A fallback" "$(line nullmx.test)" \
	"nullmx.test perm null_mx nullmx.test: null MX (RFC 7505): the domain accepts no mail"
eq "MX host without an address: permanent" "$(line nohost.test)" \
	"nohost.test perm nohost.test: no MX host has an address"
eq "a host without an address is left out" "$(line mixed.test)" \
	"mixed.test ok mx1.multi.test/20=127.0.0.11:2525,[2001:db8::11]:2525"
eq "NXDOMAIN: permanent" "$(line unknown.test)" \
	"unknown.test perm unknown.test: no such domain (NXDOMAIN)"
check "REFUSED: temporary" has out "unknown.invalid temp unknown.invalid: MX look-up failed:"
check "MX host SERVFAIL: temporary" has out \
	"tempmx.test temp tempmx.test: no address for any MX host yet: mx.fail.test A:"
eq "address cap: $((2 * 4)) kept, IPv4 first" \
	"$(line many.test | tr ',' '\n' | sed 's/.*=//' | cut -c1-6 | uniq -c | paste -sd' ' | tr -s ' ')" \
	" 4 127.0. 4 [2001:"
check "not an A-label: refused before any query" has out \
	"bad_name.test error DNS: not an A-label domain"

# Equal preferences really are shuffled: both orders within 30 runs.
seen=""
for _ in $(seq 30); do
	"$S" --server "$SRV" multi.test | grep -o 'mx2[ab]' | tr -d '\n' >order
	seen="$seen $(cat order)"
done
check "equal preferences come in both orders" \
	sh -c "echo '$seen' | grep -q mx2amx2b && echo '$seen' | grep -q mx2bmx2a"

# A server that never answers: temporary, once the tries are spent.
start=$(date +%s%N)
expect 0 "silent server: dns_run returns" "$S" --server "127.0.0.1:$SILENT" \
	--timeout 200 --tries 2 multi.test aonly.test
ms=$(( ($(date +%s%N) - start) / 1000000 ))
eq "silent server: both temporary" "$(grep -c ' temp .*MX look-up failed: Timeout' out)" 2
check "silent server: within the timeout (${ms} ms, 200 + 400 expected)" \
	test "$ms" -ge 500 -a "$ms" -lt 3000

expect 0 "SERVFAIL: dns_run returns" "$S" --server "127.0.0.1:$SERVFAIL" \
	--timeout 1000 multi.test
check "SERVFAIL: temporary, no A fallback" has out \
	"multi.test temp multi.test: MX look-up failed:"

expect 75 "dns_run's own deadline cancels what is left" "$S" \
	--server "127.0.0.1:$SILENT" --timeout 5000 --run-timeout 300 multi.test
check "cancelled: temporary" has out "multi.test temp multi.test: MX look-up failed:"
check "cancelled: said on stderr" has err "cancelled after 300 ms"

expect 78 "a bad server list is a config error" "$S" --server "nonsense" a.test

done_testing
