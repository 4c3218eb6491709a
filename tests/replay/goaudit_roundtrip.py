#!/usr/bin/env python3
"""Round trip through go-audit's format (issue 11): for every corpus log,
`replay --format go-audit LOG > g.json` then `replay --input-format go-audit g.json`
must give the events `replay LOG` gives: same serials, records and fields, apart
from what go-audit's format cannot carry (DIFFERENCES below, each with its reason).
Then malformed go-audit lines must be reported by file:line with exit status 1.

Usage: goaudit_roundtrip.py AUDITRELAY DIR|FILE...   (exit 0 pass, 1 fail)
       goaudit_roundtrip.py AUDITRELAY --bench CACHE_DIR
The second form runs the round trip on the 53 MB bench log only (decompressed
into CACHE_DIR as tests/peers/conformance.py does; exit 77 when it is absent):
too slow under ASan, so meson runs it in builds without sanitizers.
"""
import itertools
import json
import os
import subprocess
import sys
import tempfile

# What may differ by design, and why. Everything else must be equal.
DIFFERENCES = {
    'node': "go-audit's messages carry no node= name (it reads one host's kernel)",
    'eoe': "go-audit leaves EOE records out of its messages (so does --format go-audit)",
    'enriched': "data is the kernel's text only: the names an ENRICHED log appended "
                "(and the interpretations taken from them) are not in the format, but "
                "for user ids (uid_map)",
    'incomplete': "a go-audit line is a whole event: the evicted/truncated marks of the "
                  "original are not in the format (its records are)",
    'process': "the process table learns from records in the order they arrive; a go-audit "
               "stream has them in the order events completed (a reordered log's children "
               "before their parents), so a process object may know less or other things",
    'loss_order': "reassembly finds serial gaps again from the serials; the lines come in "
                  "the order events completed, not the order records arrived, so a "
                  "gap can be found where the first serials came out of order",
}


def run(cmd, stdin=None):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=stdin)


def logs(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, _, files in os.walk(p):
            for f in sorted(files):
                if f.endswith(('.log', '.txt', '.yaml')) and not f.startswith('README') \
                        and f != 'PROVENANCE.txt':
                    yield os.path.join(root, f)


def normalize(ev, used):
    """The event as the go-audit round trip can give it back, noting which
    allowed difference applied."""
    ev = dict(ev)
    if 'node' in ev:
        del ev['node']
        used.add('node')
    if 'incomplete' in ev:
        del ev['incomplete']
        used.add('incomplete')
    recs = []
    enriched = False
    for r in ev.get('records', []):
        if r.get('type') == 'EOE':
            used.add('eoe')
            continue
        r = dict(r)
        if 'enriched' in r:
            del r['enriched']
            enriched = True
        recs.append(r)
    if 'records' in ev:
        ev['records'] = recs
    return ev, enriched


def without_names(ev):
    """The event without the interpretations an ENRICHED log's names gave (with
    -n they come from nowhere else)."""
    ev = dict(ev)
    for k in NAME_KEYS:
        ev.pop(k, None)
    ev['records'] = [{k: v for k, v in r.items() if k != 'interp'} for r in ev['records']]
    return ev


# Top-level keys the ENRICHED names fill.
NAME_KEYS = ('user', 'login_user')


# Lines that are not go-audit events, each with what makes it so; between them
# good lines that must still replay.
GOOD = ('{"sequence":7,"timestamp":"1700000000.123","messages":[{"type":1300,'
        '"data":"arch=c000003e syscall=2 success=yes exit=3 pid=1 uid=0 comm=\\"x\\""},'
        '{"type":1302,"data":"item=0 name=\\"/etc/passwd\\""}],"uid_map":{"0":"root"}}')
BAD = [
    ('not JSON', '{"sequence":8,"timestamp":"1700000000.124","messages":[{"type":1300,'),
    ('not an object', '[1,2,3]'),
    ('sequence missing', '{"timestamp":"1700000000.124","messages":[{"type":1300,"data":"a=1"}]}'),
    ('sequence a string', '{"sequence":"8","timestamp":"1700000000.124",'
                          '"messages":[{"type":1300,"data":"a=1"}]}'),
    ('sequence over 32 bits', '{"sequence":4294967296,"timestamp":"1700000000.124",'
                              '"messages":[{"type":1300,"data":"a=1"}]}'),
    ('sequence not whole', '{"sequence":8.5,"timestamp":"1700000000.124",'
                           '"messages":[{"type":1300,"data":"a=1"}]}'),
    ('timestamp a number', '{"sequence":8,"timestamp":1700000000.124,'
                           '"messages":[{"type":1300,"data":"a=1"}]}'),
    ('timestamp not SEC.MSEC', '{"sequence":8,"timestamp":"2023-11-14T22:13:20Z",'
                               '"messages":[{"type":1300,"data":"a=1"}]}'),
    ('messages missing', '{"sequence":8,"timestamp":"1700000000.124","uid_map":{}}'),
    ('messages empty', '{"sequence":8,"timestamp":"1700000000.124","messages":[]}'),
    ('type a string', '{"sequence":8,"timestamp":"1700000000.124",'
                      '"messages":[{"type":"SYSCALL","data":"a=1"}]}'),
    ('type negative', '{"sequence":8,"timestamp":"1700000000.124",'
                      '"messages":[{"type":-1,"data":"a=1"}]}'),
    ('data missing', '{"sequence":8,"timestamp":"1700000000.124","messages":[{"type":1300}]}'),
    ('data with NUL', '{"sequence":8,"timestamp":"1700000000.124",'
                      '"messages":[{"type":1300,"data":"a=1\\u0000b=2"}]}'),
    ('uid_map not an object', '{"sequence":8,"timestamp":"1700000000.124",'
                              '"messages":[{"type":1300,"data":"a=1"}],"uid_map":[]}'),
    ('text after the object', GOOD + ' x'),
    ('an audit log line', 'type=SYSCALL msg=audit(1700000000.124:8): arch=c000003e'),
    ('loss report of an unknown kind', '{"type":"AUDITRELAY_LOST","loss":{"kind":"x","count":1}}'),
]


# A line as go-audit itself writes it (Go's encoding/json: <, >, & as \\u003c...,
# messages with "containers" and "extras" when configured, PROCTITLE not last) and
# the records it must give.
GO_AUDIT_LINE = (
    '{"sequence":1226,"timestamp":"1459449216.329","messages":['
    '{"type":1300,"data":"arch=c000003e syscall=59 success=yes exit=0 a0=1 ppid=1 pid=42 '
    'auid=1000 uid=1000 comm=\\"sh\\" exe=\\"/bin/sh\\" key=\\"\\u003cx\\u0026y\\u003e\\"",'
    '"containers":{"id":"abc"},"extras":{"cgroup_root":"/x"}},'
    '{"type":1327,"data":"proctitle=7368"},'
    '{"type":1302,"data":"item=0 name=\\"/bin/sh\\" inode=1"}],'
    '"uid_map":{"1000":"alice"}}')


def check_go_audit_shape(binary, tmp):
    path = os.path.join(tmp, 'go-audit.json')
    with open(path, 'w') as f:
        f.write(GO_AUDIT_LINE + '\n')
    r = run([binary, 'replay', '-n', '--input-format', 'go-audit', path])
    events = [json.loads(x) for x in r.stdout.splitlines()]
    ok = r.returncode == 0 and len(events) == 1 and events[0]['serial'] == 1226 and \
        events[0]['timestamp'] == '2016-03-31T18:33:36.329Z' and \
        [x['type'] for x in events[0]['records']] == ['SYSCALL', 'PROCTITLE', 'PATH'] and \
        events[0]['records'][0]['fields']['key'] == '<x&y>'
    print(f'a line as go-audit writes it: {"ok" if ok else "FAILED"}')
    if not ok:
        print(r.stdout.decode(errors='replace'), r.stderr.decode(errors='replace'))
    # Its uid_map names users as the recording host knew them: with -n (no lookups
    # here) uid 1000 is still alice, in the records, the summary, and the uid_map
    # of --format go-audit (it used to be unread: no names, UNKNOWN_USER).
    ev = events[0] if events else {}
    interp = ev.get('records', [{}])[0].get('interp', {})
    names = (interp.get('auid'), interp.get('uid'), ev.get('user'), ev.get('login_user'))
    g = run([binary, 'replay', '-q', '-n', '--input-format', 'go-audit', '--format', 'go-audit',
             path])
    uid_map = json.loads(g.stdout).get('uid_map') if g.returncode == 0 else None
    names_ok = names == ('alice',) * 4 and uid_map == {'1000': 'alice'}
    print(f'uid_map names (records, summary, go-audit out): {names} {uid_map}: '
          f'{"ok" if names_ok else "FAILED"}')
    # go-audit writes events as they complete: a stream may start 1002, 1000, 1001.
    # Not a restart and nothing lost (it used to count one serial lost).
    with open(path, 'w') as f:
        for seq in (1002, 1000, 1001, 1003):
            f.write('{"sequence":%d,"timestamp":"1700000000.%03d","messages":[{"type":1112,'
                    '"data":"pid=1 uid=0 msg=\'op=login res=success\'"}],"uid_map":{}}\n'
                    % (seq, seq - 1000))
    r = run([binary, 'replay', '-n', '--input-format', 'go-audit', path])
    loss = [x for x in r.stdout.splitlines() if b'AUDITRELAY_LOST' in x]
    start_ok = r.returncode == 0 and not loss and b'0 serial gaps' in r.stderr
    print(f'a reordered start is no loss: {"ok" if start_ok else "FAILED"}')
    if not start_ok:
        print(r.stdout.decode(errors='replace'), r.stderr.decode(errors='replace'))
    return ok and names_ok and start_ok


def check_malformed(binary, tmp):
    """Bad lines are counted and reported by file:line, exit status 1, and the
    good lines around them still come out (from a file and from stdin)."""
    lines = []
    bad_lines = []
    for i, (_, text) in enumerate(BAD):
        lines.append(GOOD.replace('"sequence":7', f'"sequence":{100 + i}'))
        lines.append(text)
        bad_lines.append(len(lines))
    path = os.path.join(tmp, 'bad.json')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    ok = True
    for name, args, stdin in (('file', [path], None), ('stdin', ['-'], path)):
        with open(stdin or os.devnull, 'rb') as inp:
            r = run([binary, 'replay', '-n', '--input-format', 'go-audit'] + args, stdin=inp)
        err = r.stderr.decode(errors='replace')
        events = [json.loads(x) for x in r.stdout.splitlines()]
        shown = 'stdin' if stdin else path
        want = [f'malformed line {shown}:{n}' for n in bad_lines[:5]]
        if r.returncode != 1 or f'{len(BAD)} malformed lines' not in err or \
                any(w not in err for w in want) or \
                f'and {len(BAD) - 5} more malformed lines' not in err or \
                [e['serial'] for e in events] != [100 + i for i in range(len(BAD))] or \
                any(len(e['records']) != 2 for e in events):
            print(f'FAIL malformed go-audit lines ({name}): exit {r.returncode}, '
                  f'{len(events)} events\n{err}')
            ok = False
    # Each bad line alone: its line number, exit 1, no event.
    for why, text in BAD:
        one = os.path.join(tmp, 'one.json')
        with open(one, 'w') as f:
            f.write(GOOD + '\n' + text + '\n')
        r = run([binary, 'replay', '-n', '--input-format', 'go-audit', one])
        err = r.stderr.decode(errors='replace')
        if r.returncode != 1 or f'malformed line {one}:2' not in err or \
                len(r.stdout.splitlines()) != 1:
            print(f'FAIL bad line "{why}" not reported: exit {r.returncode}\n{err}')
            ok = False
    print(f'malformed go-audit lines: {len(BAD)} kinds reported by file:line, exit 1: '
          f'{"ok" if ok else "FAILED"}')
    return ok


def compare(log, direct, back, used):
    """Compares two replays' output files event by event (streamed: the bench log
    gives hundreds of MB). Returns a failure message or None."""
    a_loss, b_loss = [], []
    events = 0

    def events_of(path, loss):
        with open(path, 'rb') as f:
            for line in f:
                ev = json.loads(line)
                if ev.get('category') == 'loss':
                    loss.append(line)
                    if ev['loss']['kind'] != 'serial_gap':
                        raise ValueError(f'a {ev["loss"]["kind"]} loss event')
                    continue
                yield ev

    a_it, b_it = events_of(direct, a_loss), events_of(back, b_loss)
    try:
        for n, (a, b) in enumerate(itertools.zip_longest(a_it, b_it)):
            if a is None or b is None:
                return f'event {n + 1}: {"direct" if a is None else "go-audit"} output ends'
            a, enriched = normalize(a, used)
            b = normalize(b, set())[0]
            # Where the original event had ENRICHED names, both without the
            # interpretations taken from them.
            if a != b and enriched:
                used.add('enriched')
                a, b = without_names(a), without_names(b)
            if a != b and a.get('process') != b.get('process'):
                used.add('process')
                a = {k: v for k, v in a.items() if k != 'process'}
                b = {k: v for k, v in b.items() if k != 'process'}
            if a != b:
                return (f'event {n + 1} (serial {a.get("serial")}) differs\n'
                        f'  direct  : {json.dumps(a, sort_keys=True)[:600]}\n'
                        f'  go-audit: {json.dumps(b, sort_keys=True)[:600]}')
            events += 1
    except ValueError as e:
        return str(e)
    if a_loss != b_loss:
        used.add('loss_order')
        print(f'note {log}: serial_gap loss events {len(a_loss)} direct, {len(b_loss)} back')
    return events


def main():
    binary, paths = sys.argv[1], sys.argv[2:]
    bench = paths[:1] == ['--bench']
    if bench:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                                        'peers'))
        from conformance import bench_log
        log = bench_log(paths[1])
        if log is None:
            return 77
        paths = [log]
    failures = 0
    files = 0
    events = 0
    used_total = {}
    with tempfile.TemporaryDirectory() as tmp:
        g, direct, back = (os.path.join(tmp, n) for n in ('g.json', 'direct.json', 'back.json'))
        base = [binary, 'replay', '-q', '-n']
        for log in logs(paths):
            files += 1
            with open(direct, 'wb') as f:
                subprocess.run(base + [log], stdout=f)
            with open(g, 'wb') as f:
                subprocess.run(base + ['--format', 'go-audit', log], stdout=f)
            with open(back, 'wb') as f:
                r = subprocess.run(base + ['--input-format', 'go-audit', g], stdout=f,
                                   stderr=subprocess.PIPE)
            if r.returncode != 0:
                print(f'FAIL {log}: go-audit replay exit {r.returncode}: '
                      f'{r.stderr.decode(errors="replace")}')
                failures += 1
                continue
            used = set()
            result = compare(log, direct, back, used)
            if not isinstance(result, int):
                print(f'FAIL {log}: {result}')
                failures += 1
                continue
            events += result
            for u in used:
                used_total[u] = used_total.get(u, 0) + 1
        if not bench and not (check_malformed(binary, tmp) and
                              check_go_audit_shape(binary, tmp)):
            failures += 1
    for u, n in sorted(used_total.items()):
        print(f'allowed difference {u} in {n} files: {DIFFERENCES[u]}')
    print(f'{files} files, {events} events, {failures} failed')
    return 1 if failures or files == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
