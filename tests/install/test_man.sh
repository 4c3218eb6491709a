#!/bin/sh
# Every man page renders without a warning: groff -ww -z with the man macros, on a
# terminal (as man(1) shows it) and on the default typesetter device, and man -l
# renders it. Usage: test_man.sh MAN_DIR
set -u
dir=$1
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
[ "$n" -ge 4 ] || { echo "FAIL only $n man pages in $dir"; fail=1; }
echo "$n man pages checked"
exit $fail
