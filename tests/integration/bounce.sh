#!/bin/bash
# bounce.sh - `postbote bounce ingest` end to end: a real campaign sent to
# tests/tools/smtpd.py, then the DSN, ARF, reply, auto-reply and
# unsubscribe samples of tests/fixtures/inbound filled in with the real
# return paths, Message-IDs and unsubscribe addresses of what the server
# received, fed in as files, on stdin with the envelope recipient, from a
# maildir and from an mbox; read back from deliveries, events,
# suppressions and inbound_review.
#
#   samples   each sample's outcome and class as expected.tsv says, and
#             its effect: hard bounce and complaint suppress globally,
#             the mailto unsubscribe for the list, policy and soft
#             bounces do not, the unclassifiable one is kept for review
#   tokens    a forged return path changes nothing; a message of nobody's
#             is unmatched; a second ingest is a duplicate
#   inputs    stdin with --rcpt and $ORIGINAL_RECIPIENT, a maildir (new/
#             moved to cur/ with S, a second run takes nothing), an mbox
#             with a quoted ">From " line
#   hostile   deep nesting, a huge header block, a megabyte line, a
#             message over the size limit: exit 65, refused with a
#             reason, nothing written
#   policy    three soft bounces in three campaigns suppress; a campaign
#             still running pauses itself when complaints pass the rate
#             and says why
# Runs alone too: bash tests/integration/bounce.sh.
: "${TESTS:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${POSTBOTE:=${PB:-$TESTS/../build/postbote}}"
export TESTS POSTBOTE
. "$TESTS/lib.sh"

PY=/usr/bin/python3
SMTPD="$TESTS/tools/smtpd.py"
FIX="$TESTS/fixtures/inbound"
. "$TESTS/smtpd_lib.sh"

start sink --rcpt-rule '^later@=451 4.3.0 Try again later'

cat >pb.json <<EOF
{"hostname": "mail.example.com",
 "tracking": {"base_url": "https://t.example.com"},
 "bounces": {"return_path_domain": "bounce.example.com"},
 "feedback": {"min_volume": 1, "complaint_rate_pause": 0.2,
  "complaint_rate_warn": 0.05},
 "delivery": {"mode": "mx", "tls": "none",
  "routes": {"*.test": {"host": "127.0.0.1", "port": ${port[sink]},
   "tls": "none"}}}}
EOF
export POSTBOTE_CONFIG=$PWD/pb.json
PB="$POSTBOTE"

# The samples, one recipient each, plus a few for the other checks.
mapfile -t samples < <(grep -v '^#' "$FIX/expected.tsv" | cut -f1)
{
	echo "email,name"
	for i in "${!samples[@]}"; do echo "s$i@a.test,S$i"; done
	for x in forged dup stdin env md1 md2 md3 mb1 mb2 soft; do
		echo "$x@b.test,X"
	done
} >list.csv
printf '<p>Hello {{ name }}</p>\n' >t.html
expect 0 "init" "$PB" init
expect 0 "a list of $(($(wc -l <list.csv) - 1))" "$PB" list import news list.csv
expect 0 "a template" "$PB" template add t --subject "Hi" --html t.html
expect 0 "a campaign" "$PB" campaign create c1 --list news --template t \
	--from news@example.com
expect 0 "sent" "$PB" send c1 --no-dkim --quiet
eq "... every message reached the server" "$(saved sink)" \
	"$(($(wc -l <list.csv) - 1))"

# tokens.tsv: recipient, return path, Message-ID, unsubscribe address.
cat >tokens.py <<'EOF'
import email, email.policy, glob, json, re, sys
for eml in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    env = json.load(open(eml[:-4] + ".json"))
    m = email.message_from_binary_file(open(eml, "rb"),
                                       policy=email.policy.default)
    unsub = re.search(r"<mailto:([^>?]*)", m["List-Unsubscribe"]).group(1)
    print("\t".join([env["rcpt_to"][0], env["mail_from"],
                     m["Message-ID"].strip("<>"), unsub]))
EOF
"$PY" tokens.py sink >tokens.tsv
tok() { awk -F'\t' -v r="$1" -v c="$2" '$1 == r { v = $c } END { print v }' tokens.tsv; }

# fill SAMPLE RCPT OUT: the sample with RCPT's real tokens.
fill() {
	sed -e "s/{{RETURN_PATH}}/$(tok "$2" 2)/g" \
	    -e "s/{{MESSAGE_ID}}/$(tok "$2" 3)/g" \
	    -e "s/{{RCPT}}/$2/g" -e "s/{{UNSUB}}/$(tok "$2" 4)/g" \
	    "$FIX/$1" >"$3"
}
check "the return paths are VERP addresses" \
	grep -q "bounces+.*@bounce.example.com" tokens.tsv

# ================================================================ samples
ev() {	# RCPT TYPE: that recipient's events of the type in campaign c1
	sql "SELECT count(*) FROM events e JOIN recipients r ON
	    r.id = e.recipient_id WHERE r.address = '$1' AND e.type = '$2'"
}
supp() {	# RCPT: its suppressions as "list-or-* source"
	sql "SELECT coalesce(l.name, '*') || ' ' || s.source FROM suppressions s
	    LEFT JOIN lists l ON l.id = s.list_id WHERE s.kind = 'address'
	    AND s.value = '$1'"
}
i=0
while IFS=$'\t' read -r file type class status; do
	case $file in '#'*|'') continue ;; esac
	r="s$i@a.test"
	i=$((i + 1))
	fill "$file" "$r" "in-$file"
	"$PB" bounce ingest "in-$file" >out 2>err
	rc=$?
	outc=$(cut -f2 out | head -1)
	case $class in
	hard|soft|policy) want=bounce ;;
	delayed) want=delayed ;;
	complaint) want=complaint ;;
	reply) want=reply ;;
	auto_reply) want=auto-reply ;;
	unsubscribe) want=unsubscribe ;;
	unknown) want=review ;;
	*) want=$class ;;
	esac
	eq "$file ($type): exit 0" "$rc" 0
	eq "$file: outcome $want" "$outc" "$want"
	eq "$file: names $r" "$(cut -f4 out | head -1)" "$r"
	case $class in
	hard)
		eq "$file: class hard $status" "$(cut -f5,6 out | head -1)" \
			"$(printf 'hard\t%s' "$status")"
		eq "$file: the delivery is bounced, hard" \
			"$(sql "SELECT d.status || ' ' || d.bounce_class FROM deliveries d JOIN recipients r ON r.id = d.recipient_id WHERE r.address = '$r'")" \
			"bounced hard"
		eq "$file: suppressed on every list" "$(supp "$r")" "* bounce" ;;
	soft|policy)
		eq "$file: class $class" "$(cut -f5 out | head -1)" "$class"
		eq "$file: recorded as bounced" "$(ev "$r" bounced)" 1
		eq "$file: not suppressed" "$(supp "$r")" "" ;;
	delayed)
		eq "$file: a deferred event" "$(ev "$r" deferred)" 1
		eq "$file: the delivery stays delivered" \
			"$(sql "SELECT d.status FROM deliveries d JOIN recipients r ON r.id = d.recipient_id WHERE r.address = '$r'")" \
			delivered
		eq "$file: not suppressed" "$(supp "$r")" "" ;;
	complaint)
		eq "$file: a complaint event" "$(ev "$r" complained)" 1
		eq "$file: suppressed on every list" "$(supp "$r")" \
			"* complaint" ;;
	unsubscribe)
		eq "$file: an unsubscribe event" "$(ev "$r" unsubscribed)" 1
		eq "$file: suppressed for the list" "$(supp "$r")" \
			"news unsubscribe" ;;
	reply)
		eq "$file: a reply event" "$(ev "$r" replied)" 1
		eq "$file: nothing suppressed" "$(supp "$r")" "" ;;
	auto_reply)
		eq "$file: an auto-reply event, no bounce" \
			"$(ev "$r" auto_replied) $(ev "$r" bounced)" "1 0"
		eq "$file: nothing suppressed" "$(supp "$r")" "" ;;
	unknown)
		eq "$file: kept for review" \
			"$(sql "SELECT count(*) FROM inbound_review r JOIN recipients x ON x.id = r.recipient_id WHERE x.address = '$r'")" 1
		eq "$file: no bounce recorded" "$(ev "$r" bounced)" 0 ;;
	esac
done <"$FIX/expected.tsv"
check "at least ten samples" test "$i" -ge 10

# ================================================================= tokens
first=$(grep -v '^#' "$FIX/expected.tsv" | awk -F'\t' '$3 == "hard" { print $1; exit }')
fill "$first" forged@b.test forged.eml
good=$(tok forged@b.test 2)
# One character of the token's MAC changed.
bad=$("$PY" -c 'import sys; s = sys.argv[1]; i = s.index("@") - 3
print(s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:])' "$good")
sed -i "s/$good/$bad/g" forged.eml
# The returned original still carries the recipient's real Message-ID:
# no secret, so it may not stand in for the forged return path.
check "... the forged sample keeps the real Message-ID" grep -q "$(tok forged@b.test 3)" forged.eml
before=$(sql "SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM suppressions) || ' ' || (SELECT count(*) FROM inbound_review)")
"$PB" bounce ingest forged.eml >out 2>err
eq "a forged return path: exit 0" "$?" 0
eq "... outcome forged" "$(cut -f2 out | head -1)" forged
eq "... nothing written" "$(sql "SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM suppressions) || ' ' || (SELECT count(*) FROM inbound_review)")" "$before"

# Someone in a reply thread (who saw the Message-ID in References) writes
# a "bounce": a reference ties a reply, never a bounce.
printf 'From: mailer-daemon@evil.example\nTo: news@example.com\nSubject: Undeliverable: Hi\nIn-Reply-To: <%s>\n\n550 5.1.1 user unknown\n' \
	"$(tok dup@b.test 3)" >thread.eml
"$PB" bounce ingest thread.eml >out 2>err
eq "a \"bounce\" tied only by a reference: a reply" "$(cut -f2 out | head -1)" reply
eq "... nothing suppressed" "$(supp dup@b.test)" ""
printf 'From: someone@example.org\nTo: info@example.com\nSubject: hi\n\nhello\n' >stranger.eml
"$PB" bounce ingest stranger.eml >out 2>err
eq "a stranger's message: outcome unmatched" "$(cut -f2 out | head -1)" unmatched

fill "$first" dup@b.test dup.eml
"$PB" bounce ingest dup.eml >out 2>err
eq "a bounce ingested once" "$(cut -f2 out | head -1)" bounce
"$PB" bounce ingest dup.eml >out 2>err
eq "... and again is a duplicate" "$(cut -f2 out | head -1)" duplicate
eq "... one bounce event" "$(ev dup@b.test bounced)" 1

# ================================================================= inputs
# A bounce whose headers name no return path: only the envelope does.
mk_plain() {	# RCPT STATUS: an Exim-style bounce without our tokens
	printf 'From: Mail Delivery System <Mailer-Daemon@mx.b.test>\nTo: postmaster@bounce.example.com\nSubject: Mail delivery failed: returning message to sender\nMessage-ID: <plain-%s@mx.b.test>\n\nThis message was created automatically by mail delivery software.\n\n  %s\n    SMTP error from remote mail server after RCPT TO:<%s>:\n    550 %s User unknown\n' \
	    "$1" "$1" "$1" "$2"
}
mk_plain stdin@b.test 5.1.1 >plain.eml
"$PB" bounce ingest <plain.eml >out 2>err
eq "stdin without the envelope: unmatched" "$(cut -f2 out | head -1)" unmatched
"$PB" bounce ingest --rcpt "$(tok stdin@b.test 2)" <plain.eml >out 2>err
eq "... with --rcpt: a hard bounce" "$(cut -f2,4,5,6 out | head -1)" \
	"$(printf 'bounce\tstdin@b.test\thard\t5.1.1')"
mk_plain env@b.test 5.1.1 >plain2.eml
ORIGINAL_RECIPIENT=$(tok env@b.test 2) "$PB" bounce ingest <plain2.eml >out 2>err
eq "... with \$ORIGINAL_RECIPIENT, as Postfix's pipe sets it" \
	"$(cut -f2,4 out | head -1)" "$(printf 'bounce\tenv@b.test')"

mkdir -p md/new md/cur md/tmp
fill "$first" md1@b.test md/new/1.eml
fill "$first" md2@b.test md/new/2.eml
fill "$first" md3@b.test md/cur/3.eml:2,S
expect 64 "--rcpt with --maildir is refused" "$PB" bounce ingest --maildir md --rcpt x@example.com
ORIGINAL_RECIPIENT=$(tok md1@b.test 2) "$PB" bounce ingest --maildir md >out 2>err
eq "a maildir: its two new messages (\$ORIGINAL_RECIPIENT ignored)" "$(grep -c $'\tbounce\t' out)" 2
eq "... the seen one left alone" "$(ev md3@b.test bounced)" 0
eq "... both moved to cur/ as seen" "$(ls md/new | wc -l) $(ls md/cur | grep -c ':2,S$')" "0 3"
"$PB" bounce ingest --maildir md >out 2>err
eq "... a second run takes nothing" "$(tail -1 out | sed 's/.*bounce=\([0-9]*\).*/\1/')" 0

fill "$first" mb1@b.test mb1.eml
fill "$first" mb2@b.test mb2.eml
{
	echo "From MAILER-DAEMON Mon Nov 23 10:00:00 2026"
	cat mb1.eml
	echo
	echo "From MAILER-DAEMON Mon Nov 23 10:00:01 2026"
	sed 's/^\(This\)/>From here on. \1/' mb2.eml
	echo
} >box.mbox
"$PB" bounce ingest --mbox box.mbox >out 2>err
eq "an mbox of two: two bounces" "$(grep -c $'\tbounce\t' out)" 2
check "... each named by file and line" grep -q '^box.mbox:1' out
eq "... both recorded" "$(ev mb1@b.test bounced) $(ev mb2@b.test bounced)" "1 1"

# ================================================================ hostile
$PY - <<'EOF'
import base64
def msg(body, headers=""):
    return ("From: x@example.org\nTo: bounces+abc@bounce.example.com\n" +
            headers + "Subject: t\n\n" + body)
n = 100000
nest = "".join('Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(n))
open("deep.eml", "w").write(msg(nest, 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="top"\n'))
open("header.eml", "w").write(msg("x\n", "".join("X-H%d: %s\n" % (i, "v" * 900) for i in range(12000))))
open("line.eml", "w").write(msg(base64.b64encode(b"\0" * 800000).decode() + "\n",
    "MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n"))
open("big.eml", "w").write(msg("a" * 70 + "\n") + ("b" * 70 + "\n") * 80000)
EOF
before=$(sql "SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM inbound_review)")
for f in deep header line big; do
	"$PB" bounce ingest "$f.eml" >out 2>err
	eq "hostile $f: exit 65" "$?" 65
	eq "... refused" "$(cut -f2 out | head -1)" rejected
	check "... with a reason" test -n "$(cut -f7 out | head -1)"
done
eq "... nothing written" "$(sql "SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM inbound_review)")" "$before"

# ================================================================= policy
# soft@b.test soft-bounces in three campaigns in a row; tok reads the
# newest message to a recipient, so each round fills in that campaign's.
softfile=$(grep -v '^#' "$FIX/expected.tsv" | awk -F'\t' '$3 == "soft" { print $1; exit }')
for n in 1 2 3; do
	if [ "$n" -gt 1 ]; then
		"$PB" campaign create "c$n" --list news --template t \
		    --from news@example.com >/dev/null
		"$PB" send "c$n" --no-dkim --quiet >/dev/null 2>&1
		"$PY" tokens.py sink >tokens.tsv
	fi
	fill "$softfile" soft@b.test "soft$n.eml"
	"$PB" bounce ingest "soft$n.eml" >out 2>err
	eq "soft bounce $n of 3: a soft bounce" "$(cut -f2,5 out | head -1)" \
		"$(printf 'bounce\tsoft')"
	[ "$n" = 2 ] && eq "... after two, not suppressed" "$(supp soft@b.test)" ""
done
eq "... after three in a row, suppressed" "$(supp soft@b.test)" "* soft-bounce"

# A campaign still running (one recipient deferred) whose complaints
# pass complaint_rate_pause (20 %) pauses itself.
printf 'email,name\np1@c.test,P\np2@c.test,P\nlater@c.test,L\n' >tiny.csv
"$PB" list import tiny tiny.csv >/dev/null
"$PB" campaign create c4 --list tiny --template t --from news@example.com >/dev/null
"$PB" send c4 --no-dkim --quiet >/dev/null 2>&1
eq "c4 runs on, one delivery deferred" \
	"$(sql "SELECT status || ' ' || sent_count FROM campaigns WHERE name = 'c4'")" "running 2"
"$PY" tokens.py sink >tokens.tsv
arf=$(grep -v '^#' "$FIX/expected.tsv" | awk -F'\t' '$3 == "complaint" { print $1; exit }')
fill "$arf" p1@c.test arf-p1.eml
"$PB" bounce ingest arf-p1.eml >out 2>err
eq "a complaint in c4" "$(cut -f2,3 out | head -1)" "$(printf 'complaint\tc4')"
check "... says the campaign paused itself" has err "campaign c4 paused itself: complaint rate 50.00 %"
eq "... c4 is paused" "$(sql "SELECT status FROM campaigns WHERE name = 'c4'")" paused
"$PB" campaign show c4 >out 2>err
check "... campaign show says why" has out "complaint rate 50.00 % (1 of 2 sent) passed 20.00 %"
expect 0 "... resume clears the reason" "$PB" campaign resume c4
eq "... gone" "$(sql "SELECT coalesce(paused_reason, '-') FROM campaigns WHERE name = 'c4'")" "-"
done_testing
