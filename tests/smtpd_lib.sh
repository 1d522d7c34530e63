# smtpd_lib.sh - starting and stopping tests/tools/smtpd.py, for the
# delivery tests (bash: associative arrays). Needs PY and SMTPD set, and
# appends every server's process to $pids for the caller's trap, which
# waits for them (STOP_WAIT): a server writes its stats as it stops, and
# $T must not go before it has.
STOP_WAIT=1

# start NAME ARGS...: an smtpd saving into ./NAME (NAME.log, NAME.stats);
# waits for its port, then in ${port[NAME]}, its process in ${pid[NAME]}.
declare -A pid port
start() {
	_name=$1; shift
	"$PY" "$SMTPD" --port-file "$_name.port" --maildir "$_name" \
	    --log "$_name.log" --stats "$_name.stats" "$@" 2>"$_name.err" &
	pids="$pids $!"
	pid[$_name]=$!
	for _ in $(seq 100); do
		[ -s "$_name.port" ] && break
		sleep 0.05
	done
	port[$_name]=$(cat "$_name.port" 2>/dev/null)
	[ -n "${port[$_name]}" ] || notok "smtpd $_name wrote its port"
}

# stop NAME: SIGTERM, and wait for the stats.
stop() { kill -TERM "${pid[$1]}" 2>/dev/null; wait "${pid[$1]}" 2>/dev/null; }

# saved DIR: how many messages the server saved there.
saved() { find "$1" -name '*.eml' 2>/dev/null | wc -l; }

# mx_setup [ARGS...]: a server "mx" (smtpd.py ARGS) taking every *.test
# domain in plain SMTP, pb.json (POSTBOTE_CONFIG) routing there with
# tracking on, so that campaigns get List-Unsubscribe, and `postbote
# init`. FOOTER is an unsubscribe link for their templates (the content
# checks want one). For the campaign tests: follow_ups.sh, ab.sh,
# windows.sh.
FOOTER='<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
mx_setup() {
	start mx "$@"
	cat >pb.json <<EOF
{"hostname": "mail.example.com",
 "tracking": {"base_url": "https://t.example.com"},
 "delivery": {"mode": "mx", "tls": "none",
  "routes": {"*.test": {"host": "127.0.0.1", "port": ${port[mx]}, "tls": "none"}}}}
EOF
	export POSTBOTE_CONFIG="$T/pb.json"
	"$PB" init >/dev/null || { notok "postbote init"; done_testing; exit 1; }
}
