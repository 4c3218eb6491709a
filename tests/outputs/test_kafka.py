#!/usr/bin/env python3
"""The kafka:// output against librdkafka's mock cluster (issue 14).

The cluster is tests/outputs/kafka_mock (3 brokers, topic "audit" with 3 partitions,
replication 3) on 127.0.0.1, driven through its stdin; kcat (Debian) consumes the
topic during the whole run (the mock keeps only the last 5 MB of each partition, so
a consumer that starts late would miss the start: the check that every partition's
offsets run from 0 without a hole proves it did not).

The events are the 53 MB bench log's, made into a fleet's: each event gets a node=
prefix (host0..host4, by serial), so the default key (the node) spreads them over the
partitions. The reference is `auditrelay replay` of the same log to a file. A run
passes when every reference line arrived (byte for byte), none arrived that is not
one, each key's events are in one partition in the reference's order, and each
message's key and timestamp are the event's node and time. Duplicates are counted
and printed with their explanation.

Cases:
  kafka_delivery   the full replay at full speed (compression=zstd); a small log keyed
                   by this host's name (the default without node=), and key=none
  kafka_failures   the replay fed over ~40 s with --spool-dir and --max-memory 4M: the
                   leader of partition 0 down 5 s (no failover) and up, 31 Produce
                   errors injected (the last one fatal for an idempotent producer,
                   which is replaced: its unacknowledged lines are sent again, and
                   duplicates must be no more than those), the leader of partition 1 down with the
                   leadership moved and back, then the whole cluster down 30 s
  kafka_shutdown   the cluster down, Ctrl-C: the replay stops within the 5 s bound and
                   says how many events were not acknowledged
  kafka_bad_specs  bad brokers, topic, options, librdkafka properties: clear error, exit 2

Usage: test_kafka.py AUDITRELAY CORPORA_DIR CACHE_DIR [CASE...]; the mock cluster is
$AR_KAFKA_MOCK. Exit 0 all passed, 1 a case failed, 77 all skipped.
"""
import collections
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_outputs as to  # noqa: E402  (the shared runner and helpers)
from test_outputs import Skip, log  # noqa: E402

MOCK = os.environ.get("AR_KAFKA_MOCK", "")
KCAT = shutil.which("kcat")
TOPIC = "audit"
NODES = 5
SERIAL_RE = re.compile(rb"msg=audit\(\d+\.\d+:(\d+)\)")


class Cluster:
    """kafka_mock: 3 brokers, TOPIC with 3 partitions, replication 3."""

    def __init__(self, ctx, partitions=3, brokers=3):
        if not MOCK or not os.access(MOCK, os.X_OK):
            raise to.MissingPeer("kafka_mock not built (librdkafka-dev missing at build time)")
        self.p = ctx.popen([MOCK, TOPIC, str(partitions), "3", str(brokers)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.brokers = brokers
        line = self._read(10)
        assert line.startswith("bootstrap "), "kafka_mock did not start: %r" % line
        self.bootstrap = line.split()[1]
        ctx.closers.append(self.close)

    def _read(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        assert r, "kafka_mock did not answer in %d s" % timeout
        return self.p.stdout.readline().strip()

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        out = self._read(15)
        assert out.startswith("ok"), "kafka_mock %r: %s" % (c, out)
        return out[2:].strip()

    def leader(self, partition):
        return int(self.cmd("leaderof %d" % partition))

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.close()
                self.p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()


class Consumer:
    """kcat reading each partition from offset 0 for the whole run. kcat ends when
    every broker is down, so each partition's reader is started again (after a
    second) from the offset after the last one it wrote."""

    def __init__(self, ctx, cluster, name="consumed", partitions=3):
        if not KCAT:
            raise to.MissingPeer("kcat (Debian kcat) not installed")
        self.ctx, self.cluster, self.name = ctx, cluster, name
        self.paths = [ctx.path("%s.p%d.tsv" % (name, p)) for p in range(partitions)]
        self.procs = [None] * partitions
        self.next = [0] * partitions
        self.restarts = 0
        self.stopping = False
        for p in range(partitions):
            self._start(p)
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _start(self, p):
        out = open(self.paths[p], "a")
        # Our JSON escapes every control character: a tab never occurs in a value.
        self.procs[p] = self.ctx.popen(
            [KCAT, "-C", "-b", self.cluster.bootstrap, "-t", TOPIC, "-p", str(p), "-o",
             str(self.next[p]), "-q", "-u", "-f", "%p\t%o\t%k\t%T\t%s\n", "-X", "log_level=0"],
            stdout=out, stderr=subprocess.DEVNULL)
        out.close()

    def _last_offset(self, p):
        try:
            with open(self.paths[p], "rb") as f:
                f.seek(max(0, os.path.getsize(self.paths[p]) - (1 << 20)))
                lines = f.read().split(b"\n")
        except FileNotFoundError:
            return -1
        for line in reversed(lines[:-1]):
            parts = line.split(b"\t", 2)
            if len(parts) == 3:
                return int(parts[1])
        return -1

    def _watch(self):
        while not self.stopping:
            time.sleep(1)
            for p, proc in enumerate(self.procs):
                if proc.poll() is not None and not self.stopping:
                    self.next[p] = self._last_offset(p) + 1
                    self.restarts += 1
                    self._start(p)

    def count(self):
        return sum(to.count_lines(path) for path in self.paths)

    def wait(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.count() < n:
            time.sleep(0.1)
        time.sleep(0.5)  # anything beyond n (duplicates) comes too

    def records(self):
        self.stopping = True
        self.thread.join()
        for proc in self.procs:
            proc.terminate()  # kcat ends its last line on SIGTERM
            proc.wait(timeout=10)
        out = []
        for path in self.paths:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    part, off, key, ts, value = line.rstrip("\n").split("\t", 4)
                    out.append((int(part), int(off), key, int(ts), value))
        if self.restarts:
            log("     (kcat was started again %d times: it ends when every broker is down)"
                % self.restarts)
        return out


def fleet_log(ctx, src):
    """SRC as NODES hosts' logs interleaved: the record of serial S becomes node
    hostN's serial S // NODES (N = S % NODES), so that each host's serials run on
    without gaps as they would on that host."""
    dst = ctx.path("fleet.log")
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        for line in fi:
            m = SERIAL_RE.search(line)
            if not m:
                fo.write(b"node=host0 " + line)
                continue
            s = int(m.group(1))
            fo.write(b"node=host%d %s%d%s" % (s % NODES, line[:m.start(1)], s // NODES,
                                              line[m.end(1):]))
    return dst


def reference(ctx, log_path, name="ref"):
    out = ctx.path(name + ".json")
    subprocess.run([to.BIN, "replay", "-q", "-o", "file:" + out, log_path], check=True,
                   timeout=120)
    return to.read_lines(out)


def event_ms(event):
    ts = event.get("timestamp")
    if not ts:
        return None
    return int(to.iso_to_dt(ts).timestamp() * 1000 + 0.5)


def moved(want, got):
    """How many of got's lines are out of want's order: len(got) minus its longest
    run in want's order (a longest increasing subsequence of their positions)."""
    pos = {line: i for i, line in enumerate(want)}
    tails = []
    for line in got:
        p = pos[line]
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if tails[mid] < p:
                lo = mid + 1
            else:
                hi = mid
        tails[lo:lo + 1] = [p]
    return len(got) - len(tails)


def check(ref, recs, key_of, what, moved_ok=0):
    """Every reference line once (duplicates counted), in order per key (at most
    moved_ok lines out of it: those a replaced producer sent again), keys and
    timestamps right, offsets without holes. Returns the number of duplicates."""
    problems = []
    by_part = collections.defaultdict(list)
    for r in recs:
        by_part[r[0]].append(r)
    for part, rs in by_part.items():
        offs = sorted(r[1] for r in rs)
        uniq = sorted(set(offs))
        if uniq[0] != 0 or uniq[-1] != len(uniq) - 1:
            problems.append("partition %d: kcat saw offsets %d..%d with holes (%d distinct): "
                            "the harness missed messages" % (part, uniq[0], uniq[-1], len(uniq)))
    want = collections.Counter(ref)
    got = collections.Counter(r[4] for r in recs)
    missing = sum((want - got).values())
    extra = [v for v in got if v not in want]
    dups = sum(n - 1 for v, n in got.items() if v in want and n > 1)
    if missing:
        problems.append("%d of %d events did not arrive" % (missing, len(ref)))
    if extra:
        problems.append("%d messages are not events of the reference: %r" % (len(extra), extra[0][:200]))
    # Order per key: the first occurrences, in partition order, equal the reference's.
    ref_by_key = collections.defaultdict(list)
    for line in ref:
        ref_by_key[key_of(json.loads(line))].append(line)
    got_by_key, part_of_key = collections.defaultdict(list), collections.defaultdict(set)
    seen = set()
    bad_meta = 0
    for part in sorted(by_part):
        for r in sorted(by_part[part], key=lambda r: r[1]):
            ev = json.loads(r[4])
            k = key_of(ev)
            if r[2] != (k if k is not None else ""):
                bad_meta += 1
            ms = event_ms(ev)
            if ms is not None and r[3] != ms:
                bad_meta += 1
            part_of_key[k].add(part)
            if r[4] not in seen:
                seen.add(r[4])
                got_by_key[k].append(r[4])
    if bad_meta:
        problems.append("%d messages with a key or timestamp that is not their event's" % bad_meta)
    out_of_order = 0
    for k, lines in ref_by_key.items():
        if k is not None and len(part_of_key[k]) > 1:
            problems.append("key %s is in partitions %s" % (k, sorted(part_of_key[k])))
        if k is not None and got_by_key[k] != lines:
            n = moved(lines, [l for l in got_by_key[k] if l in set(lines)])
            out_of_order += n
            first = next((i for i, (a, b) in enumerate(zip(lines, got_by_key[k])) if a != b),
                         min(len(lines), len(got_by_key[k])))
            log("     key %s: %d events out of order, the first at %d of %d" % (
                k, n, first, len(lines)))
    if out_of_order > moved_ok:
        problems.append("%d events out of order per key (at most %d allowed: lines sent again)"
                        % (out_of_order, moved_ok))
    log("     %s: %d events, %d messages in %d partitions (%s), %d duplicates" % (
        what, len(ref), len(recs), len(by_part),
        ", ".join("p%d %d" % (p, len(rs)) for p, rs in sorted(by_part.items())), dups))
    assert not problems, "; ".join(problems)
    return dups


def node_key(ev):
    return ev.get("node", to.HOST)


def stats_line(err):
    m = re.search(r"output kafka\S*: \d+ bytes sent.*", err)
    return m.group(0) if m else "(no statistics line)"


def case_kafka_delivery(ctx):
    cluster = Cluster(ctx)
    fleet = fleet_log(ctx, to.bench_log())
    ref = reference(ctx, fleet)
    consumer = Consumer(ctx, cluster)
    t0 = time.monotonic()
    p = to.replay(ctx, "-o", "kafka://%s/%s?compression=zstd" % (cluster.bootstrap, TOPIC), fleet)
    rc = to.finish(p, 120)
    took = time.monotonic() - t0
    err = to.stderr_of(p)
    assert rc == 0, "replay exited %d: %s" % (rc, err[-2000:])
    consumer.wait(len(ref), 60)
    check(ref, consumer.records(), node_key, "fleet log, full speed")
    log("     replay took %.2f s until every event was acknowledged; %s" % (took, stats_line(err)))
    m = re.search(r"(\d+) lines sent, (\d+) acknowledged, 0 awaiting", err)
    assert m and int(m.group(2)) == len(ref), "the statistics do not say %d acknowledged: %s" % (
        len(ref), stats_line(err))

    # Without node= the key is this host's name; key=none sends no key.
    small = os.path.join(to.CORPORA, "go-libaudit/testdata/normal.log")
    ref_small = reference(ctx, small, "ref-small")
    for opts, key_of in (("", lambda ev: to.HOST), ("?key=none", lambda ev: None)):
        c2 = Cluster(ctx)
        cons = Consumer(ctx, c2, "small" + opts[1:].replace("=", "-"))
        p = to.replay(ctx, "-o", "kafka://%s/%s%s" % (c2.bootstrap, TOPIC, opts), small)
        assert to.finish(p, 60) == 0, to.stderr_of(p)
        cons.wait(len(ref_small), 30)
        check(ref_small, cons.records(), key_of, "normal.log, key %s" % (opts or "host"))


def case_kafka_failures(ctx):
    cluster = Cluster(ctx)
    fleet = fleet_log(ctx, to.bench_log())
    ref = reference(ctx, fleet)
    consumer = Consumer(ctx, cluster)
    spool = ctx.path("spool")
    p = to.replay(ctx, "--spool-dir", spool, "--max-memory", "4M", "-o",
                  "kafka://%s/%s?compression=lz4" % (cluster.bootstrap, TOPIC), "-", stdin="pipe")
    feeder = to.Feeder(p.stdin, fleet, 40)
    t0 = time.monotonic()
    feeder.start()
    events = []
    peak_spool = 0

    def at(t):
        nonlocal peak_spool
        while time.monotonic() - t0 < t:
            peak_spool = max(peak_spool, to.dir_bytes(spool))
            time.sleep(0.1)

    def note(what):
        events.append("%.1f s %s" % (time.monotonic() - t0, what))

    at(4)
    lead = cluster.leader(0)
    cluster.cmd("down %d" % lead)
    note("broker %d (leader of partition 0) down" % lead)
    at(9)
    cluster.cmd("up %d" % lead)
    note("broker %d up" % lead)
    at(12)
    cluster.cmd("errors 20 6")   # NOT_LEADER_FOR_PARTITION
    cluster.cmd("errors 10 7")   # REQUEST_TIMED_OUT
    cluster.cmd("errors 1 45")   # OUT_OF_ORDER_SEQUENCE_NUMBER: fatal for the producer
    note("31 Produce errors injected")
    at(15)
    lead = cluster.leader(1)
    other = lead % cluster.brokers + 1
    cluster.cmd("down %d" % lead)
    cluster.cmd("leader 1 %d" % other)
    note("broker %d (leader of partition 1) down, leadership moved to %d" % (lead, other))
    at(20)
    cluster.cmd("up %d" % lead)
    note("broker %d up" % lead)
    at(24)
    for b in range(1, cluster.brokers + 1):
        cluster.cmd("down %d" % b)
    note("the whole cluster down")
    at(54)
    for b in range(1, cluster.brokers + 1):
        cluster.cmd("up %d" % b)
    note("the whole cluster up")
    while p.poll() is None and time.monotonic() - t0 < 150:
        peak_spool = max(peak_spool, to.dir_bytes(spool))
        time.sleep(0.2)
    rc = to.finish(p, 5)
    err = to.stderr_of(p)
    log("     " + "; ".join(events) + "; replay done at %.1f s (fed in %.0f s)" % (
        time.monotonic() - t0, feeder.seconds))
    assert rc == 0, "replay exited %d: %s" % (rc, err[-2000:])
    outage = [l for l in err.splitlines() if "events wait" in l or "acknowledge again" in l]
    log("     spool peak %d bytes; %s" % (peak_spool, stats_line(err)))
    log("     stderr about the outages: " + " | ".join(outage)[:900])
    again = re.search(r"(\d+) sent again after a failed delivery", err)
    again = int(again.group(1)) if again else 0
    consumer.wait(len(ref), 60)
    # A fatal producer error loses the order of what the old producer had in flight:
    # lines it got acknowledged after the failed ones come before their resend.
    dups = check(ref, consumer.records(), node_key, "fleet log with failures", moved_ok=again)
    log("     %d duplicates; %d lines sent again after a failed delivery (the replaced "
        "producer's unacknowledged lines: each may arrive twice)" % (dups, again))
    assert dups <= again, "%d duplicates but only %d lines were sent again" % (dups, again)
    assert "the producer failed for good and is replaced" in err, (
        "the injected fatal error was not reported")
    assert peak_spool > 0, "the 30 s outage never reached the spool (--max-memory 4M)"
    assert any("no broker is reachable" in l or "connection" in l for l in outage), (
        "the outage was not reported on stderr")
    assert any("acknowledge again" in l for l in outage), "the end of the outage was not said"
    assert len(outage) < 20, "outages reported more than once each: %d lines" % len(outage)


def case_kafka_shutdown(ctx):
    cluster = Cluster(ctx)
    for b in range(1, cluster.brokers + 1):
        cluster.cmd("down %d" % b)
    p = to.replay(ctx, "-o", "kafka://%s/%s" % (cluster.bootstrap, TOPIC), "-", stdin="pipe")
    feeder = to.Feeder(p.stdin, to.bench_log(), 30)
    feeder.start()
    to.wait_for(lambda: "events wait" in to.stderr_of(p), 30, what="the outage report")
    time.sleep(1)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    rc = to.finish(p, 30)
    took = time.monotonic() - t0
    err = to.stderr_of(p)
    log("     stopped %.1f s after SIGINT (exit %d); %s" % (took, rc, " | ".join(
        l for l in err.splitlines() if "acknowledged" in l or "output kafka" in l)[:900]))
    m = re.search(r"(\d+) events were not acknowledged by the brokers before the deadline", err)
    assert m and int(m.group(1)) > 0, "the unacknowledged events were not reported: " + err[-1500:]
    assert took < 12, "the stop took %.1f s (bound: 5 s for the outputs)" % took
    d = re.search(r"output kafka\S*: \d+ bytes sent, (\d+) lines dropped", err)
    assert d and int(d.group(1)) >= int(m.group(1)), (
        "the statistics do not count the unacknowledged events as dropped: " + stats_line(err))


def case_kafka_bad_specs(ctx):
    bad = [
        ("kafka://", "wants kafka://BROKER"),
        ("kafka://127.0.0.1:9092", "wants kafka://BROKER"),
        ("kafka://127.0.0.1:9092/", "bad topic name"),
        ("kafka://127.0.0.1:9092/a b", "bad topic name"),
        ("kafka://127.0.0.1:0/audit", "bad broker list"),
        ("kafka://h1:9092,,h2/audit", "bad broker list"),
        ("kafka://127.0.0.1:9092/audit?compression=brotli", "bad option 'compression=brotli'"),
        ("kafka://127.0.0.1:9092/audit?key=pid", "bad option 'key=pid'"),
        ("kafka://127.0.0.1:9092/audit?rdkafka.no.such.property=1", "librdkafka refuses no.such.property=1"),
        ("kafka://127.0.0.1:9092/audit?rdkafka.acks=1", "acks"),
    ]
    for spec, want in bad:
        r = subprocess.run([to.BIN, "replay", "-o", spec, "/dev/null"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 2 and want in r.stderr, "%s: exit %d, stderr %r (want %r)" % (
            spec, r.returncode, r.stderr, want)
        log("     %s -> %s" % (spec, r.stderr.strip().splitlines()[0][:160]))


CASES = [case_kafka_delivery, case_kafka_failures, case_kafka_shutdown, case_kafka_bad_specs]

if __name__ == "__main__":
    sys.exit(to.run_cases(CASES, needs_rsyslog=set(), needs_root=set(), doc=__doc__))
