# Shared by tests/integration/*.sh: TAP output and helpers. Each script
# runs in a fresh temporary directory with its own database.
set -u
PB=${POSTBOTE:?run through tests/run.sh or set POSTBOTE}
T=$(mktemp -d)
# The servers a script starts in the background go in $pids and die with
# it (by STOP_SIGNAL, TERM unless the script says; STOP_WAIT=1 waits for
# them before $T goes). KEEP=1 leaves $T for a look afterwards.
pids=""
trap 'for _p in $pids; do kill -"${STOP_SIGNAL:-TERM}" "$_p" 2>/dev/null; done
if [ -n "${STOP_WAIT:-}" ]; then wait 2>/dev/null; fi
if [ -n "${KEEP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi' EXIT
cd "$T" || exit 1
export POSTBOTE_DB="$T/test.db"
unset POSTBOTE_CONFIG
_n=0

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
notok() { _n=$((_n + 1)); echo "not ok $_n - $*"; }

# check DESC CMD...: passes when CMD succeeds.
check() {
	_d=$1; shift
	if "$@"; then ok "$_d"; else notok "$_d"; fi
}

# eq DESC GOT WANT: passes when GOT and WANT are the same string.
eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		notok "$1"; echo "#   got '$2', wanted '$3'"; fi
}

# expect CODE DESC CMD...: runs CMD with stdout in ./out and stderr in
# ./err, passes when it exits with CODE.
expect() {
	_w=$1; _d=$2; shift 2
	"$@" >out 2>err
	_rc=$?
	if [ "$_rc" -eq "$_w" ]; then
		ok "$_d"
	else
		notok "$_d (exit $_rc, wanted $_w)"
		sed 's/^/#   /' err | head -5
	fi
}

# has FILE TEXT: FILE contains TEXT (a fixed string).
has() { grep -qF -- "$2" "$1" || { echo "# '$2' not in $1:"; sed 's/^/#   /' "$1" | head -5; return 1; }; }

# relay_tap FILE STATUS: re-numbers the ok/not ok lines a checker (Python)
# wrote to FILE into this script's TAP stream; a non-zero STATUS from the
# checker is one more failure.
relay_tap() {
	while IFS= read -r _line; do
		case $_line in
		"ok "*)		ok "${_line#ok }" ;;
		"not ok "*)	notok "${_line#not ok }" ;;
		"#"*)		echo "$_line" ;;
		*)		echo "# $_line" ;;
		esac
	done <"$1"
	[ "$2" -eq 0 ] || notok "the Python checks ran to the end (exit $2)"
}

sql() { sqlite3 "$POSTBOTE_DB" "$1"; }

# A fingerprint of the whole store, to show a failed command changed nothing.
store_sum() { sqlite3 "$POSTBOTE_DB" .dump | md5sum; }

done_testing() { echo "1..$_n"; }

# need TOOL...: unless each is on the PATH, one failed check ends the
# script.
need() {
	for _t in "$@"; do
		command -v "$_t" >/dev/null && continue
		notok "$_t installed"
		done_testing
		exit 1
	done
}

# A loopback port free now for UDP and TCP, below the ephemeral range
# (tools/free_port.py says why). Another run may take it before we bind:
# callers that can, retry.
free_port() { /usr/bin/python3 "$TESTS/tools/free_port.py"; }
