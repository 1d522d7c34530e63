#!/bin/sh
# The foundation benchmark (run by tests/bench/run.sh). Imports 1,000,000
# recipients over 500 domains and resolves a campaign's audience over them,
# three times,
# interleaved with the machine's own limit for the same job (the sqlite3
# shell's .import of the same file into a bare table), and prints medians,
# ratios against the targets and the baseline. Writes build/bench/*.json.
set -eu
PB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/bench"
N=${BENCH_RECIPIENTS:-1000000}
RUNS=${BENCH_RUNS:-3}
M="/usr/bin/python3 $top/tests/bench/measure.py"
mkdir -p "$out"
csv="$out/recipients-$N.csv"

if [ ! -s "$csv" ]; then
	echo "generating $csv ($N rows, 500 domains)"
	awk -v n="$N" 'BEGIN {
		srand(7);
		split("free pro team", plans, " ");
		split("DE AT CH GB FR", cc, " ");
		print "email,first_name,country,plan,seats,city.name";
		for (i = 1; i <= n; i++)
			printf "user%d@d%d.example,Name%d,%s,%s,%d,City%d\n", i,
			    i % 500, i, cc[1 + i % 5], plans[1 + int(rand() * 3)],
			    1 + i % 40, i % 97;
	}' > "$csv"
fi

field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: > "$out/runs.txt"
r=1
while [ "$r" -le "$RUNS" ]; do
	db="$out/bench.db"
	rm -f "$db" "$db-wal" "$db-shm" "$out/base.db"
	# The machine's limit: the sqlite3 shell loading the same CSV.
	b=$($M sqlite3 "$out/base.db" ".mode csv" ".import $csv raw")
	"$PB" --db "$db" init >/dev/null
	i=$($M "$PB" --db "$db" list import bench "$csv")
	"$PB" --db "$db" template add t --subject s --html "$top/templates/welcome.html" >/dev/null
	c=$($M "$PB" --db "$db" campaign create seg --list bench --template t \
		--from a@b.example --segment "plan in ('pro', 'team') and seats > 5")
	s=$($M "$PB" --db "$db" campaign start seg)
	"$PB" --db "$db" campaign create all --list bench --template t --from a@b.example >/dev/null
	a=$($M "$PB" --db "$db" campaign start all)
	echo "$(echo "$b" | field wall) $(echo "$i" | field wall) $(echo "$i" | field rss_kib) $(echo "$c" | field wall) $(echo "$s" | field wall) $(echo "$a" | field wall)" >> "$out/runs.txt"
	echo "run $r: $(tail -1 "$out/runs.txt")"
	r=$((r + 1))
done

col() { awk -v c="$1" '{ print $c }' "$out/runs.txt" | median; }
base=$(col 1); imp=$(col 2); rss=$(col 3); cnt=$(col 4); seg=$(col 5); all=$(col 6)
deliveries=$(sqlite3 "$out/bench.db" "SELECT count(*) FROM deliveries")

/usr/bin/python3 - "$N" "$base" "$imp" "$rss" "$cnt" "$seg" "$all" "$deliveries" "$RUNS" > "$out/foundation.json" <<'PY'
import json, sys
n, base, imp, rss, cnt, seg, allr, dl, runs = sys.argv[1:]
n = int(n); base, imp, cnt, seg, allr = map(float, (base, imp, cnt, seg, allr))
print(json.dumps({
    "recipients": n, "runs": int(runs),
    "import_s": imp, "import_rows_per_s": round(n / imp),
    "import_peak_rss_mib": round(int(rss) / 1024, 1),
    "sqlite3_shell_import_s": base,
    "import_vs_sqlite3_shell": round(imp / base, 2),
    "segment_count_s": cnt,
    "audience_segment_s": seg,
    "audience_all_s": allr,
    "deliveries_total": int(dl),
    "targets": {"import_s": 20, "audience_s": 3},
    "import_vs_target": round(imp / 20, 2),
    "audience_vs_target": round(max(seg, allr) / 3, 2),
}, indent=2))
PY
/usr/bin/python3 - "$out/foundation.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
n = j["recipients"]
print()
print(f"Foundation benchmark, {n:,} recipients over 500 domains, median of {j['runs']} runs")
print(f"  {'what':44} {'figure':>12} {'target':>10}")
print(f"  {'list import (CSV, 1 transaction)':44} {j['import_s']:>10.2f} s {'< 20 s':>10}")
print(f"  {'  rows per second':44} {j['import_rows_per_s']:>12,}")
print(f"  {'  peak RSS':44} {j['import_peak_rss_mib']:>8} MiB")
print(f"  {'  sqlite3 shell .import of the same file':44} {j['sqlite3_shell_import_s']:>10.2f} s")
print(f"  {'  postbote / sqlite3 shell':44} {j['import_vs_sqlite3_shell']:>11}x")
print(f"  {'campaign create: count a segment':44} {j['segment_count_s']:>10.2f} s")
print(f"  {'audience, segment (INSERT..SELECT)':44} {j['audience_segment_s']:>10.2f} s {'< 3 s':>10}")
print(f"  {'audience, whole list':44} {j['audience_all_s']:>10.2f} s {'< 3 s':>10}")
print(f"  import at {j['import_vs_target']:.2f} of its budget, audience at {j['audience_vs_target']:.2f}")
print(f"  figures: {sys.argv[1]}")
PY
