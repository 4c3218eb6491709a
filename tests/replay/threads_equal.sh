#!/bin/sh
# Replay with encoding on worker threads must give byte-identical output to inline
# encoding, over every corpus log (and loss events in the same places).
set -eu
bin=$1; shift
files=$(find "$@" \( -name '*.log' -o -name '*.txt' \) ! -name 'README*' ! -name PROVENANCE.txt | sort)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
"$bin" replay -q -n --threads 0 $files > "$tmp/inline.json" || true
for t in 1 2 3; do
  # shellcheck disable=SC2086
  "$bin" replay -q -n --threads $t $files > "$tmp/t$t.json" || true
  cmp "$tmp/inline.json" "$tmp/t$t.json"
done
test -s "$tmp/inline.json"
echo "identical output with 0..3 threads: $(wc -l < "$tmp/inline.json") events"
