#!/bin/bash
# import.sh - list import: CSV dialects, rejected rows, identity of
# addresses, formula cells, JSON Lines, and the failures that must leave
# the store as it was.
. "$TESTS/lib.sh"

# attrs ADDRESS: the stored attributes of one recipient.
attrs() { sql "SELECT attrs FROM recipients WHERE address = '$1'"; }
members() {
	sql "SELECT count(*) FROM list_members m JOIN lists l ON l.id = m.list_id
	    WHERE l.name = '$1'"
}

"$PB" init >/dev/null || exit 1

# ------------------------------------------------------------- UTF-8 BOM
printf '\357\273\277email,name\nbom1@example.com,One\nbom2@example.com,Two\n' \
	> bom.csv
expect 0 "a CSV with a UTF-8 BOM imports" "$PB" list import bom bom.csv
eq "... both rows" "$(members bom)" 2
eq "... the BOM is not part of the first column's name" \
	"$(attrs bom1@example.com)" '{"name":"One"}'

# ------------------------------------------------ quoting, CRLF and LF
printf 'email,company,quote,address\r\n' > quoted.csv
printf '"q1@example.com","Acme, Inc.","She said ""hi""","Main St 1\r\n12345 Town"\r\n' \
	>> quoted.csv
printf 'q2@example.com,"a,b,c","""",plain\r\n' >> quoted.csv
expect 0 "quoted fields with commas, quotes and CRLF import" \
	"$PB" list import quoted quoted.csv
eq "... the summary counts 2 rows" "$(cat out)" \
	"rows=2 added=2 updated=0 unchanged=0 duplicates=0 joined=2 rejected=0"
eq "... a comma inside quotes stays in the field" \
	"$(sql "SELECT json_extract(attrs, '\$.company') FROM recipients
	    WHERE address = 'q1@example.com'")" "Acme, Inc."
eq "... doubled quotes become one" \
	"$(sql "SELECT json_extract(attrs, '\$.quote') FROM recipients
	    WHERE address = 'q1@example.com'")" 'She said "hi"'
eq "... a CRLF inside quotes is kept" \
	"$(sql "SELECT hex(json_extract(attrs, '\$.address')) FROM recipients
	    WHERE address = 'q1@example.com'")" \
	"$(printf 'Main St 1\r\n12345 Town' | od -An -tx1 | tr -d ' \n' |
	    tr a-f A-F)"
eq "... a field of one quote" \
	"$(sql "SELECT json_extract(attrs, '\$.quote') FROM recipients
	    WHERE address = 'q2@example.com'")" '"'

printf 'email,name,city\r\ncr1@example.com,Ann,Berlin\r\ncr2@example.com,Bob,Paris\r\n' \
	> crlf.csv
printf 'email,name,city\nlf1@example.com,Ann,Berlin\nlf2@example.com,Bob,Paris\n' \
	> lf.csv
expect 0 "a CRLF file imports" "$PB" list import crlf crlf.csv
expect 0 "an LF file imports" "$PB" list import lf lf.csv
eq "CRLF: no carriage return left in the last column" \
	"$(attrs cr2@example.com)" '{"name":"Bob","city":"Paris"}'
eq "LF: the same attributes" "$(attrs lf2@example.com)" \
	'{"name":"Bob","city":"Paris"}'
eq "CRLF and LF give the same rows" \
	"$(sql "SELECT group_concat(attrs, '|') FROM (SELECT attrs FROM
	    recipients WHERE address LIKE 'cr_@%' ORDER BY address)")" \
	"$(sql "SELECT group_concat(attrs, '|') FROM (SELECT attrs FROM
	    recipients WHERE address LIKE 'lf_@%' ORDER BY address)")"
printf 'email\nlast1@example.com\nlast2@example.com' > nonl.csv
expect 0 "a file without a final newline imports" "$PB" list import nonl nonl.csv
eq "... including its last row" "$(members nonl)" 2

# ------------------------------------------------------------ empty lines
printf 'email,n\n\ne1@example.com,1\n\n\n   \ne2@example.com,2\n\n' > blank.csv
expect 0 "empty lines are skipped" "$PB" list import blank blank.csv
eq "... and are not rows" "$(cat out)" \
	"rows=2 added=2 updated=0 unchanged=0 duplicates=0 joined=2 rejected=0"

# ---------------------------------------- a bad row among good ones
{
	printf 'email,name\n'
	printf 'u1@example.com,Good\n'
	printf 'u2@example.com,"two\nlines"\n'
	printf 'u3@example.com,Caf\351\n'
	printf 'u4@example.com,Fine\n'
	printf 'not-an-address,Nope\n'
} > utf8.csv
expect 0 "a file with bad rows imports the good ones" \
	"$PB" list import utf8 utf8.csv --rejects rejects.csv
check "the invalid-UTF-8 row is reported with file and line" \
	has err "utf8.csv:5: rejected: column 2 (name): not valid UTF-8 text"
check "the bad address is reported with file, line and field" \
	has err "utf8.csv:7: rejected: column 1 (email): address has no '@'"
eq "exactly two rejects are reported" "$(grep -c 'rejected:' err)" 2
eq "the summary counts them" "$(cat out)" \
	"rows=5 added=3 updated=0 unchanged=0 duplicates=0 joined=3 rejected=2"
eq "the other rows are in" "$(sql "SELECT group_concat(address, ' ') FROM
	(SELECT address FROM recipients WHERE address LIKE 'u_@%' ORDER BY 1)")" \
	"u1@example.com u2@example.com u4@example.com"
eq "--rejects writes a header with line and reason first" \
	"$(head -n 1 rejects.csv)" "$(printf '"line","reason","email","name"\r')"
eq "--rejects writes one record per rejected row" \
	"$(/usr/bin/python3 -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8", errors="replace", newline="")))
print(len(rows) - 1, rows[1][0], rows[2][0], rows[2][1], rows[2][2])' rejects.csv)" \
	"2 5 7 column 1 (email): address has no '@' not-an-address"
check "--rejects names the reason of the UTF-8 reject" \
	has rejects.csv '"5","column 2 (name): not valid UTF-8 text","u3@example.com"'

# ----------------------------------------------------- address identity
printf 'email,name\nA@Example.COM,First\na@example.com,Second\n' > case.csv
expect 0 "two spellings of one address import" "$PB" list import case case.csv
eq "... as one recipient" \
	"$(sql "SELECT count(*) FROM recipients WHERE address_key = 'a@example.com'")" 1
eq "... counted as one added and one duplicate" "$(cat out)" \
	"rows=2 added=1 updated=0 unchanged=0 duplicates=1 joined=1 rejected=0"
eq "... the local part kept as first written, the domain lower-cased" \
	"$(sql "SELECT address FROM recipients WHERE address_key = 'a@example.com'")" \
	"A@example.com"
eq "... the later row's attributes merged" "$(attrs A@example.com)" \
	'{"name":"Second"}'
eq "... one member of the list" "$(members case)" 1

printf 'email\nj\303\274rgen@B\303\274cher.de\n' > idn.csv
expect 0 "an IDN address imports" "$PB" list import idn idn.csv
eq "... its domain stored as an A-label" \
	"$(sql "SELECT domain FROM recipients WHERE address_key LIKE 'j%rgen@%'")" \
	"xn--bcher-kva.de"
eq "... its local part kept" \
	"$(sql "SELECT address FROM recipients WHERE domain = 'xn--bcher-kva.de'")" \
	"jürgen@xn--bcher-kva.de"

# ---------------------------------------------------------- formula cells
printf 'email,link,phone,zip,n\nf1@example.com,"=HYPERLINK(""http://x.example/"",""click"")",+49 30 1234,007,42\n' \
	> formula.csv
expect 0 "a formula cell imports" "$PB" list import formula formula.csv
eq "... stored as text, unchanged" \
	"$(sql "SELECT json_type(attrs, '\$.link') || ' ' ||
	    json_extract(attrs, '\$.link') FROM recipients
	    WHERE address = 'f1@example.com'")" \
	'text =HYPERLINK("http://x.example/","click")'
eq "... a leading + stays text" \
	"$(sql "SELECT json_type(attrs, '\$.phone') FROM recipients
	    WHERE address = 'f1@example.com'")" text
eq "... a leading zero stays text, a plain number is a number" \
	"$(sql "SELECT json_type(attrs, '\$.zip') || ' ' ||
	    json_type(attrs, '\$.n') FROM recipients
	    WHERE address = 'f1@example.com'")" "text integer"
expect 0 "list export" "$PB" list export formula --output formula-out.csv
check "export neutralises the formula with a leading apostrophe" \
	has formula-out.csv "\"'=HYPERLINK(\"\"http://x.example/\"\",\"\"click\"\")\""
check "export neutralises a leading +" has formula-out.csv "\"'+49 30 1234\""
eq "export reads back as the original plus the apostrophe" \
	"$(/usr/bin/python3 -c 'import csv, sys
r = list(csv.DictReader(open(sys.argv[1], newline="")))
print(len(r), r[0]["email"], r[0]["link"], r[0]["zip"], r[0]["n"])' formula-out.csv)" \
	"1 f1@example.com '=HYPERLINK(\"http://x.example/\",\"click\") 007 42"

# ------------------------------------------------------------- re-import
printf 'email,name,seats\nr1@example.com,Ann,3\nr2@example.com,Bob,5\nr3@example.com,Cy,\n' \
	> again.csv
expect 0 "first import" "$PB" list import again again.csv
eq "... adds three" "$(cat out)" \
	"rows=3 added=3 updated=0 unchanged=0 duplicates=0 joined=3 rejected=0"
s0=$(store_sum)
expect 0 "the same file again" "$PB" list import again again.csv
eq "... adds nothing" "$(cat out)" \
	"rows=3 added=0 updated=0 unchanged=3 duplicates=0 joined=0 rejected=0"
eq "... and changes nothing in the store" "$(store_sum)" "$s0"
expect 0 "the BOM/CRLF files again" "$PB" list import utf8 utf8.csv
check "... report added=0" grep -q ' added=0 ' out
eq "... the list still has 3 members" "$(members utf8)" 3

# ---------------------------------------------------------- --email-column
printf 'Name,E-Mail Address\nEve,eve@example.com\n' > col.csv
expect 65 "without --email-column the file has no email column" \
	"$PB" list import col col.csv
expect 0 "--email-column names it (any case)" \
	"$PB" list import col col.csv --email-column "e-mail address"
eq "... the address is taken from it" "$(attrs eve@example.com)" '{"Name":"Eve"}'

# -------------------------------------------------------------- JSON Lines
cat > people.jsonl <<'EOF'
{"email": "j1@example.com", "city": {"name": "Berlin", "geo": {"lat": 52.52}}, "tags": ["a", "b"], "seats": 5, "vip": true}

{"email": "j2@example.com", "city": {"name": "Hamburg"}}
this is not JSON
{"mail": "j3@example.com"}
["j4@example.com"]
EOF
expect 0 "a .jsonl file imports" "$PB" list import jl people.jsonl
eq "... good lines in, bad ones out" "$(cat out)" \
	"rows=5 added=2 updated=0 unchanged=0 duplicates=0 joined=2 rejected=3"
check "... bad JSON reported with its line" has err "people.jsonl:4: rejected:"
check "... a missing email member reported with its line" \
	has err 'people.jsonl:5: rejected: no string member "email"'
check "... a non-object reported with its line" \
	has err "people.jsonl:6: rejected: not a JSON object"
eq "nested objects are kept" \
	"$(sql "SELECT json_extract(attrs, '\$.city.name') || ' ' ||
	    json_extract(attrs, '\$.city.geo.lat') FROM recipients
	    WHERE address = 'j1@example.com'")" "Berlin 52.52"
eq "arrays are kept" \
	"$(sql "SELECT json_extract(attrs, '\$.tags[1]') || ' ' ||
	    json_array_length(attrs, '\$.tags') FROM recipients
	    WHERE address = 'j1@example.com'")" "b 2"
eq "types are kept" \
	"$(sql "SELECT json_type(attrs, '\$.seats') || ' ' ||
	    json_type(attrs, '\$.vip') FROM recipients
	    WHERE address = 'j1@example.com'")" "integer true"
eq "the email member is not an attribute" \
	"$(sql "SELECT json_type(attrs, '\$.email') IS NULL FROM recipients
	    WHERE address = 'j1@example.com'")" 1
cp people.jsonl people.txt
expect 0 "--format jsonl reads JSON Lines from any name" \
	"$PB" list import jl2 people.txt --format jsonl
check "... the same rows" grep -q 'rows=5 added=0 .* joined=2 rejected=3' out

# ------------------------------------------------------------------ --strict
s0=$(store_sum)
printf 'email,n\nk1@example.com,1\nbroken,2\nk3@example.com,3\n' > strict.csv
expect 65 "--strict with a bad row exits 65" \
	"$PB" list import strict strict.csv --strict
check "... reporting the row" has err "strict.csv:3: rejected:"
check "... and that nothing was imported" has err "nothing imported (--strict)"
eq "... leaving the store unchanged" "$(store_sum)" "$s0"
eq "... no list created" "$(sql "SELECT count(*) FROM lists WHERE name = 'strict'")" 0
expect 0 "without --strict the same file imports its good rows" \
	"$PB" list import strict strict.csv
eq "... two of them" "$(members strict)" 2

# ------------------------------------------------ faults of the whole file
s0=$(store_sum)
printf 'mail,name\nm1@example.com,M\n' > noemail.csv
expect 65 "a file without an email column exits 65" \
	"$PB" list import noemail noemail.csv
check "... naming the file and line" has err "noemail.csv:1: "
check "... and the missing column" has err 'no column named "email"'
eq "... leaving the store unchanged" "$(store_sum)" "$s0"
eq "... without creating the list" \
	"$(sql "SELECT count(*) FROM lists WHERE name = 'noemail'")" 0

printf 'email,note\nw1@example.com,ok\nw2@example.com,"never closed\nw3@example.com,x\n' \
	> unterminated.csv
expect 65 "an unterminated quote exits 65" \
	"$PB" list import unterm unterminated.csv
check "... naming the file and the line the field starts on" \
	has err "unterminated.csv:3: "
check "... saying the quote is not closed" has err "not closed"
eq "... leaving the store unchanged (not even the good first row)" \
	"$(store_sum)" "$s0"

printf 'email,note\nw1@example.com,"ab"cd\n' > badquote.csv
expect 65 "text after a closing quote exits 65" \
	"$PB" list import badquote badquote.csv
check "... naming file and line" has err "badquote.csv:2: malformed CSV"
eq "... leaving the store unchanged" "$(store_sum)" "$s0"

: > empty.csv
expect 65 "an empty file exits 65" "$PB" list import empty empty.csv
check "... saying a header was expected" has err "empty.csv: the file is empty"
eq "... leaving the store unchanged" "$(store_sum)" "$s0"

expect 66 "a missing file exits 66" "$PB" list import missing nosuch.csv
check "... naming it" has err "nosuch.csv"
eq "... leaving the store unchanged" "$(store_sum)" "$s0"

# ------------------------------------------------ creating the list or not
printf 'email\nn1@example.com\n' > new.csv
expect 66 "--no-create refuses a missing list" \
	"$PB" list import fresh new.csv --no-create
check "... naming the list" has err 'no list named "fresh"'
eq "... leaving the store unchanged" "$(store_sum)" "$s0"
expect 0 "import creates a missing list" "$PB" list import fresh new.csv
eq "... the list exists with its member" "$(members fresh)" 1
expect 0 "--no-create accepts an existing list" \
	"$PB" list import fresh lf.csv --no-create
eq "... which gains the members" "$(members fresh)" 3
expect 64 "a bad list name is a usage error" "$PB" list import "no name" new.csv

# ----------------------------------------------------------- standard input
# shellcheck disable=SC2016
expect 0 "FILE - reads standard input" \
	sh -c 'printf "email\nstdin@example.com\n" | "$0" list import stdin -' "$PB"
eq "... the row is in" "$(members stdin)" 1

# ------------------------------------------- round trips and edges
printf '{"email":"null@example.com","x":null,"y":1}\n' > nulls.jsonl
expect 0 "JSON nulls: first import" "$PB" list import nulls nulls.jsonl
eq "... null members are not stored" "$(attrs null@example.com)" '{"y":1}'
expect 0 "JSON nulls: the same file again" "$PB" list import nulls nulls.jsonl
has out "updated=0 unchanged=1" && ok "... changes nothing" || notok "... changes nothing"

printf 'email,n,p\n-bob@example.com,=SUM(A1),+49 30 1234\n' > formula.csv
"$PB" list import rt formula.csv >/dev/null
expect 0 "export of formula cells" "$PB" list export rt --output rt.csv
check "... neutralises the address and the cells" has rt.csv "\"'-bob@example.com\",\"'=SUM(A1)\",\"'+49 30 1234\""
s0=$(store_sum)
expect 0 "importing the export back" "$PB" list import rt rt.csv
has out "added=0 updated=0 unchanged=1" && ok "... is the same recipient, unchanged" || notok "... is the same recipient, unchanged"
eq "... store unchanged" "$(store_sum)" "$s0"

printf '{"email":"clash@example.com","a.b":1,"a":{"b":2}}\n' > clash.jsonl
"$PB" list import clash clash.jsonl >/dev/null
expect 65 "export refuses a key that clashes with a nested one" "$PB" list export clash
check "... naming the recipient and the path" has err 'clash@example.com: attribute "a.b"'

printf 'email,"bad\nname"\nx@example.com,1\n' > ctl.csv
s0=$(store_sum)
expect 65 "a header name with a line break" "$PB" list import ctl ctl.csv
eq "... store unchanged" "$(store_sum)" "$s0"

/usr/bin/python3 -c 'print("email,big"); print("big@example.com," + "x" * 65536)' > edge.csv
expect 0 "a field of exactly 65536 bytes is fine" "$PB" list import edge edge.csv
/usr/bin/python3 -c 'print("email,big"); print("big2@example.com," + "x" * 65537)' > over.csv
s0=$(store_sum)
expect 65 "a field of 65537 bytes aborts the import" "$PB" list import edge over.csv
check "... saying so" has err "longer than 65536 bytes"
eq "... store unchanged" "$(store_sum)" "$s0"

printf '\xef\xbb\xbfemail\nbom@example.com\n' > supp-bom.txt
expect 0 "suppression file with a BOM and an email header" "$PB" suppress import supp-bom.txt
eq "... header skipped, address added" "$(cat out)" "lines=1 added=1 existing=0 rejected=0"
printf '# nothing valid\nnot-an-address\n' > supp-bad.txt
expect 66 "suppress import --list with an unknown list" "$PB" suppress import supp-bad.txt --list nosuch

done_testing
