#!/bin/sh
# Turns templates/lint/NAME.txt word lists into NULL-terminated C arrays
# lint_NAME[], so an installed postbote needs no data files beside it. A
# list is one entry a line; blank lines and lines starting with '#' are
# left out, and so is white space around an entry.
set -eu
echo '/* Generated from templates/lint/ by tests/lint_gen.sh; do not edit. */'
echo '#include <stddef.h>'
echo '#include "lint.h"'
for f in "$@"; do
	name=$(basename "$f" .txt)
	case $name in
	*[!a-z0-9_]*) echo "lint_gen: bad file name $f" >&2; exit 1 ;;
	esac
	printf 'const char *const lint_%s[] = {\n' "$name"
	sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d' \
	    -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/",/' "$f"
	printf '\tNULL\n};\n'
done
