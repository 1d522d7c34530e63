#!/bin/bash
# cli_basics.sh - help texts, exit codes, where the database comes from
# (--db, $POSTBOTE_DB, the config file), config errors and the two output
# forms for scripts: tab-separated rows and --json.
. "$TESTS/lib.sh"

# fields FILE: the number of tab-separated fields of each line, sorted, unique.
fields() { awk -F'\t' '{ print NF }' "$1" | sort -u | tr '\n' ' '; }
isjson() { /usr/bin/python3 -m json.tool "$1" >/dev/null 2>&1; }
# jget FILE EXPR: evaluates a Python expression over the JSON in FILE (j).
jget() { /usr/bin/python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# ------------------------------------------------------------------ help
# Help needs no database: none exists yet.
expect 0 "postbote --help exits 0" "$PB" --help
check "postbote --help prints usage" has out "usage: postbote [--db FILE]"
check "postbote --help lists the commands" has out "campaign"
expect 0 "postbote help exits 0" "$PB" help
check "postbote help prints usage" has out "usage: postbote"
expect 0 "postbote help list import exits 0" "$PB" help list import
check "help list import prints the import usage" \
	has out "usage: postbote list import LIST FILE"
check "help list import documents --rejects" has out "--rejects FILE"
expect 0 "postbote help list exits 0" "$PB" help list
check "help list lists the subcommands" has out "usage: postbote list SUBCOMMAND"
expect 0 "postbote list --help exits 0" "$PB" list --help
check "list --help lists export" has out "export"
expect 0 "postbote help init exits 0" "$PB" help init
check "help init prints usage" has out "usage: postbote init"

for cmd in "list create" "list import" "list show" "list ls" "list rm" \
    "list export" "suppress add" "suppress import" "suppress ls" \
    "suppress rm" "template add" "template show" "template ls" \
    "campaign create" "campaign show" "campaign ls" "campaign schedule" \
    "campaign start" "campaign pause" "campaign resume" "campaign cancel"; do
	# shellcheck disable=SC2086
	expect 0 "$cmd --help exits 0" "$PB" $cmd --help
	check "$cmd --help prints usage" has out "usage: postbote $cmd"
done
expect 0 "list import -h exits 0" "$PB" list import -h
check "list import -h prints usage" has out "usage: postbote list import"
check "help left no database behind" test ! -e "$POSTBOTE_DB"

# ------------------------------------------------------- usage errors (64)
expect 64 "no command exits 64" "$PB"
expect 64 "unknown command exits 64" "$PB" frobnicate
check "unknown command is named" has err 'unknown command "frobnicate"'
expect 64 "unknown global option exits 64" "$PB" --frob list ls
check "unknown global option is named" has err 'unknown option "--frob"'
expect 64 "unknown subcommand exits 64" "$PB" list frob
check "unknown subcommand is named" has err 'unknown subcommand "frob"'
expect 64 "unknown subcommand option exits 64" "$PB" list ls --frob
check "unknown subcommand option is named" has err "--frob"
expect 64 "unknown option of campaign create exits 64" \
	"$PB" campaign create c --colour red
expect 64 "missing option value exits 64" "$PB" list show x --domains
expect 64 "non-numeric option value exits 64" "$PB" list show x --domains many
check "non-numeric value is named" has err "--domains"
expect 64 "missing argument exits 64" "$PB" list create
expect 64 "extra argument exits 64" "$PB" list create a b
expect 64 "help for an unknown command exits 64" "$PB" help frobnicate
expect 64 "help for an unknown subcommand exits 64" "$PB" help list frob

# -------------------------------------------------------- missing database
expect 66 "a command on a missing database exits 66" "$PB" list ls
check "... and says there is no such database" has err "no such database"
check "... and says to run postbote init" has err "postbote init"
check "... and does not create it" test ! -e "$POSTBOTE_DB"
expect 66 "campaign ls on a missing database exits 66" "$PB" campaign ls

# -------------------------------------------------------------------- init
expect 0 "init exits 0" "$PB" init
check "init reports the schema" has out "schema=7"
check "init created the database" test -f "$POSTBOTE_DB"
secret=$(sql "SELECT value FROM settings WHERE key = 'tracking_secret'")
eq "init stored a 64-hex-digit tracking secret" \
	"$(printf %s "$secret" | grep -cE '^[0-9a-f]{64}$')" 1
expect 0 "list create after init" "$PB" list create keep
expect 0 "init twice is fine" "$PB" init
eq "a second init keeps the secret" \
	"$(sql "SELECT value FROM settings WHERE key = 'tracking_secret'")" "$secret"
eq "a second init keeps the data" "$(sql "SELECT name FROM lists")" keep
expect 64 "init takes no arguments" "$PB" init extra

# ------------------------------------- --db, $POSTBOTE_DB, config: the order
mkdir prec && cd prec || exit 1
echo '{"database": "x.db"}' > cfg.json
expect 0 "--db wins over \$POSTBOTE_DB and the config" \
	env POSTBOTE_DB=env.db "$PB" --db opt.db --config cfg.json init
check "... init names opt.db" has out "database=opt.db"
check "... opt.db was created" test -f opt.db
check "... env.db was not" test ! -e env.db
check "... x.db was not" test ! -e x.db
expect 0 "\$POSTBOTE_DB wins over the config" \
	env POSTBOTE_DB=env.db "$PB" --config cfg.json init
check "... env.db was created" test -f env.db
check "... x.db was not" test ! -e x.db
expect 0 "the config's database is used without --db or \$POSTBOTE_DB" \
	env -u POSTBOTE_DB "$PB" --config cfg.json init
check "... x.db was created" test -f x.db
expect 0 "list create through the config" \
	env -u POSTBOTE_DB "$PB" --config cfg.json list create viacfg
eq "the list went into x.db" "$(sqlite3 x.db "SELECT name FROM lists")" viacfg
eq "and not into env.db" "$(sqlite3 env.db "SELECT count(*) FROM lists")" 0
expect 0 "--db=FILE form" env -u POSTBOTE_DB "$PB" --db=opt.db list create o1
eq "... went into opt.db" "$(sqlite3 opt.db "SELECT name FROM lists")" o1
expect 0 "\$POSTBOTE_CONFIG names the config" \
	env -u POSTBOTE_DB POSTBOTE_CONFIG=cfg.json "$PB" list ls
check "... and its database is read" has out "viacfg"
cp cfg.json postbote.json
expect 0 "./postbote.json is read by default" env -u POSTBOTE_DB "$PB" list ls
check "... and its database is read" has out "viacfg"
rm postbote.json
expect 66 "without any of them the default ./postbote.db is missing" \
	env -u POSTBOTE_DB "$PB" list ls
check "... and the error names postbote.db" has err "postbote.db"
cd .. || exit 1

# ----------------------------------------------------------- config errors
printf '{\n  "database": "x.db",\n  oops\n}\n' > bad.json
expect 78 "a config syntax error exits 78" "$PB" --config bad.json list ls
check "... naming file:line:col" grep -qE '^postbote: bad\.json:3:[0-9]+: ' err
echo '{"databse": "x.db"}' > typo.json
expect 78 "an unknown config key exits 78" "$PB" --config typo.json list ls
check "... naming the key" has err 'unknown key "databse"'
check "... and the file" has err "typo.json"
echo '{"database": 5}' > num.json
expect 78 "a non-string database exits 78" "$PB" --config num.json list ls
check "... naming the key" has err '"database" must be a non-empty string'
echo '[]' > arr.json
expect 78 "a config that is not an object exits 78" "$PB" --config arr.json list ls
printf '{"database": "a.db", "database": "b.db"}\n' > dup.json
expect 78 "a duplicate config key exits 78" "$PB" --config dup.json list ls
expect 66 "a missing --config file exits 66" "$PB" --config nope.json list ls
check "... naming it" has err "nope.json"
printf '{\n  "database": "x.db",\n  oops\n}\n' > postbote.json
expect 78 "a broken ./postbote.json is an error too" "$PB" list ls
rm postbote.json

# ---------------------------------------------------- tab-separated output
printf 'email,name\nann@example.com,Ann\nbob@example.org,Bob\n' > people.csv
expect 0 "import for the output checks" "$PB" list import people people.csv
eq "import prints one key=value summary" "$(cat out)" \
	"rows=2 added=2 updated=0 unchanged=0 duplicates=0 joined=2 rejected=0"
expect 0 "list ls" "$PB" list ls
eq "list ls: one line per list, no header" "$(wc -l < out | tr -d ' ')" 2
eq "list ls: 5 tab-separated fields" "$(fields out)" "5 "
eq "list ls: name and counts" "$(grep '^people' out | cut -f1-4)" \
	"$(printf 'people\t2\t0\t2')"
check "list ls: no header row" sh -c '! grep -q "^LIST" out'

printf '<p>Hi {{ name }}</p>\n' > t.html
expect 0 "template add" "$PB" template add news --subject "Grüße" --html t.html
eq "template add prints a key=value summary" "$(cat out)" \
	"template=news version=1"
expect 0 "template ls" "$PB" template ls
eq "template ls: 4 tab-separated fields" "$(fields out)" "4 "
eq "template ls: name, version, subject" "$(cut -f1-3 out)" \
	"$(printf 'news\t1\tGrüße')"

expect 0 "suppress add" "$PB" suppress add bob@example.org --reason "asked"
eq "suppress add prints added=1" "$(cat out)" "added=1"
expect 0 "suppress ls" "$PB" suppress ls
eq "suppress ls: 6 tab-separated fields" "$(fields out)" "6 "
eq "suppress ls: kind, value, list, reason, source" "$(cut -f1-5 out)" \
	"$(printf 'address\tbob@example.org\t*\tasked\tmanual')"

expect 0 "campaign create" "$PB" campaign create spring --list people \
	--template news --from 'Jörg Müller <jorg@example.com>'
eq "campaign create prints the audience" "$(cat out)" \
	"members=2 matching=2 suppressed=1 eligible=1"
expect 0 "campaign ls" "$PB" campaign ls
eq "campaign ls: 6 tab-separated fields" "$(fields out)" "6 "
eq "campaign ls: name, status, list, template" "$(cut -f1-4 out)" \
	"$(printf 'spring\tdraft\tpeople\tnews v1')"
expect 0 "list show" "$PB" list show people
eq "list show prints one key=value line" "$(cat out)" \
	"name=people members=2 suppressed=1 domains=2"
expect 0 "campaign show" "$PB" campaign show spring
check "campaign show: key=value status" has out \
	"name=spring status=draft list=people template=news version=1"

# -------------------------------------------------------------------- JSON
expect 0 "list create with a UTF-8 description" \
	"$PB" list create cafe --description "Café «crème»"
for cmd in "list ls" "list show people" "list show cafe" "suppress ls" \
    "suppress ls --list people" "template ls" "template show news" \
    "campaign ls" "campaign show spring"; do
	# shellcheck disable=SC2086
	expect 0 "$cmd --json exits 0" "$PB" $cmd --json
	check "$cmd --json parses as JSON" isjson out
done
"$PB" list show people --json > out
eq "list show --json: members" "$(jget out 'j["members"]')" 2
eq "list show --json: reachable" "$(jget out 'j["reachable"]')" 1
eq "list show --json: top domains" "$(jget out 'sorted(j["top_domains"])')" \
	"['example.com', 'example.org']"
"$PB" list show cafe --json > out
eq "list show --json: the description survives" \
	"$(jget out 'j["description"]')" "Café «crème»"
"$PB" template show news --json > out
eq "template show --json: subject" "$(jget out 'j["subject"]')" "Grüße"
eq "template show --json: html" "$(jget out 'j["html"]')" "<p>Hi {{ name }}</p>"
eq "template show --json: no text part is null" "$(jget out 'j["text"]')" None
"$PB" campaign show spring --json > out
eq "campaign show --json: from_name" "$(jget out 'j["from_name"]')" "Jörg Müller"
eq "campaign show --json: audience" "$(jget out 'j["audience"]["eligible"]')" 1
"$PB" suppress ls --json > out
eq "suppress ls --json: one entry" "$(jget out 'len(j)')" 1
eq "suppress ls --json: global list is null" "$(jget out 'j[0]["list"]')" None
expect 0 "campaign start" "$PB" campaign start spring
expect 0 "campaign show --json after start" "$PB" campaign show spring --json
check "campaign show --json after start parses" isjson out
eq "campaign show --json: deliveries" "$(jget out 'j["deliveries"]')" \
	"{'pending': 1}"
expect 0 "campaign ls --json after start" "$PB" campaign ls --json
check "campaign ls --json after start parses" isjson out

# Text that --json could not print is refused where it comes in.
s0=$(store_sum)
expect 65 "a non-UTF-8 --description is refused" \
	"$PB" list create latin1 --description "$(printf 'caf\351')"
check "... naming --description" has err "--description"
expect 65 "a non-UTF-8 --subject is refused" \
	"$PB" template add latin1 --subject "$(printf 'caf\351')" --html t.html
check "... naming --subject" has err "--subject"
expect 65 "a non-UTF-8 --reason is refused" \
	"$PB" suppress add x@example.com --reason "$(printf 'caf\351')"
check "... naming --reason" has err "--reason"
expect 65 "a non-UTF-8 --segment is refused" \
	"$PB" campaign create latin1 --list people --template news \
	--from a@example.com --segment "$(printf "name = 'caf\351'")"
check "... naming --segment" has err "--segment"
eq "the refusals changed nothing" "$(store_sum)" "$s0"
for cmd in "list ls" "template ls" "suppress ls" "campaign ls"; do
	# shellcheck disable=SC2086
	expect 0 "$cmd --json still exits 0" "$PB" $cmd --json
	check "$cmd --json still parses" isjson out
done

# --help anywhere on the line wins over everything else.
expect 0 "--help after other arguments" "$PB" list show people --json --help
check "... prints the usage" has out "usage: postbote list show"

# The delivery keys are checked key by key, naming the full path.
printf '{"delivery": {"routes": {"*.test": {"host": "127.0.0.1", "port": 70000}}}}\n' > badroute.json
expect 78 "a route port out of range" "$PB" --config badroute.json list ls
check "... names the key's full path" has err '"delivery.routes.*.test.port"'
printf '{"delivery": {"relay": {"host": "smtp.example.net", "username": "u", "password": "p"}}}\n' > pw.json
expect 78 "a password in the config file is refused" "$PB" --config pw.json list ls
check "... pointing to password_file" has err "password_file"
printf '{"hostname": "mail.example.com", "workers": 2, "delivery": {"mode": "mx", "tls": "opportunistic", "dns_servers": ["127.0.0.1:5353"], "routes": {"*.test": {"host": "127.0.0.1", "port": 2525, "tls": "none"}}}, "dkim": [{"domain": "example.com", "selector": "s1", "algorithm": "rsa-sha256", "key_file": "keys/s1.pem"}]}\n' > full.json
expect 0 "the delivery issue's example config loads" "$PB" --config full.json list ls
expect 0 "templates/postbote.example.json, the README's example, loads" \
	"$PB" --config "$TESTS/../templates/postbote.example.json" --db "$POSTBOTE_DB" list ls
for bad in '{"feedback": {"unsubscribe": "maybe"}}' \
	'{"feedback": {"complaint_rate_pause": 2}}' \
	'{"webhooks": [{"name": "a", "url": "ftp://x", "events": ["bounced"], "secret_env": "S"}]}' \
	'{"webhooks": [{"name": "a", "url": "https://x", "events": ["bounced"]}]}' \
	'{"webhooks": [{"name": "a", "url": "https://u:pw@x/h", "events": ["bounced"], "secret_env": "S"}]}' \
	'{"webhooks": [{"name": "a", "url": "https://u@x/h", "events": ["bounced"], "secret_env": "S"}]}' \
	'{"webhooks": [{"name": "a", "url": "https://x", "events": ["sent"], "secret_env": "S"}]}' \
	'{"tracking": {"base_url": "https://t.example", "threads": 0}}'; do
	printf '%s\n' "$bad" > bad.json
	expect 78 "config refused: $bad" "$PB" --config bad.json list ls
done

done_testing
