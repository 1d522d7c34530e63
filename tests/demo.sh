#!/bin/sh
# make demo: a demo database from templates/, a campaign over it, and as far
# through delivery as Postbote goes today. Each step prints what it runs.
set -eu
PB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build/demo"
rm -rf "$dir"
mkdir -p "$dir"
export POSTBOTE_DB="$dir/demo.db"
unset POSTBOTE_CONFIG

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ postbote %s\n' "$*" >&2; "$PB" "$@"; }

step "1. a fresh database ($POSTBOTE_DB)"
run init
step "2. import the demo list: 1,000 recipients over 9 domains (2 broken rows, 1 duplicate)"
run list import demo "$top/templates/demo-list.csv" --rejects "$dir/rejects.csv" || true
echo "(rejected rows written to $dir/rejects.csv)"
run list show demo --json | /usr/bin/python3 -m json.tool
step "3. suppress one domain and one address"
run suppress add @tiny.example.io --reason "asked not to be mailed"
run suppress add ute.fischer0@example.com --reason "unsubscribed by phone"
step "4. the starter template"
run template add newsletter --subject 'News for {{ first_name | default: "you" }}' \
	--html "$top/templates/newsletter.html" --text "$top/templates/newsletter.txt"
step "5. a campaign for paying German-speaking customers"
run campaign create november --list demo --template newsletter \
	--from 'Demo News <news@demo.example>' \
	--segment "plan in ('pro', 'team') and country in ('DE', 'AT', 'CH')"
step "6. start it: the audience becomes one pending delivery per recipient"
run campaign start november
run campaign show november --json | /usr/bin/python3 -m json.tool
sqlite3 -header -column "$POSTBOTE_DB" "SELECT domain, count(*) AS pending FROM deliveries GROUP BY domain ORDER BY 2 DESC" 2>/dev/null || true

cat <<'MSG'

== Not built yet
  - rendering the template per recipient (template language, MIME, DKIM)
  - starting a local SMTP server and delivering over SMTP (postbote send)
  - the campaign report (postbote report)
These steps join the demo as they land; the deliveries above stay pending.
MSG
