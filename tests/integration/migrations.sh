#!/bin/bash
# migrations.sh - schema versions: a fresh database, an old one upgraded
# in place by any command, one from a newer postbote refused, and files
# that are not databases at all.
. "$TESTS/lib.sh"
# The files made here with sqlite3 and the shell stand for databases, and
# postbote refuses one that group or others may read (secrets.sh).
umask 077

version() { sqlite3 "$1" "PRAGMA user_version"; }
SCHEMA="$TESTS/../schema"

# ------------------------------------------------------------------ fresh
expect 0 "init on a fresh file" "$PB" init
eq "... gives user_version 7" "$(version "$POSTBOTE_DB")" 7
check "... reports schema=7" has out "schema=7"
eq "... with every table of every migration" \
	"$(sql "SELECT group_concat(name, ' ') FROM (SELECT name FROM
	    sqlite_master WHERE type = 'table' ORDER BY name)")" \
	"campaign_links campaign_variants campaigns deliveries events inbound_review list_members lists provider_volume recipients settings suppressions template_versions templates webhook_outbox webhooks"
eq "... in WAL mode" "$(sql "PRAGMA journal_mode")" wal
expect 0 "init again" "$PB" init
eq "... still version 7" "$(version "$POSTBOTE_DB")" 7

# -------------------------------------------------------- an old database
sqlite3 old.db < "$SCHEMA/001_init.sql" || exit 1
sqlite3 old.db "PRAGMA user_version = 1;
	INSERT INTO lists(name, description, created_at)
	    VALUES('legacy', 'from v1', 1700000000000);
	INSERT INTO recipients(address, address_key, domain, attrs, created_at,
	    updated_at) VALUES('old@example.com', 'old@example.com',
	    'example.com', '{\"plan\":\"pro\"}', 1, 1);
	INSERT INTO list_members VALUES(1, 1, 1);" || exit 1
eq "the old database is at version 1" "$(version old.db)" 1
eq "... without the campaigns table" \
	"$(sqlite3 old.db "SELECT count(*) FROM sqlite_master WHERE name = 'campaigns'")" 0
expect 0 "list ls on the old database" "$PB" --db old.db list ls
eq "... migrates it to version 7" "$(version old.db)" 7
eq "... adds the campaigns table" \
	"$(sqlite3 old.db "SELECT count(*) FROM sqlite_master WHERE name = 'campaigns'")" 1
eq "... and lists the old list with its member" "$(cut -f1-2 out)" \
	"$(printf 'legacy\t1')"
eq "... the list row is kept as it was" \
	"$(sqlite3 old.db "SELECT name || '|' || description || '|' || created_at FROM lists")" \
	"legacy|from v1|1700000000000"
eq "... and the recipient with its attributes" \
	"$(sqlite3 old.db "SELECT address || ' ' || attrs FROM recipients")" \
	'old@example.com {"plan":"pro"}'
printf '<p>x</p>\n' > t.html
expect 0 "the migrated database takes a template" \
	"$PB" --db old.db template add t --subject s --html t.html
expect 0 "... and a campaign on the old list" "$PB" --db old.db campaign create \
	c --list legacy --template t --from a@example.com --segment "plan = 'pro'"
eq "... whose segment sees the old attributes" "$(cat out)" \
	"members=1 matching=1 suppressed=0 eligible=1"

sqlite3 old2.db < "$SCHEMA/001_init.sql" || exit 1
sqlite3 old2.db "PRAGMA user_version = 1;
	INSERT INTO lists(name, created_at) VALUES('keepme', 1)" || exit 1
expect 0 "init on an old database" "$PB" --db old2.db init
eq "... migrates it to version 7" "$(version old2.db)" 7
eq "... keeping the list" "$(sqlite3 old2.db "SELECT name FROM lists")" keepme

# A migration that cannot apply leaves the file at its old version.
sqlite3 clash.db < "$SCHEMA/001_init.sql" || exit 1
sqlite3 clash.db "PRAGMA user_version = 1; CREATE TABLE campaigns(x);
	INSERT INTO lists(name, created_at) VALUES('stay', 1)" || exit 1
"$PB" --db clash.db list ls >out 2>err
rc=$?
check "a migration that fails exits non-zero" test "$rc" -ne 0
check "... naming the migration" has err "002_campaigns.sql"
eq "... the file stays at version 1" "$(version clash.db)" 1
eq "... with its data" "$(sqlite3 clash.db "SELECT name FROM lists")" stay
eq "... and no half-applied tables" \
	"$(sqlite3 clash.db "SELECT count(*) FROM sqlite_master WHERE name = 'deliveries'")" 0

# ------------------------------------------------------ a newer database
sqlite3 newer.db "CREATE TABLE future(x); PRAGMA user_version = 99" || exit 1
sum0=$(md5sum < newer.db)
expect 69 "a database with user_version 99 is refused with exit 69" \
	"$PB" --db newer.db list ls
check "... saying it is newer" has err "newer"
check "... naming its version" has err "99"
check "... and the file" has err "newer.db"
eq "... it stays at version 99" "$(version newer.db)" 99
eq "... the file is untouched" "$(md5sum < newer.db)" "$sum0"
expect 69 "init refuses it too" "$PB" --db newer.db init
eq "... still version 99" "$(version newer.db)" 99
expect 69 "a write command refuses it too" "$PB" --db newer.db list create x
eq "... and adds nothing" \
	"$(sqlite3 newer.db "SELECT count(*) FROM sqlite_master WHERE name = 'lists'")" 0

# -------------------------------------------------- not a database at all
/usr/bin/python3 -c 'import random, sys
random.seed(20240501)
sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(8192)))' \
	> random.db
sum0=$(md5sum < random.db)
"$PB" --db random.db list ls >out 2>err
rc=$?
check "random bytes: a non-zero exit" test "$rc" -ne 0
eq "random bytes: exit 65" "$rc" 65
check "random bytes: says it is not a database" has err "not a database"
check "random bytes: names the file" has err "random.db"
eq "random bytes: one line of error" "$(wc -l < err | tr -d ' ')" 1
eq "random bytes: the file is untouched" "$(md5sum < random.db)" "$sum0"
check "random bytes: no WAL file left behind" test ! -e random.db-wal
expect 65 "random bytes: init refuses it too" "$PB" --db random.db init
eq "random bytes: still untouched" "$(md5sum < random.db)" "$sum0"

printf 'email,name\nann@example.com,Ann\n' > text.db
sum0=$(md5sum < text.db)
expect 65 "a text file as database exits 65" "$PB" --db text.db list ls
check "... saying it is not a database" has err "not a database"
eq "... and leaves it alone" "$(md5sum < text.db)" "$sum0"

mkdir dir.db
"$PB" --db dir.db list ls >out 2>err
rc=$?
check "a directory as database: non-zero exit" test "$rc" -ne 0
check "... with a message naming it" has err "dir.db"

# ------------------------------------- version 4: events survive the rebuild
for f in "$SCHEMA"/00[1-4]_*.sql; do sqlite3 v4.db < "$f" || exit 1; done
sqlite3 v4.db "PRAGMA user_version = 4;
	INSERT INTO lists(name, created_at) VALUES('l', 1);
	INSERT INTO recipients(address, address_key, domain, created_at,
	    updated_at) VALUES('a@example.com', 'a@example.com', 'example.com',
	    1, 1);
	INSERT INTO templates(name, created_at) VALUES('t', 1);
	INSERT INTO template_versions(template_id, version, subject, html,
	    created_at) VALUES(1, 1, 's', 'h', 1);
	INSERT INTO campaigns(name, list_id, template_version_id, from_addr,
	    status, created_at, updated_at) VALUES('c', 1, 1, 'f@example.com',
	    'done', 1, 1);
	INSERT INTO deliveries(campaign_id, domain, recipient_id, status,
	    next_attempt_at, created_at, updated_at) VALUES(1, 'example.com',
	    1, 'delivered', 1, 1, 1);
	INSERT INTO events(campaign_id, recipient_id, type, at, detail)
	    VALUES(1, 1, 'opened', 5, '{\"x\":1}');" || exit 1
expect 0 "a version 4 database with an event" "$PB" --db v4.db list ls
eq "... migrates to version 7" "$(version v4.db)" 7
eq "... keeping the event, not a machine's" \
	"$(sqlite3 v4.db "SELECT type || ' ' || at || ' ' || detail || ' ' || machine FROM events")" \
	'opened 5 {"x":1} 0'
eq "... the events indexes are back" \
	"$(sqlite3 v4.db "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name)")" \
	"events_campaign events_recipient"
eq "... and the campaign counts its sent delivery" \
	"$(sqlite3 v4.db "SELECT sent_count FROM campaigns")" 1

# ------------------------------------------------------ an empty file
: > empty.db
expect 66 "an empty file is not taken for a database" "$PB" --db empty.db list ls
check "... says to run init" has err "postbote init"
eq "... and stays empty" "$(wc -c < empty.db | tr -d ' ')" 0
expect 0 "init turns an empty file into a database" "$PB" --db empty.db init
eq "... at the newest version" "$(sqlite3 empty.db 'PRAGMA user_version')" 7
eq "... with a tracking secret" \
	"$(sqlite3 empty.db "SELECT length(value) FROM settings WHERE key = 'tracking_secret'")" 64

done_testing
