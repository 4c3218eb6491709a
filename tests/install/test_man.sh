#!/bin/sh
# Every man page renders without a warning: groff -ww -z with the man macros, on a
# terminal (as man(1) shows it) and on the default typesetter device, and man -l
# renders it; and every long option that a command's --help names is in auditrelay(8).
# Usage: test_man.sh MAN_DIR AUDITRELAY
set -u
dir=$1 bin=$2
fail=0 n=0
for page in "$dir"/*.[1-9]; do
  n=$((n + 1))
  for dev in utf8 ps; do
    out=$(groff -ww -z -man -T"$dev" "$page" 2>&1)
    if [ -n "$out" ]; then
      echo "FAIL groff -ww -z -T$dev $page:"; echo "$out"; fail=1
    fi
  done
  if ! MANWIDTH=80 man -l "$page" 2>&1 >/dev/null | (! grep .); then
    echo "FAIL man -l $page says something on stderr"; fail=1
  fi
  if [ "$(MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)" -lt 10 ]; then
    echo "FAIL man -l $page renders less than 10 lines"; fail=1
  fi
done
# The page's text with \- as -, then each --option of every command's help in it.
text=$(sed 's/\\-/-/g' "$dir/auditrelay.8")
for cmd in run replay rules config status; do
  for opt in $("$bin" "$cmd" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    if ! printf '%s\n' "$text" | grep -q -e "$opt\([^a-z-]\|$\)"; then
      echo "FAIL auditrelay $cmd --help names $opt, auditrelay.8 does not"; fail=1
    fi
  done
done
[ "$n" -ge 4 ] || { echo "FAIL only $n man pages in $dir"; fail=1; }
echo "$n man pages checked"
exit $fail
