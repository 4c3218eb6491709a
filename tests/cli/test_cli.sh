#!/bin/sh
# Command line behaviour: help, version, exit codes, config file errors, replay's
# summary and streaming from stdin. No root needed.
set -u
bin=$1
fixtures=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # description, command... ; expects success of the command
  desc=$1; shift
  if "$@"; then echo "ok   $desc"; else echo "FAIL $desc"; fail=1; fi
}
rc() { "$@" >/dev/null 2>&1; echo $?; }

check "--help exits 0" [ "$(rc "$bin" --help)" = 0 ]
check "replay --help exits 0" [ "$(rc "$bin" replay --help)" = 0 ]
check "--version prints the version" sh -c "'$bin' --version | grep -q '^auditrelay [0-9]'"
check "unknown command exits 2" [ "$(rc "$bin" frobnicate)" = 2 ]
check "unknown replay option exits 2" [ "$(rc "$bin" replay --bogus)" = 2 ]
check "unknown format exits 2" [ "$(rc "$bin" replay --format xml /dev/null)" = 2 ]
check "unknown input format exits 2" \
  [ "$(rc "$bin" replay --input-format xml /dev/null)" = 2 ]
check "--input-format audit is the default" \
  [ "$(rc "$bin" replay --input-format audit /dev/null)" = 0 ]

log=$fixtures/go-libaudit/testdata/normal.log
check "replay of a good log exits 0" [ "$(rc "$bin" replay -n "$log")" = 0 ]
"$bin" replay -n "$log" > "$tmp/file.json" 2> "$tmp/err"
check "summary names events, records, malformed and gaps" \
  grep -q '5 events, 17 records from 17 lines.*0 malformed lines; 0 serial gaps' "$tmp/err"
check "no progress bar when stderr is not a terminal" sh -c "! grep -q '%' '$tmp/err'"
"$bin" replay -n - < "$log" > "$tmp/stdin.json" 2>/dev/null
check "stdin ('-') gives the same events as the file" cmp -s "$tmp/file.json" "$tmp/stdin.json"
"$bin" replay -n < "$log" > "$tmp/stdin2.json" 2>/dev/null
check "no file reads stdin" cmp -s "$tmp/file.json" "$tmp/stdin2.json"
check "missing file exits 1" [ "$(rc "$bin" replay /nonexistent/audit.log)" = 1 ]
printf 'not an audit line\ntype=SYSCALL msg=audit(1.000:1): x=1\ngarbage\n' > "$tmp/bad.log"
check "malformed lines exit 1" [ "$(rc "$bin" replay -n "$tmp/bad.log")" = 1 ]
"$bin" replay -n "$tmp/bad.log" > /dev/null 2> "$tmp/err"
check "malformed lines are listed with file:line" \
  sh -c "grep -q 'malformed line $tmp/bad.log:1' '$tmp/err' && grep -q 'malformed line $tmp/bad.log:3' '$tmp/err'"
check "good records in a bad file still come out" \
  sh -c "'$bin' replay -n '$tmp/bad.log' 2>/dev/null | grep -q '\"serial\":1'"
older=$fixtures/go-libaudit/auparse/testdata/audit-rhel6.log
"$bin" replay -n "$older" "$log" > "$tmp/two.json" 2> "$tmp/err"
check "several files: all events" grep -q '7 events, 19 records' "$tmp/err"
check "several files: in the order given" sh -c \
  "head -1 '$tmp/two.json' | grep -q '\"serial\":19469538' && tail -1 '$tmp/two.json' | grep -q '\"serial\":62'"
# The replay's own exit status, not the pipeline's (head's).
check "output to a closed pipe is not an error" sh -c \
  "{ '$bin' replay -n '$log' '$log' '$log' 2>/dev/null; echo \$? > '$tmp/rc'; } | head -c 10 >/dev/null; [ \"\$(cat '$tmp/rc')\" = 0 ]"

printf '[collector]\nsource = multicast\nbogus = 1\n' > "$tmp/unknown.conf"
"$bin" --config "$tmp/unknown.conf" 2> "$tmp/err"; code=$?
check "config: unknown setting exits 2" [ "$code" = 2 ]
check "config: error names file:line" grep -q "unknown.conf:3: unknown setting 'bogus'" "$tmp/err"
printf '[collector]\nbacklog_limit = -5\n' > "$tmp/value.conf"
"$bin" -c "$tmp/value.conf" 2> "$tmp/err"
check "config: bad value names file:line" grep -q "value.conf:2: backlog_limit wants a number from 0 to 4294967295, got '-5'" "$tmp/err"
check "config: missing file given explicitly exits 2" [ "$(rc "$bin" -c "$tmp/none.conf")" = 2 ]
check "run: bad --source exits 2" [ "$(rc "$bin" --source nowhere)" = 2 ]
check "run: --failure-mode 3 exits 2" [ "$(rc "$bin" --failure-mode 3)" = 2 ]
printf '[collector]\nfailure = 7\n' > "$tmp/failure.conf"
check "config: failure out of range exits 2" [ "$(rc "$bin" -c "$tmp/failure.conf")" = 2 ]
check "the binary does not link libaudit" sh -c "! ldd '$bin' | grep -q libaudit"
check "replay: --max-memory 1 exits 2" [ "$(rc "$bin" replay --max-memory 1 "$log")" = 2 ]
"$bin" replay --max-spool lots "$log" > /dev/null 2> "$tmp/err"
check "replay: a bad --max-spool is named" grep -q -- "--max-spool wants a size.*'lots'" "$tmp/err"
check "run: a bad --max-memory exits 2 before touching the kernel" [ "$(rc "$bin" --max-memory 0)" = 2 ]
"$bin" replay -n --max-memory 4k --max-spool 8M -o "file:$tmp/small.json" "$log" "$log" 2>/dev/null
"$bin" replay -n "$log" "$log" > "$tmp/big.json" 2>/dev/null
check "replay: a 4k memory queue still delivers every event" cmp -s "$tmp/small.json" "$tmp/big.json"
"$bin" replay -n --progress "$log" > /dev/null 2> "$tmp/err"
check "--progress draws a bar with a percentage" grep -q '100%' "$tmp/err"
# exec: runs a plugin with stdin, stdout (/dev/null) and stderr only, and the lines on
# its stdin; a descriptor we inherited without close-on-exec stays out of it.
exec 7</dev/null
"$bin" replay -n -f raw -o "exec:/usr/bin/find /proc/self/fd -mindepth 1 -fprint $tmp/fds" \
  "$log" 2>/dev/null
exec 7<&-
check "exec: the plugin ran" [ -s "$tmp/fds" ]
check "exec: no inherited descriptor reaches the plugin" sh -c "! grep -q '/fd/7\$' '$tmp/fds'"
# The dispatcher stream has the EOE records auditd's log leaves out.
eoe=$tmp/eoe.log
for s in 1 2 3; do
  printf 'type=SYSCALL msg=audit(1700000000.00%s:%s): arch=c000003e syscall=2 success=yes exit=3 a0=1 a1=2 a2=3 a3=4 items=0 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm="x" exe="/x" key=(null)\ntype=PROCTITLE msg=audit(1700000000.00%s:%s): proctitle=78\ntype=EOE msg=audit(1700000000.00%s:%s): \n' $s $s $s $s $s $s
done > "$eoe"
"$bin" replay -n -f raw -o "exec:/usr/bin/tee $tmp/plugin.raw" "$eoe" > /dev/null 2>&1
"$bin" replay -n -f raw "$eoe" > "$tmp/plain.raw" 2>/dev/null
check "exec: the plugin reads the raw lines with EOE, the log without" \
  sh -c "grep -q '^type=EOE msg' '$tmp/plugin.raw' && ! grep -q '^type=EOE msg' '$tmp/plain.raw' &&
         grep -v '^type=EOE msg' '$tmp/plugin.raw' | cmp -s - '$tmp/plain.raw'"
check "exec: a relative program is refused (exit 2)" \
  [ "$(rc "$bin" replay -o "exec:laurel" "$log")" = 2 ]
exit $fail
