#!/bin/sh
# make bench: every benchmark in turn. Figures go to build/bench/*.json and
# into the README by hand; nothing here is a pass/fail test.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/foundation.sh" "$1"
sh "$here/render.sh" "$(basename "$(dirname "$1")")"
sh "$here/send.sh" "$1"
sh "$here/memory.sh" "$1"
sh "$here/feedback.sh" "$1"
sh "$here/hygiene.sh" "$1"
