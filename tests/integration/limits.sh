#!/bin/bash
# limits.sh - the input limits a user meets on the command line, each at
# its edge (accepted) and one past it (refused with the file, line and
# field named, the store left as it was): a CSV cell, a JSON Lines record,
# a recipient's attributes, the rejects printed, a template part and
# subject, a name, the custom headers, a segment, the config file (a
# regular one and a pipe) and the number of workers.
# The numbers are limits.h's; tests/unit/test_limits_input.c has them all.
. "$TESTS/lib.sh"

LIMIT_IMPORT_FIELD=65536
LIMIT_IMPORT_LINE=1048576
LIMIT_ATTRS=65536
LIMIT_IMPORT_REPORTED=20
LIMIT_TEMPLATE_PART=524288
LIMIT_SUBJECT=998
LIMIT_NAME=128
LIMIT_HEADERS=32
LIMIT_SEGMENT_LEN=4096
LIMIT_CONFIG_FILE=1048576
LIMIT_WORKERS=64

py() { /usr/bin/python3 -c "$@"; }
recipients() { sql "SELECT count(*) FROM recipients"; }
attrs_len() { sql "SELECT length(CAST(attrs AS BLOB)) FROM recipients WHERE address = '$1'"; }
# refused CODE DESC CMD...: CMD exits CODE and the store is as it was.
refused() {
	_code=$1; _desc=$2; shift 2
	_sum=$(store_sum); _count=$(recipients)
	expect "$_code" "$_desc" "$@"
	eq "... the store is unchanged" "$(store_sum)" "$_sum"
	eq "... the recipient count is the same" "$(recipients)" "$_count"
}

"$PB" init >/dev/null || exit 1

# ------------------------------------------------- LIMIT_IMPORT_FIELD
# A cell of exactly the limit passes the CSV reader; as an attribute it
# is more than LIMIT_ATTRS of JSON, so that row (and only that row) is
# rejected for its attributes. One byte more aborts the whole file.
py "import sys; n = int(sys.argv[1])
print('email,a'); print('field@example.com,' + 'x' * n); print('ok@example.com,y')" \
	$LIMIT_IMPORT_FIELD > field.csv
expect 0 "a CSV cell of $LIMIT_IMPORT_FIELD bytes does not stop the import" \
	"$PB" list import fields field.csv
eq "... both rows read, the other one added" "$(cat out)" \
	"rows=2 added=1 updated=0 unchanged=0 duplicates=0 joined=1 rejected=1"
check "... its row meets the attribute limit instead" \
	has err "field.csv:2: rejected: attributes are larger than $LIMIT_ATTRS bytes"
py "import sys; n = int(sys.argv[1])
print('email,a'); print('ok2@example.com,y'); print('field2@example.com,' + 'x' * n)" \
	$((LIMIT_IMPORT_FIELD + 1)) > field-over.csv
refused 65 "a CSV cell of $((LIMIT_IMPORT_FIELD + 1)) bytes aborts the import" \
	"$PB" list import fields field-over.csv
check "... naming the file, the line and the column" has err \
	"field-over.csv:3: column 2 (a): a field is longer than $LIMIT_IMPORT_FIELD bytes"

# -------------------------------------------------- LIMIT_IMPORT_LINE
# Padding inside the object keeps the record valid at any length.
jsonl_line() {
	py "import sys; n = int(sys.argv[1]); h = '{\"email\":\"' + sys.argv[2] + '\"'
print(h + ' ' * (n - len(h) - 1) + '}')" "$1" "$2"
}
jsonl_line $LIMIT_IMPORT_LINE line@example.com > line.jsonl
eq "line.jsonl: the record is $LIMIT_IMPORT_LINE bytes" \
	"$(head -1 line.jsonl | tr -d '\n' | wc -c)" $LIMIT_IMPORT_LINE
expect 0 "a JSON Lines record of $LIMIT_IMPORT_LINE bytes imports" \
	"$PB" list import lines line.jsonl --strict
eq "... added" "$(cat out)" \
	"rows=1 added=1 updated=0 unchanged=0 duplicates=0 joined=1 rejected=0"
{ echo '{"email":"first@example.com"}'
  jsonl_line $((LIMIT_IMPORT_LINE + 1)) line2@example.com; } > line-over.jsonl
refused 65 "a record of $((LIMIT_IMPORT_LINE + 1)) bytes fails a --strict import" \
	"$PB" list import lines line-over.jsonl --strict
check "... naming the file and the line" has err \
	"line-over.jsonl:2: rejected: line is longer than $LIMIT_IMPORT_LINE bytes"
check "... and saying nothing was imported" has err "nothing imported (--strict)"
expect 0 "without --strict the record alone is rejected" \
	"$PB" list import lines line-over.jsonl
eq "... the other row added" "$(cat out)" \
	"rows=2 added=1 updated=0 unchanged=0 duplicates=0 joined=1 rejected=1"

# -------------------------------------------------------- LIMIT_ATTRS
# {"a":"..."} is 8 bytes more than its value.
py "import sys; n = int(sys.argv[1])
print('email,a'); print('attrs@example.com,' + 'x' * (n - 8))" $LIMIT_ATTRS > attrs.csv
expect 0 "attributes of exactly $LIMIT_ATTRS bytes import" \
	"$PB" list import attrs attrs.csv --strict
eq "... stored whole" "$(attrs_len attrs@example.com)" $LIMIT_ATTRS
py "import sys, json; n = int(sys.argv[1])
print(json.dumps({'email': 'ok3@example.com'}))
print(json.dumps({'email': 'attrs2@example.com', 'a': 'x' * (n - 8)}, separators=(',', ':')))" \
	$((LIMIT_ATTRS + 1)) > attrs-over.jsonl
refused 65 "attributes of $((LIMIT_ATTRS + 1)) bytes fail a --strict import" \
	"$PB" list import attrs attrs-over.jsonl --strict
check "... naming the file and the line" has err \
	"attrs-over.jsonl:2: rejected: attributes are larger than $LIMIT_ATTRS bytes"

# Merged with what is stored: {"a":"..","b":".."} is 15 bytes more than
# its values. Each file alone is well under the limit.
merge_file() {
	py "import sys, json; print(json.dumps({'email': sys.argv[1], sys.argv[2]: 'x' * int(sys.argv[3])}, separators=(',', ':')))" "$@"
}
merge_file m1@example.com a 30000 > merge-a1.jsonl
merge_file m1@example.com b $((LIMIT_ATTRS - 15 - 30000)) > merge-b1.jsonl
merge_file m2@example.com a 30000 > merge-a2.jsonl
merge_file m2@example.com b $((LIMIT_ATTRS - 15 - 30000 + 1)) > merge-b2.jsonl
"$PB" list import merge merge-a1.jsonl >/dev/null
"$PB" list import merge merge-a2.jsonl >/dev/null
expect 0 "attributes merged to exactly $LIMIT_ATTRS bytes import" \
	"$PB" list import merge merge-b1.jsonl --strict
eq "... stored whole" "$(attrs_len m1@example.com)" $LIMIT_ATTRS
refused 65 "attributes merged to $((LIMIT_ATTRS + 1)) bytes fail a --strict import" \
	"$PB" list import merge merge-b2.jsonl --strict
check "... naming the file and the line" has err \
	"merge-b2.jsonl:1: rejected: attributes merged with the stored ones are larger than $LIMIT_ATTRS bytes"
expect 0 "without --strict the row is rejected, the rest kept" \
	"$PB" list import merge merge-b2.jsonl
eq "... reported" "$(cat out)" \
	"rows=1 added=0 updated=0 unchanged=0 duplicates=0 joined=0 rejected=1"
eq "... the stored attributes untouched" "$(attrs_len m2@example.com)" 30008

# ---------------------------------------------- LIMIT_IMPORT_REPORTED
bad_rows() {
	py "import sys
print('email')
for i in range(int(sys.argv[1])): print('bad%d' % i)" "$1"
}
bad_rows $LIMIT_IMPORT_REPORTED > bad20.csv
expect 0 "$LIMIT_IMPORT_REPORTED rejected rows" "$PB" list import bad bad20.csv
eq "... are all printed" "$(grep -c ': rejected: ' err)" $LIMIT_IMPORT_REPORTED
check "... with no summary line" sh -c '! grep -q "more rejected" err'
bad_rows $((LIMIT_IMPORT_REPORTED + 1)) > bad21.csv
expect 0 "$((LIMIT_IMPORT_REPORTED + 1)) rejected rows" "$PB" list import bad bad21.csv
eq "... print $LIMIT_IMPORT_REPORTED" "$(grep -c ': rejected: ' err)" $LIMIT_IMPORT_REPORTED
check "... and the last line counts the rest" has err \
	"... and 1 more rejected rows (--rejects FILE writes them all)"
check "... the $LIMIT_IMPORT_REPORTED-th printed is line $((LIMIT_IMPORT_REPORTED + 1))" \
	has err "bad21.csv:$((LIMIT_IMPORT_REPORTED + 1)): rejected:"
py "import sys
for i in range(int(sys.argv[1])): print('not-an-address-%d' % i)" \
	$((LIMIT_IMPORT_REPORTED + 1)) > supp21.txt
expect 0 "suppress import with $((LIMIT_IMPORT_REPORTED + 1)) bad lines" \
	"$PB" suppress import supp21.txt
check "... counts the rest the same way" has err "... and 1 more"

# ----------------------------------------------- LIMIT_TEMPLATE_PART
part() { py "import sys; n = int(sys.argv[1]); print('<p>' + 'x' * (n - 8) + '</p>')" "$1"; }
part $LIMIT_TEMPLATE_PART > part.html
part $((LIMIT_TEMPLATE_PART + 1)) > part-over.html
eq "part.html is $LIMIT_TEMPLATE_PART bytes" "$(wc -c < part.html)" $LIMIT_TEMPLATE_PART
expect 0 "an HTML part of $LIMIT_TEMPLATE_PART bytes is stored" \
	"$PB" template add big --subject s --html part.html --text part.html
eq "... whole" "$(sql "SELECT length(html) || ' ' || length(text) FROM template_versions")" \
	"$LIMIT_TEMPLATE_PART $LIMIT_TEMPLATE_PART"
refused 65 "an HTML part of $((LIMIT_TEMPLATE_PART + 1)) bytes is refused" \
	"$PB" template add big --subject s --html part-over.html
check "... naming the file" has err "part-over.html: larger than $LIMIT_TEMPLATE_PART bytes"
refused 65 "a text part of $((LIMIT_TEMPLATE_PART + 1)) bytes is refused" \
	"$PB" template add big --subject s --html part.html --text part-over.html
check "... naming the file" has err "part-over.html: larger than $LIMIT_TEMPLATE_PART bytes"

# ----------------------------------------------------- LIMIT_SUBJECT
subject=$(py "print('s' * $LIMIT_SUBJECT)")
printf '<p>hi</p>\n' > small.html
expect 0 "a subject of $LIMIT_SUBJECT bytes is stored" \
	"$PB" template add subj --subject "$subject" --html small.html
refused 64 "a subject of $((LIMIT_SUBJECT + 1)) bytes is refused" \
	"$PB" template add subj --subject "${subject}s" --html small.html
check "... naming the option and the limit" has err \
	"--subject must be one line of at most $LIMIT_SUBJECT bytes"

# -------------------------------------------------------- LIMIT_NAME
name=$(py "print('n' * $LIMIT_NAME)")
expect 0 "a list name of $LIMIT_NAME characters" "$PB" list create "$name"
refused 64 "a list name of $((LIMIT_NAME + 1)) characters is refused" \
	"$PB" list create "${name}n"
check "... saying so" has err "list name is longer than $LIMIT_NAME characters"

# -------------------------------------------- LIMIT_HEADERS, segments
headers() {
	_i=0; while [ $_i -lt "$1" ]; do printf -- '--header\nX-H%d: v\n' $_i; _i=$((_i + 1)); done
}
mapfile -t h32 < <(headers $LIMIT_HEADERS)
mapfile -t h33 < <(headers $((LIMIT_HEADERS + 1)))
expect 0 "a campaign with $LIMIT_HEADERS custom headers" \
	"$PB" campaign create c32 --list attrs --template subj --from a@example.com "${h32[@]}"
refused 65 "a campaign with $((LIMIT_HEADERS + 1)) custom headers is refused" \
	"$PB" campaign create c33 --list attrs --template subj --from a@example.com "${h33[@]}"
check "... saying so" has err "at most $LIMIT_HEADERS [name, value] pairs"

seg=$(py "import sys; n = int(sys.argv[1]); print('a = 1' + ' ' * (n - 5) + 'x')" $LIMIT_SEGMENT_LEN)
expect 0 "a segment of $LIMIT_SEGMENT_LEN bytes" \
	"$PB" campaign create s1 --list attrs --template subj --from a@example.com \
	--segment "${seg%x}"
refused 65 "a segment of $((LIMIT_SEGMENT_LEN + 1)) bytes is refused" \
	"$PB" campaign create s2 --list attrs --template subj --from a@example.com \
	--segment "$seg"
check "... saying so" has err "segment is $((LIMIT_SEGMENT_LEN + 1)) bytes long; the limit is $LIMIT_SEGMENT_LEN"

# -------------------------------------------------- LIMIT_CONFIG_FILE
config() { py "import sys; n = int(sys.argv[1]); sys.stdout.write('{' + ' ' * (n - 3) + '}\n')" "$1"; }
config $LIMIT_CONFIG_FILE > big.json
config $((LIMIT_CONFIG_FILE + 1)) > over.json
eq "big.json is $LIMIT_CONFIG_FILE bytes" "$(wc -c < big.json)" $LIMIT_CONFIG_FILE
expect 0 "a config file of $LIMIT_CONFIG_FILE bytes loads" "$PB" --config big.json list ls
expect 78 "a config file of $((LIMIT_CONFIG_FILE + 1)) bytes is refused" \
	"$PB" --config over.json list ls
check "... naming the file and the limit" has err \
	"over.json: larger than $LIMIT_CONFIG_FILE bytes"
# A pipe has no size to stat: the limit holds while it is read.
expect 0 "a config of $LIMIT_CONFIG_FILE bytes through a pipe loads" \
	"$PB" --config <(config $LIMIT_CONFIG_FILE) list ls
expect 78 "a config of $((LIMIT_CONFIG_FILE + 1)) bytes through a pipe is refused" \
	"$PB" --config <(config $((LIMIT_CONFIG_FILE + 1))) list ls
check "... naming the limit" has err ": larger than $LIMIT_CONFIG_FILE bytes"
printf '{"workers": %d}\n' $LIMIT_WORKERS > w64.json
printf '{"workers": %d}\n' $((LIMIT_WORKERS + 1)) > w65.json
expect 0 "workers: $LIMIT_WORKERS in the config" "$PB" --config w64.json list ls
expect 78 "workers: $((LIMIT_WORKERS + 1)) in the config is refused" \
	"$PB" --config w65.json list ls
check "... naming the key and the range" has err \
	"w65.json: \"workers\" must be an integer from 1 to $LIMIT_WORKERS"
expect 64 "send --workers $((LIMIT_WORKERS + 1)) is refused" \
	"$PB" send c32 --workers $((LIMIT_WORKERS + 1))
check "... naming the option and the range" has err "--workers must be 1 to $LIMIT_WORKERS"

done_testing
