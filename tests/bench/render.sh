#!/bin/sh
# The renderer benchmark (run by tests/bench/run.sh): render_bench renders
# and assembles complete messages from a 10 KB HTML template with ten
# variables, two conditionals, a loop and tracking on, on one core, three
# times; prints the median against the target and writes
# build/bench/render.json.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-build}
out="$top/build/bench"
N=${BENCH_MESSAGES:-100000}
RUNS=${BENCH_RUNS:-3}
mkdir -p "$out"
: > "$out/render-runs.txt"
r=1
while [ "$r" -le "$RUNS" ]; do
	# taskset: one core, as the target says
	taskset -c 0 "$top/$B/bench/render_bench" "$N" >> "$out/render-runs.txt"
	r=$((r + 1))
done
/usr/bin/python3 - "$out/render-runs.txt" "$out/render.json" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rate = statistics.median(r["per_second"] for r in runs)
res = {
    "messages_per_run": runs[0]["messages"], "runs": len(runs),
    "per_second_runs": [r["per_second"] for r in runs],
    "per_second": rate, "target": 20000, "vs_target": round(rate / 20000, 2),
    "template_bytes": runs[0]["template_bytes"],
    "message_bytes": runs[0]["message_bytes"],
}
json.dump(res, open(sys.argv[2], "w"), indent=2)
print()
print("Renderer benchmark, one core, median of %d runs of %d messages" %
      (len(runs), runs[0]["messages"]))
print("  template %d bytes of HTML (text part derived), message %d bytes" %
      (res["template_bytes"], res["message_bytes"]))
print("  %-44s %10.0f /s %10s" % ("render + assemble, tracking on", rate,
      ">= 20000"))
print("  at %.2f of the target; figures: %s" % (res["vs_target"], sys.argv[2]))
PY
