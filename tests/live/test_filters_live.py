#!/usr/bin/env python3
"""Filters in the live collector (root, the real kernel): the configuration file's
[filter] section drops one watch key's events and keeps the other's; a SIGHUP with
the filter turned around swaps it between two events (the reads before the reload
come out by the first filter, those after by the second), a filter that stayed
keeps its count, a broken filter is refused with its file:line and the running
filters stay; SIGUSR1 and the exit print the counts, which equal what came out.

Runs under test_live's runner (the live tests' lock; the audit state saved and put
back by test_live.Machine).

Usage: test_filters_live.py AUDITRELAY [CASE...]   exit 77 when audit is unavailable.
"""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_live  # noqa: E402  (its runner, start, stop, rules)
from test_live import rules, settings_restored, start, stop  # noqa: E402


def case_filters_reload(m, tmp):
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    for p in (a, b):
        open(p, "w").close()
    rules_file = os.path.join(tmp, "r.rules")
    with open(rules_file, "w") as f:
        f.write("-w %s -p r -k ar-filter-a\n-w %s -p r -k ar-filter-b\n" % (a, b))
    conf = os.path.join(tmp, "auditrelay.conf")
    head = "[collector]\nsource = unicast\nrules = %s\n[filter]\n" % rules_file
    confs = {
        1: head + "filter = drop key=ar-filter-b\nfilter = drop key=never-there\n",
        2: head + "filter = drop key=ar-filter-a\nfilter = drop key=never-there\n",
        "broken": head + "filter = drop key=ar-filter-a\nfilter = drop syscall=opne\n",
    }

    def write_conf(which):
        with open(conf + ".tmp", "w") as f:
            f.write(confs[which])
        os.replace(conf + ".tmp", conf)

    def reads(n):
        for _ in range(n):
            test_live.touch_and_read(a)
            test_live.touch_and_read(b)

    def wait_err(p, text, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            p.err.seek(0)
            if text in p.err.read():
                return
            time.sleep(0.05)
        raise AssertionError("no %r on stderr" % text)

    write_conf(1)
    p = start(m, "--config", conf)
    reads(5)
    time.sleep(1.5)  # the events are out (idle expiry 1 s)
    write_conf(2)
    p.send_signal(signal.SIGHUP)
    wait_err(p, "reload done")
    reads(7)
    time.sleep(1.5)
    write_conf("broken")
    p.send_signal(signal.SIGHUP)
    wait_err(p, "the running configuration stays")
    reads(3)  # still filtered by configuration 2
    time.sleep(1.5)
    p.send_signal(signal.SIGUSR1)
    wait_err(p, "auditrelay: filters:")
    rc, events, err = stop(p)
    assert rc == 0, err
    ours = [e for e in events if e.get("key") in ("ar-filter-a", "ar-filter-b")
            and e.get("pid") == os.getpid()]
    keys = [e["key"] for e in ours]
    # Before the reload only a's events, after it only b's.
    first_b = keys.index("ar-filter-b") if "ar-filter-b" in keys else len(keys)
    print("     %d events of ours: %d a then %d b" % (len(keys), first_b, len(keys) - first_b))
    print("     " + " | ".join(l for l in err.splitlines() if "filter" in l)[:900])
    assert keys[:first_b] == ["ar-filter-a"] * first_b and first_b >= 5, keys
    assert keys[first_b:] == ["ar-filter-b"] * (len(keys) - first_b), keys
    assert len(keys) - first_b >= 10, keys
    assert re.search(re.escape(conf) + r":6: filter 'drop syscall=opne': syscall: unknown "
                     r"syscall 'opne'", err), err
    # The exit's counts: b's reads dropped by filter 1 of configuration 1, a's by
    # filter 1 of configuration 2 (a new text: counted from 0); "drop
    # key=never-there" stayed and kept its count (0); the totals run on.
    last = err[err.rindex("auditrelay: filters:"):]
    m1 = re.search(r"filters: (\d+) events, (\d+) dropped, (\d+) kept", last)
    m2 = re.search(r"filter 1 'drop key=ar-filter-a': (\d+) events? dropped", last)
    assert m1 and m2, last
    events_total, dropped, kept = map(int, m1.groups())
    assert "filter 2 'drop key=never-there': 0 events dropped" in last, last
    assert int(m2.group(1)) >= 10, last  # a's reads after the reload (each read: an event)
    assert dropped >= int(m2.group(1)) + 5, last  # and b's before it
    assert kept == len([e for e in events if e.get("type") != "AUDITRELAY_LOST"]), (kept, last)
    settings_restored(m.before)
    assert "ar-filter" not in rules(), rules()


CASES = [case_filters_reload]

if __name__ == "__main__":
    sys.exit(test_live.main(CASES))
