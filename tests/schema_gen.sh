#!/bin/sh
# Turns schema/NNN_name.sql files into a C array of migrations. The files
# must be numbered 001, 002, ... without gaps: a gap would leave a version
# no database could ever be at.
set -eu
echo '/* Generated from schema/ by tests/schema_gen.sh; do not edit. */'
echo '#include "store_int.h"'
echo 'const struct store_migration store_migrations[] = {'
want=1
for f in "$@"; do
	name=$(basename "$f")
	num=$(echo "$name" | sed -n 's/^\([0-9][0-9]*\)_.*\.sql$/\1/p')
	[ -n "$num" ] || { echo "schema_gen: bad file name $name" >&2; exit 1; }
	num=$(expr "$num" + 0)
	[ "$num" -eq "$want" ] || { echo "schema_gen: expected migration $want, found $name" >&2; exit 1; }
	printf '\t{ %d, "%s",\n' "$num" "$name"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
	want=$((want + 1))
done
echo '};'
echo "const int store_nmigrations = $((want - 1));"
