#!/usr/bin/env python3
"""exec: outputs without a kernel (issue 16): a plugin that ends after reading N bytes
(dd) is restarted, gets the recent lines again from the start of a whole event, and
together the instances lose nothing.

Usage: test_exec.py AUDITRELAY CORPORA CACHE [CASE...]
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_outputs as T  # noqa: E402  (Ctx, replay, finish, bench log, run_cases)

STAMP = re.compile(rb"msg=audit\(([0-9.:]+)\)")


def case_exec_restart(ctx):
    inp = ctx.path("input.log")
    with open(T.bench_log(), "rb") as src, open(inp, "wb") as dst:
        dst.write(src.read(6_000_000).rsplit(b"\n", 1)[0] + b"\n")
    got = ctx.path("plugin.raw")
    per = 2_000_000  # each instance reads this much, then ends
    plugin = ("exec:/usr/bin/dd of=%s oflag=append conv=notrunc iflag=count_bytes,fullblock "
              "bs=65536 count=%d status=none" % (got, per))
    full = ctx.path("full.raw")
    p = T.replay(ctx, "-f", "raw", "-o", plugin, "-o", "file:" + full, inp)
    assert T.finish(p, 120) == 0, T.stderr_of(p)[-2000:]
    data = open(got, "rb").read()
    want = open(full, "rb").read().splitlines(keepends=True)
    first_of = {}
    for line in want:
        s = STAMP.search(line)
        if s and s.group(1) not in first_of:
            first_of[s.group(1)] = line
    starts = list(range(per, len(data), per))
    assert starts, "the plugin was never restarted (%d bytes)" % len(data)
    for off in starts:
        line = data[off:data.index(b"\n", off) + 1]
        s = STAMP.search(line)
        assert s and first_of.get(s.group(1)) == line, (
            "instance at byte %d starts inside an event: %r" % (off, line[:120]))
    # Every line of the stream reached some instance whole (dd cuts the last line of
    # each instance; the next one gets it again in the resend).
    seen = set(data.splitlines(keepends=True))
    missing = [l for l in want if l not in seen and b"op=auditrelay-loss" not in l]
    assert not missing, "%d lines never reached the plugin, e.g. %r" % (len(missing), missing[0][:120])
    T.log("     %d instances (dd ending after %d bytes each), each restart resent from the "
          "first record of an event; 0 of %d lines missing" % (len(starts) + 1, per, len(want)))


CASES = [case_exec_restart]

if __name__ == "__main__":
    sys.exit(T.run_cases(CASES, needs_rsyslog=set(), needs_root=set(), doc=__doc__))
