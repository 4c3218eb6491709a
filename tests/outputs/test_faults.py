#!/usr/bin/env python3
"""Faults under load (issue 13): an output's disk fills up during a run.

Cases:
  file_disk_full   a file output on a 160 MiB tmpfs, filled up by another file during
                   a replay of the bench log fed over ~8 s; space comes back 3 s later:
                   a clear error on stderr, no crash, no cut or repeated line, and at
                   the end the file holds exactly what a second output on a roomy
                   disk holds (replay waits rather than drops)

  file_cut_line    a file left with a cut last line (a killed run): the next run ends
                   it before its first event

Usage: test_faults.py AUDITRELAY CORPORA_DIR CACHE_DIR [CASE...] (root: it mounts).
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_outputs as to  # noqa: E402  (the shared runner and helpers)
from test_outputs import Skip, log  # noqa: E402


def case_file_disk_full(ctx):
    small = ctx.path("small")
    os.mkdir(small)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", small],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip("cannot mount a tmpfs: " + r.stderr.strip())
    ctx.closers.append(lambda: subprocess.run(["umount", "-l", small], capture_output=True))
    out, ref = os.path.join(small, "events.json"), ctx.path("ref.json")
    p = to.replay(ctx, "-o", "file:" + out, "-o", "file:" + ref, "-", stdin="pipe")
    feeder = to.Feeder(p.stdin, to.bench_log(), 8)
    feeder.start()
    filler = os.path.join(small, "filler")
    # Fill the disk once the output has written something.
    to.wait_for(lambda: os.path.exists(out) and os.path.getsize(out) > 64 * 1024, 20,
                what="the output's first lines")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        except OSError:
            pass
    t_full = time.monotonic()
    log("     disk full at %d bytes of output" % os.path.getsize(out))
    time.sleep(3)
    err_during = to.stderr_of(p)
    os.unlink(filler)
    rc = to.finish(p, 120)
    err = to.stderr_of(p)
    log("     space back after %.1f s; replay exit %d; stderr during the outage: %s" % (
        time.monotonic() - t_full, rc, " | ".join(
            l for l in err_during.splitlines() if "output" in l)[:400]))
    assert rc == 0, err[-1500:]
    assert "No space left on device" in err_during, "no clear error while the disk was full"
    got = to.read_lines(out)
    want = to.read_lines(ref)
    bad = [l for l in got if not l.startswith("{") or not l.endswith("}")]
    assert not bad, "%d cut lines in the output, e.g. %r" % (len(bad), bad[0][:200])
    assert len(got) == len(set(got)) or got == want, "lines written twice"
    assert got == want, "the output has %d lines, the reference %d" % (len(got), len(want))
    log("     %d events, identical to the roomy output" % len(want))


def case_file_cut_line(ctx):
    """A file a killed run left with a cut last line: the next run ends that line
    before its first event, so every event it writes is a whole line."""
    out = ctx.path("events.json")
    with open(out, "w") as f:
        f.write('{"whole":1}\n{"timestamp":"2026-11-30T00:00:00.000Z","ser')
    small = os.path.join(to.CORPORA, "go-libaudit/testdata/normal.log")
    p = to.replay(ctx, "-o", "file:" + out, small)
    assert to.finish(p, 30) == 0, to.stderr_of(p)
    lines = to.read_lines(out)
    assert lines[:2] == ['{"whole":1}', '{"timestamp":"2026-11-30T00:00:00.000Z","ser'], lines[:2]
    events = [l for l in lines[2:]]
    assert events and all(l.startswith('{"timestamp"') and l.endswith("}") for l in events), events
    log("     the cut line stays alone; %d events after it, each a whole line" % len(events))


CASES = [case_file_disk_full, case_file_cut_line]

if __name__ == "__main__":
    sys.exit(to.run_cases(CASES, needs_rsyslog=set(), needs_root={"case_file_disk_full"},
                          doc=__doc__))
