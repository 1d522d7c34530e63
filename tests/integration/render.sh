#!/bin/bash
# render.sh - templates to messages through the real binary, read back by
# an independent parser (Python's email package, policy=default): what a
# receiver decodes is exactly what the template and attributes said, no
# value adds a header or a line, and tracking rewrites what it should.
. "$TESTS/lib.sh"

MC="/usr/bin/python3 $TESTS/tools/msgcheck.py"
"$PB" init >/dev/null || exit 1

# preview FILE ATTRS [ARGS...]: the message for those attributes.
preview() {
	_f=$1; _a=$2; shift 2
	"$PB" template preview t --attrs "$_a" "$@" > "$_f" 2>err
}

# ----------------------------------------------------- subject round trip
printf '<p>Hello {{ first_name }}</p>\n' > t.html
printf 'Hello {{ first_name }}\n' > t.txt
"$PB" template add t --subject '{{ subject }}' --html t.html --text t.txt >/dev/null

subjects=(
	"Grüße aus Köln, Jürgen Müller"
	"🎉 Sale: 50 % off everything 🎉"
	"$(/usr/bin/python3 -c 'print(("Ärger über Öl und Straßen 🚗 " * 8)[:200])')"
	"=?UTF-8?Q?a=0D=0ABcc:_x@evil.test?="
	"plain ASCII subject that is long enough to need folding because it goes on and on past seventy-eight columns"
	"https://example.com/$(printf 'a%.0s' $(seq 100))"
)
for s in "${subjects[@]}"; do
	attrs=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"subject": sys.argv[1], "first_name": "X"}))' "$s")
	preview m.eml "$attrs"
	eq "subject decodes back: ${s:0:40}" "$($MC header m.eml Subject)" "$s"
	eq "... raw lines are CRLF and short" "$($MC raw m.eml)" ok
	eq "... no parser defects" "$($MC defects m.eml)" none
done

# ----------------------------------------------------- header injection
for v in 'Eve\r\nBcc: victim@evil.test' 'Eve\nBcc: victim@evil.test' \
    'Eve\rBcc: victim@evil.test' 'x\r\n\r\nInjected body'; do
	attrs=$(printf '{"subject": "Hi %s", "first_name": "%s"}' "$v" "$v")
	preview m.eml "$attrs"
	eq "no Bcc from a value holding $v" "$($MC header m.eml Bcc)" "<absent>"
	eq "... the header set is exactly ours" "$($MC names m.eml | tr '\n' ' ')" \
	    "From To Subject Date Message-ID MIME-Version Content-Type "
	check "... the subject is one line with the text in it" \
	    test "$($MC header m.eml Subject | wc -l)" -eq 1
	eq "... raw lines are CRLF" "$($MC raw m.eml)" ok
done
preview m.eml '{"subject": "a\u0007b\tc\u001bd", "first_name": "x"}'
eq "BEL, TAB and ESC in a subject become spaces" "$($MC header m.eml Subject)" "a b c d"

# ----------------------------------------------------- bodies
printf '{{ body }}\n' > b.txt
printf '<pre>{{ body }}</pre>\n' > b.html
"$PB" template add t --subject s --html b.html --text b.txt >/dev/null
bodies=('line\n.\nafter' 'line\r\n.\r\nafter' '.leading dot' 'From me, with love'
	'Grüße 🎉 ünd mehr' 'trailing space ' 'tab\tend')
for b in "${bodies[@]}"; do
	attrs=$(printf '{"body": "%s"}' "$b")
	preview m.eml "$attrs"
	want=$(printf '%b' "$b" | sed 's/\r$//' | tr -d '\r')
	eq "text part decodes back: $b" "$($MC part m.eml text)" "$want"
	eq "... raw lines are CRLF" "$($MC raw m.eml)" ok
done
long=$(/usr/bin/python3 -c 'print("wörd " * 1000)')
preview m.eml "{\"body\": \"$long\"}"
eq "a 6,000-byte line: raw lines stay under 998" "$($MC raw m.eml)" ok
eq "... and it decodes back whole" "$($MC part m.eml text)" "$(printf '%s' "$long")"
preview m.eml '{"body": "<script>alert(1)</script> & \"q\""}'
check "HTML part escapes a value" has <($MC part m.eml html) \
	'&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;'
preview m.eml '{"body": "{{ unsubscribe_url }}"}'
eq "a value holding a tag renders literally" "$($MC part m.eml text)" \
	"{{ unsubscribe_url }}"

# ----------------------------------------------------- display names
printf '<p>x</p>\n' > x.html
"$PB" template add x --subject 'Hi' --html x.html >/dev/null
printf 'email,first_name\nr@example.com,Rita\n' > l.csv
"$PB" list import l l.csv >/dev/null
for from in 'Müller, Jürgen <news@example.com>' '"Acme, Inc." <news@example.com>' \
    'Plain Name <news@example.com>' '🎉 Party People <news@example.com>'; do
	n=$((${n:-0} + 1))
	"$PB" campaign create "d$n" --list l --template x --from "$from" >/dev/null
	"$PB" template preview x --campaign "d$n" --email r@example.com > m.eml
	want=$(echo "$from" | sed 's/ <.*//; s/^"//; s/"$//')
	eq "From display name decodes back: $want" "$($MC addr m.eml From)" \
	    "$want|news@example.com"
done

# ----------------------------------------------------- tracking
cat > postbote.json <<'EOF'
{ "tracking": { "base_url": "https://t.example.com/" },
  "bounces": { "return_path_domain": "bounce.example.com" } }
EOF
cat > track.html <<'EOF'
<html><body>
<p><a href="https://example.com/a?x=1&amp;y=2">A</a>
<a href="http://example.com/b">B</a>
<a href="mailto:help@example.com">mail</a>
<a href="#top">top</a>
<a href="https://example.com/c" data-notrack>C</a>
<a href="{{ unsubscribe_url }}">unsubscribe</a></p>
</body></html>
EOF
"$PB" template add tr --subject 'Tracked' --html track.html >/dev/null
"$PB" campaign create tc --list l --template tr --from n@example.com >/dev/null
"$PB" template preview tr --campaign tc --email r@example.com > m.eml
$MC part m.eml html > h.html
eq "two links rewritten to the click URL" \
	"$(grep -o 'href="https://t.example.com/c/[A-Za-z0-9_-]*"' h.html | wc -l | tr -d ' ')" 2
check "... mailto kept" has h.html 'href="mailto:help@example.com"'
check "... fragment kept" has h.html 'href="#top"'
check "... data-notrack kept" has h.html 'href="https://example.com/c" data-notrack'
check "... unsubscribe is the /u/ URL" grep -q 'href="https://t.example.com/u/' h.html
check "... open pixel before </body>" grep -q '<img src="https://t.example.com/o/[A-Za-z0-9_-]*.gif"[^>]*></body>' h.html
check "List-Unsubscribe has the https and mailto forms" grep -q \
	'^<https://t.example.com/u/[A-Za-z0-9_-]*>, <mailto:unsubscribe+[A-Za-z0-9_-]*@bounce.example.com>$' \
	<($MC header m.eml List-Unsubscribe)
eq "List-Unsubscribe-Post is the one-click form" \
	"$($MC header m.eml List-Unsubscribe-Post)" "List-Unsubscribe=One-Click"
id1=$($MC header m.eml Message-ID)
"$PB" template preview tr --campaign tc --email r@example.com > m2.eml
eq "Message-ID is the same for the same delivery" "$($MC header m2.eml Message-ID)" "$id1"
expect 0 "campaign start records the tracked links" "$PB" campaign start tc
eq "... exactly the two targets, entities decoded" \
	"$(sql "SELECT group_concat(idx || '=' || url, ' ') FROM campaign_links")" \
	"0=https://example.com/a?x=1&y=2 1=http://example.com/b"

printf '<p><a href="javascript:alert(1)">x</a></p>\n' > js.html
expect 65 "a javascript: link is refused at template add" \
	"$PB" template add js --subject s --html js.html
check "... naming line and column" has err "line 1, column"
printf '<p><a href=" DATA:text/html,x">x</a></p>\n' > data.html
expect 65 "a data: link is refused too" "$PB" template add js --subject s --html data.html

# ----------------------------------------------------- options and checks
rm -f postbote.json
printf '<p>{{ missing }}</p>\n' > miss.html
"$PB" template add miss --subject 'Hi {{ first_name }}' --html miss.html >/dev/null
"$PB" campaign create strict --list l --template miss --from n@example.com \
	--strict-variables --header 'X-Campaign: nov' --list-id 'News <news.example.com>' \
	--feedback-id 'nov:news:acme' >/dev/null
expect 65 "strict variables: a missing one fails the recipient" \
	"$PB" template preview miss --campaign strict --email r@example.com
check "... naming it" has err '"missing"'
"$PB" campaign create lenient --list l --template miss --from n@example.com >/dev/null
expect 0 "lenient (the default) renders it empty" \
	"$PB" template preview miss --campaign lenient --email r@example.com
"$PB" campaign create hdr --list l --template t --from n@example.com \
	--header 'X-Campaign: nov' --list-id 'News <news.example.com>' \
	--feedback-id 'nov:news:acme' >/dev/null
"$PB" template preview t --campaign hdr --attrs '{"body": "b"}' > m.eml
eq "custom header" "$($MC header m.eml X-Campaign)" nov
eq "List-Id" "$($MC header m.eml List-Id)" "News <news.example.com>"
eq "Feedback-ID" "$($MC header m.eml Feedback-ID)" "nov:news:acme"
expect 65 "a header Postbote writes itself is refused" "$PB" campaign create h2 \
	--list l --template t --from n@example.com --header 'Bcc: x@example.com'
expect 64 "a header without a colon is a usage error" "$PB" campaign create h3 \
	--list l --template t --from n@example.com --header 'X-Nothing'

printf '<p>{{ plan | uper }}</p>\n' > bad.html
expect 65 "a syntax error is refused at template add" \
	"$PB" template add bad --subject s --html bad.html
check "... with part, line and column" has err "template bad, part html, line 1, column 14"
check "... and a caret under it" grep -q '^ *\^$' err
expect 65 "template check --list: a variable no member has" \
	"$PB" template check miss --list l
check "... is named with its place" has err 'part html, line 1, column 7: no member of list l has "missing"'
expect 0 "template check without --list only compiles" "$PB" template check miss
expect 66 "preview of an unknown recipient" "$PB" template preview t --email nobody@example.com

# ----------------------------------------------------- hostile values
printf '<p>{{ x | number: 10 }} {{ x | number: 2 }}</p>\n' > num.html
"$PB" template add num --subject s --html num.html >/dev/null
expect 0 "a number too large for a double is left as written" \
	"$PB" template preview num --attrs '{"x": "1e400"}'
check "... both times" has <($MC part out html) "1e400 1e400"
printf '<p>{{#each a}}{{#each a}}{{#each a}}{{/each}}{{/each}}{{/each}}</p>\n' > loops.html
"$PB" template add loops --subject s --html loops.html >/dev/null
big=$(/usr/bin/python3 -c 'import json; print(json.dumps({"a": list(range(300))}))')
expect 65 "nested loops over a large array stop at the step limit" \
	"$PB" template preview loops --attrs "$big"
check "... saying why" has err "steps"

# ----------------------------------------------------- links with clicks off
printf '{ "tracking": { "base_url": "https://t.example.com", "clicks": false } }\n' > postbote.json
"$PB" campaign create off --list l --template tr --from n@example.com >/dev/null
expect 0 "campaign start with clicks off" "$PB" campaign start off
eq "... still records the link targets, for a send with clicks on" \
	"$(sql "SELECT count(*) FROM campaign_links l JOIN campaigns c ON c.id = l.campaign_id WHERE c.name = 'off'")" 2
"$PB" template preview tr --campaign off --email r@example.com > m.eml
eq "... and the preview has no click URLs" \
	"$($MC part m.eml html | grep -c 't.example.com/c/')" 0
rm -f postbote.json

done_testing
