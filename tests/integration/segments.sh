#!/bin/bash
# segments.sh - campaign segments: hostile or oversized expressions are
# refused before anything is written; valid ones count the right members.
. "$TESTS/lib.sh"

py() { /usr/bin/python3 -c "$@"; }

"$PB" init >/dev/null || exit 1
# Six members. a4 is written in upper case; a6 has no attributes at all.
cat > members.csv <<'EOF'
email,country,plan,seats,city.name,trial,note
a1@example.com,DE,pro,5,Berlin,true,likes cats
a2@example.com,DE,team,12,Munich,,
a3@example.org,FR,free,1,Paris,,dog person
A4@Example.ORG,AT,pro,3.5,,,
a5@test.example,de,pro,,Hamburg,false,
a6@test.example,,,,,,
EOF
"$PB" list import m members.csv >/dev/null || exit 1
echo '<p>x</p>' > t.html
"$PB" template add t --subject s --html t.html >/dev/null || exit 1

n=0
# create SEGMENT: creates a campaign on list m with that segment.
create() {
	n=$((n + 1))
	"$PB" campaign create "c$n" --list m --template t \
	    --from sender@example.com --segment "$1"
}

# ------------------------------------------------------------ refusals
# refused DESC SEGMENT [TEXT]: exit 65, no campaign, store unchanged, and
# TEXT (when given) in the message.
refused() {
	_s0=$(store_sum)
	_c0=$(sql "SELECT count(*) FROM campaigns")
	expect 65 "$1: refused with exit 65" create "$2"
	check "$1: the message is about the segment" has err "segment"
	if [ $# -ge 3 ]; then check "$1: the message says why" has err "$3"; fi
	eq "$1: no campaign row" "$(sql "SELECT count(*) FROM campaigns")" "$_c0"
	eq "$1: store unchanged" "$(store_sum)" "$_s0"
}

refused "SQL after a statement" '1=1; DROP TABLE recipients' \
	"expected an attribute name"
refused "a statement after a test" "country = 'DE'; DROP TABLE recipients" \
	"expected a valid token, found ';'"
refused "a subquery" '(SELECT count(*) FROM suppressions) > 0'
refused "a function call" 'randomblob(1000000000)'
refused "a function call as a value" 'seats = randomblob(1000000000)'
refused "an SQL comment" "country = 'DE' -- x"
refused "a string that breaks out of its quotes" "country = 'DE'' OR 1=1 --"
eq "the recipients table is still there" \
	"$(sql "SELECT count(*) FROM recipients")" 6

py "print('(' * 10000 + \"country = 'DE'\" + ')' * 10000, end='')" > deep.txt
refused "10,000 nested parentheses" "$(cat deep.txt)" \
	"the limit is 4096"
py "print('(' * 40 + \"country = 'DE'\" + ')' * 40, end='')" > forty.txt
refused "40 nested parentheses (length is fine)" "$(cat forty.txt)" \
	"nested deeper than 32 levels"
py "print('(' * 33 + \"country = 'DE'\" + ')' * 33, end='')" > d33.txt
refused "33 nested parentheses (one level too deep)" "$(cat d33.txt)" \
	"nested deeper than 32 levels"
py "print('(' * 32 + \"country = 'DE'\" + ')' * 32, end='')" > d32.txt
expect 0 "32 nested parentheses (the limit) are accepted" create "$(cat d32.txt)"
eq "... and count" "$(cat out)" "members=6 matching=2 suppressed=0 eligible=2"
py "
s = \"country = 'DE'\"
s = s + ' ' * (102400 - len(s))
print(s, end='')" > big.txt
eq "the big expression is 100 KB" "$(wc -c < big.txt | tr -d ' ')" 102400
refused "a 100 KB expression" "$(cat big.txt)" "the limit is 4096"
py "
s = \"country = 'DE'\"
print(s + ' ' * (4097 - len(s)), end='')" > l4097.txt
refused "4097 bytes, one over the length limit" "$(cat l4097.txt)" \
	"segment is 4097 bytes long"
py "
s = \"country = 'DE'\"
print(s + ' ' * (4096 - len(s)), end='')" > l4096.txt
expect 0 "4096 bytes, the length limit, are accepted" create "$(cat l4096.txt)"
py "print(' or '.join(['seats = %d' % i for i in range(65)]), end='')" > t65.txt
refused "65 comparisons" "$(cat t65.txt)" "more than 64 tests"
refused "a syntax error" "country = " "expected a value"
refused "an unterminated string" "country = 'DE" "segment, column"
refused "a bare word" "country" "expected a comparison"
refused "an empty 'contains'" "note contains ''" "empty string"
refused "fields on email" "email.local = 'x'" "email has no fields"

# --------------------------------------------------------- valid segments
# counts SEGMENT N: the summary reports N of 6 members match.
counts() {
	expect 0 "segment \"$1\" is accepted" create "$1"
	eq "segment \"$1\" matches $2" "$(cat out)" \
		"members=6 matching=$2 suppressed=0 eligible=$2"
}

counts "country = 'DE'" 2
counts "country == 'DE'" 2
counts "country = 'de'" 1
counts "country != 'DE'" 4
counts "country <> 'DE'" 4
counts "not (country = 'DE')" 4
counts "seats >= 5" 2
counts "seats > 5" 1
counts "seats < 5" 2
counts "seats <= 3.5" 2
counts "seats = 3.5" 1
counts "seats = 12" 1
counts "seats != 5" 5
counts "plan in ('pro', 'team')" 4
counts "plan in ('free')" 1
counts "plan not in ('pro', 'team')" 2
counts "seats in (1, 12)" 2
counts "trial is set" 2
counts "trial is not set" 4
counts "trial = true" 1
counts "trial = false" 1
counts "note contains 'cat'" 1
counts "note not contains 'cat'" 5
counts "city.name = 'Berlin'" 1
counts "\"city\".\"name\" = 'Paris'" 1
counts "city.name starts with 'M'" 1
counts "city.name ends with 'burg'" 1
counts "city.name is set" 4
counts "city.zip is set" 0
counts "email ends with '@example.org'" 2
counts "email ends with '@EXAMPLE.ORG'" 2
counts "email starts with 'a1@'" 1
counts "email = 'a4@example.org'" 1
counts "email = 'A4@EXAMPLE.ORG'" 1
counts "email contains 'test'" 2
counts "domain = 'test.example'" 2
counts "domain = 'Example.COM'" 2
counts "domain in ('example.com', 'example.org')" 4
counts "domain != 'example.com'" 4
counts "country = 'DE' and seats > 10 or plan = 'free'" 2
counts "country = 'DE' and (seats > 10 or plan = 'free')" 1
counts "(plan = 'pro' or plan = 'team') and not (city.name = 'Berlin')" 3
counts "COUNTRY = 'DE'" 0
counts "country = 'DE' AND seats > 10" 1
counts "nosuch = 1" 0

expect 0 "an empty segment is the whole list" create ""
eq "... all six" "$(cat out)" "members=6 matching=6 suppressed=0 eligible=6"
eq "... stored as no segment" \
	"$(sql "SELECT count(*) FROM campaigns WHERE name = 'c$n' AND segment IS NULL")" 1
expect 0 "a segment is stored as written" create "plan   in ('pro')"
eq "... in the campaign row" \
	"$(sql "SELECT segment FROM campaigns WHERE name = 'c$n'")" \
	"plan   in ('pro')"

# Suppressed members are counted apart.
"$PB" suppress add a1@example.com >/dev/null
"$PB" suppress add @test.example >/dev/null
expect 0 "a segment over suppressed members" create "country = 'DE'"
eq "... counts them as suppressed" "$(cat out)" \
	"members=6 matching=2 suppressed=1 eligible=1"
expect 0 "a segment with a suppressed domain" create "plan = 'pro'"
eq "... counts its members as suppressed" "$(cat out)" \
	"members=6 matching=3 suppressed=2 eligible=1"
expect 0 "starting it" "$PB" campaign start "c$n"
eq "... creates the eligible deliveries only" \
	"$(sql "SELECT group_concat(r.address_key) FROM deliveries d JOIN
	    recipients r ON r.id = d.recipient_id JOIN campaigns c ON
	    c.id = d.campaign_id WHERE c.name = 'c$n'")" "a4@example.org"

# Domains are stored as A-labels: a literal in either form, any case, finds
# the same members.
printf 'email\njürgen@bücher.example\nanna@BÜCHER.example\nx@other.example\n' > idn.csv
"$PB" list import idn idn.csv >/dev/null
idn() {
	n=$((n + 1))
	"$PB" campaign create "c$n" --list idn --template t \
	    --from sender@example.com --segment "$1"
}
for lit in "domain = 'bücher.example'" "domain = 'BÜCHER.example'" \
    "domain = 'xn--bcher-kva.example'" "email ends with '@Bücher.example'" \
    "domain ends with '.example' and email starts with 'j'"; do
	expect 0 "IDN literal: $lit" idn "$lit"
	case "$lit" in
	*"starts with"*) want=1 ;;
	*) want=2 ;;
	esac
	eq "... matches $want" "$(cat out)" \
	    "members=3 matching=$want suppressed=0 eligible=$want"
done
expect 0 "IDN literal: email = 'jürgen@bücher.example'" \
	idn "email = 'jürgen@bücher.example'"
eq "... matches the one address" "$(cat out)" \
	"members=3 matching=1 suppressed=0 eligible=1"

# An empty literal compared with an address or domain.
for seg in "email = ''" "domain = ''" "email in ('')" "email = '' or country = 'DE'"; do
	expect 0 "empty address literal: $seg" create "$seg"
done

done_testing
