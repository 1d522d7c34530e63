#!/usr/bin/python3
"""Runs a command and prints its wall time (s) and peak RSS (KiB) as JSON.

usage: measure.py CMD [ARGS...]   (stdout of CMD goes to /dev/null)
"""
import json
import resource
import subprocess
import sys
import time

t0 = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": round(wall, 3), "rss_kib": rss, "rc": p.returncode}))
sys.exit(p.returncode)
