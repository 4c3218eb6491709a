#!/usr/bin/env python3
"""The process object through the binary, on laurel's process traces
(fixtures/corpora/laurel): with a label on the script's key, every descendant of the
script carries it, the script and parents are named, the reordered trace (its events
complete backwards) gives every event the same object as the plain one, --threads 0
and 3 agree, --process-depth cuts the chain, --no-process-context leaves it out, and
a bad label rule is refused naming the option; a synthesized log of 100000 forks
keeps the table within its bound (printed); replay asks /proc nothing about the live
processes a log names.

usage: test_process.py AUDITRELAY LAUREL_TESTDATA_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print(f'FAIL {what}')


def replay(binary, path, *opts):
    out = subprocess.run([binary, 'replay', '-q', '-n', *opts, path], capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise SystemExit(f'{path}: exit {out.returncode}: {out.stderr}')
    return {ev['serial']: ev for ev in map(json.loads, out.stdout.splitlines())}


def fork_heavy(binary):
    """100000 forks of one shell, each child exiting (every tenth execs first), pids
    wrapping at 32768, into a 1024-entry table: it stays within its bound, no event
    loses its process, and the last child still names the shell."""
    with tempfile.NamedTemporaryFile('w', suffix='.log') as log:
        serial, pid, t = 1, 301, 1700000000000

        def syscall(nr, exitv, ppid, p, exe):
            nonlocal serial, t
            log.write(f'type=SYSCALL msg=audit({t // 1000}.{t % 1000:03d}:{serial}): '
                      f'arch=c000003e syscall={nr} success=yes exit={exitv} a0=0 items=0 '
                      f'ppid={ppid} pid={p} comm="x" exe="{exe}" key=(null)\n'
                      f'type=EOE msg=audit({t // 1000}.{t % 1000:03d}:{serial}): \n')
            serial += 1
            t += 1

        syscall(59, 0, 1, 300, '/usr/bin/bash')
        for i in range(100000):
            syscall(57, pid, 1, 300, '/usr/bin/bash')
            if i % 10 == 0:
                syscall(59, 0, 300, pid, '/usr/bin/true')
            syscall(231, 0, 300, pid, '/usr/bin/true' if i % 10 == 0 else '/usr/bin/bash')
            last = (serial - 1, pid)
            pid = 301 if pid == 32767 else pid + 1
        log.flush()
        out = subprocess.run([binary, 'replay', '-n', '--threads', '0', '--process-table-size',
                              '1024', log.name], capture_output=True, text=True)
    line = [ln for ln in out.stderr.splitlines() if 'process table' in ln]
    print(f'fork-heavy: {line[0] if line else out.stderr}')
    m = re.search(r'(\d+) of (\d+) entries in use \((\d+) bytes.* (\d+) made, (\d+) reused, '
                  r'(\d+) events whose', line[0] if line else '')
    check(m is not None, 'fork-heavy: the statistics line')
    if m:
        used, size, _, made, _, lost = map(int, m.groups())
        check(used <= size == 1024, f'fork-heavy: {used} of {size} in use')
        check(made == 110001 and lost == 0, f'fork-heavy: {made} made (a fork or an exec '
              f'makes one: 110001), {lost} lost')
    events = [json.loads(ln) for ln in out.stdout.splitlines()[-3:]]
    exit_ev = [ev for ev in events if ev['serial'] == last[0]]
    check(exit_ev and exit_ev[0].get('process', {}).get('parent', {}).get('exe') ==
          '/usr/bin/bash', f'fork-heavy: the last child {exit_ev}')


def no_proc_in_replay(binary):
    """Replay never asks /proc: a log naming live processes (pid 1, this test and a
    child of it, stamped now, so /proc's start times would be accepted) gets no
    start, parent, container, unit or from_proc from them (the child comes before its
    parent: the table knows neither)."""
    child = subprocess.Popen(['sleep', '30'])
    try:
        now = int(time.time()) + 1
        with tempfile.NamedTemporaryFile('w', suffix='.log') as log:
            for serial, (ppid, pid) in enumerate([(0, 1), (os.getpid(), child.pid),
                                                  (os.getppid(), os.getpid())], 1):
                log.write(f'type=SYSCALL msg=audit({now}.000:{serial}): arch=c000003e '
                          f'syscall=257 success=yes exit=3 a0=0 items=0 ppid={ppid} pid={pid} '
                          f'auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 '
                          f'fsgid=0 tty=(none) ses=4294967295 comm="x" exe="/usr/bin/x" '
                          f'key=(null)\ntype=EOE msg=audit({now}.000:{serial}): \n')
            log.flush()
            events = replay(binary, log.name)
    finally:
        child.kill()
        child.wait()
    check(len(events) == 3 and not any('process' in ev for ev in events.values()),
          f'replay asked /proc: {[ev.get("process") for ev in events.values()]}')


def main():
    binary, data = sys.argv[1], sys.argv[2]
    plain = os.path.join(data, 'shell-proc-trace.txt')
    reordered = os.path.join(data, 'shell-proc-trace-reordered.txt')
    label = ['--process-label', 'test-script:key:test-script']
    a = replay(binary, plain, *label)
    b = replay(binary, reordered, *label)
    check(sorted(a) == sorted(b), 'same serials in both traces')
    for serial in sorted(a):
        check(a[serial].get('process') == b[serial].get('process'),
              f'{serial}: the reordered trace gives {b[serial].get("process")}, '
              f'the plain one {a[serial].get("process")}')
    script = '/home/user/src/laurel/src/testdata/double-fork/test-script.sh'
    # 29238 is the script's exec; everything after it runs under it.
    for serial in range(29238, 29246):
        p = a[serial].get('process', {})
        check(p.get('labels') == ['test-script'], f'{serial}: labels {p.get("labels")}')
    check(a[29237].get('process') == {'session': 3, 'tty': 'pts7'},
          f'29237: bash forks, nothing known beyond the event but its session and tty: '
          f'{a[29237].get("process")}')
    check(a[29245]['process'].get('session') == 3 and a[29245]['process'].get('tty') == 'pts7',
          '29245: session and tty kept')
    p = a[29238]['process']
    check(p.get('script') == script, f'29238: script {p.get("script")}')
    check(p.get('parent') == {'pid': 71432, 'exe': '/usr/bin/bash', 'comm': 'bash'},
          f'29238: parent {p.get("parent")}')
    p = a[29245]['process']
    check(p.get('parent', {}).get('pid') == 71506 and
          p['parent'].get('exe') == '/usr/bin/dash', f'29245: parent {p.get("parent")}')
    check(p.get('ancestors') == [{'pid': 71505, 'exe': '/usr/bin/dash'},
                                 {'pid': 71432, 'exe': '/usr/bin/bash'}],
          f'29245: ancestors {p.get("ancestors")}')
    check(p.get('start') == '2023-04-27T15:24:05.530Z', f'29245: start {p.get("start")}')

    # The pool copies the context: the same lines with worker threads.
    for path in (plain, reordered):
        t0 = subprocess.run([binary, 'replay', '-q', '-n', '--threads', '0', *label, path],
                            capture_output=True).stdout
        t3 = subprocess.run([binary, 'replay', '-q', '-n', '--threads', '3', *label, path],
                            capture_output=True).stdout
        check(t0 == t3 and t0, f'{path}: --threads 0 and 3 differ')

    d1 = replay(binary, plain, '--process-depth', '1')
    check('ancestors' not in d1[29245]['process'] and 'parent' in d1[29245]['process'],
          f'--process-depth 1: {d1[29245]["process"]}')
    off = replay(binary, plain, '--no-process-context')
    check(not any('process' in ev for ev in off.values()), '--no-process-context')

    # The confusing trace: pid 2655 was rm long ago; the id run by the new 2655 (a
    # tcsh fork) names tcsh as its parent.
    c = replay(binary, os.path.join(data, 'shell-proc-trace-confusion.txt'))
    check(c[2638035]['process']['parent']['exe'] == '/bin/tcsh',
          f'confusion: parent {c[2638035]["process"]["parent"]}')

    fork_heavy(binary)
    no_proc_in_replay(binary)

    bad = subprocess.run([binary, 'replay', '--process-label', 'x:path:/etc', plain],
                         capture_output=True, text=True)
    check(bad.returncode != 0 and "--process-label 'x:path:/etc': matches on key, exe, argv "
          "or script, not 'path'" in bad.stderr, f'bad rule: {bad.stderr!r}')
    print(f'{len(a)} events, {failures} failed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
