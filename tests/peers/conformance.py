#!/usr/bin/env python3
"""Grouping conformance of `auditrelay replay` against libauparse.

Usage: conformance.py AUDITRELAY AUPARSE_GROUPS CORPORA_DIR [CACHE_DIR]

For every audit log under CORPORA_DIR (recursively: *.log and *.txt, minus the
files that are not audit logs) and for the 53 MB bench log, the test compares how
records are grouped into events by `auditrelay replay -n` (read from its JSON) and
by libauparse (tests/peers/auparse_groups --groups --names). An event is its key
(node or "-", "<sec>.<msec>:<serial>") plus the ordered list of its record type
names; both sides are compared as multisets, because libauparse hands events out
in the order of its internal slots, not in log order.

The bench log is decompressed once into CACHE_DIR (meson passes <build>/bench-cache;
default ./bench-cache), from $AR_BENCH_LOG_XZ or
/work/shared/bench/audit-gen-53mb.log.xz, and decompressed again only when the archive
changes; that part is skipped with a message when the archive is absent.

Besides the grouping, every file is checked for record conservation: the records
our summary says it read equal the records in the JSON plus the stray EOE records
it says it dropped (and the records a cap dropped, which must be 0 here).

Exit status: 0 all equal, 1 a difference (the first differing events are printed),
77 when auparse_groups is not built (skip).
"""

import calendar
import collections
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Files under the corpora that are not audit logs at all.
NOT_LOGS = re.compile(r"^(README|PROVENANCE)", re.I)
DEFAULT_BENCH_XZ = "/work/shared/bench/audit-gen-53mb.log.xz"
SHOW = 8  # differing events printed per file

SUMMARY_RE = re.compile(
    r"auditrelay: (\d+) events, (\d+) records from (\d+) lines .*?; (\d+) malformed lines")
STRAY_RE = re.compile(r"(\d+) stray EOE")
CAPS_RE = re.compile(r"(\d+) records over the per-event caps")


def iso_to_key(ts):
    """'2017-04-12T22:48:09.295Z' -> '1492037289.295' (as auparse_groups prints it)."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z", ts)
    if not m:
        raise ValueError("bad timestamp %r" % ts)
    y, mo, d, h, mi, s, ms = (int(x) for x in m.groups())
    return "%d.%03d" % (calendar.timegm((y, mo, d, h, mi, s)), ms)


def corpus_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if not (name.endswith(".log") or name.endswith(".txt")):
                continue
            if NOT_LOGS.match(name):
                continue
            out.append(os.path.join(dirpath, name))
    return out


def oracle_input(path, tmpdir):
    """libauparse stops at the first line that is not an audit record when it comes
    before any record ("event has no timestamp"): laurel's test files carry '#'
    comments and blank lines, which laurel's own test reader skips. Hand auparse a
    copy without them; auditrelay reads the original (it counts the comments as
    malformed lines and skips them, which golden/corpora reports separately)."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    kept = [l for l in lines if l.strip() and not l.startswith(b"#")]
    if len(kept) == len([l for l in lines if l]):
        return path
    out = os.path.join(tmpdir, os.path.basename(path))
    with open(out, "wb") as f:
        f.write(b"\n".join(kept) + b"\n")
    return out


def run_oracle(auparse_groups, path):
    p = subprocess.run([auparse_groups, "--groups", "--names", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("auparse_groups failed on %s (rc %d): %s" %
                           (path, p.returncode, p.stderr.decode(errors="replace").strip()))
    events = []
    for line in p.stdout.decode("utf-8", errors="replace").splitlines():
        parts = line.split(" ")
        if len(parts) != 4:
            raise RuntimeError("auparse_groups: unexpected line %r" % line)
        node, key, n, types = parts
        types = tuple(types.split(",")) if types else ()
        if int(n) != len(types):
            raise RuntimeError("auparse_groups: count mismatch in %r" % line)
        events.append((node, key, types))
    return events


def run_ours(auditrelay, path):
    """Returns (events, facts); facts are the summary counters from stderr."""
    p = subprocess.run([auditrelay, "replay", "-n", "--no-progress", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = p.stderr.decode("utf-8", errors="replace")
    events = []
    untimed = []
    nrec = 0
    for line in p.stdout.split(b"\n"):
        if not line:
            continue
        ev = json.loads(line.decode("utf-8"))
        if ev.get("type") == "AUDITRELAY_LOST":
            continue  # a loss report, not an event of the log
        recs = ev["records"]
        nrec += len(recs)
        ts = ev.get("timestamp")
        if ts is None:
            # A record without a stamp ("type=UNKNOWN[1329] msg=?" in audit-rhel7.log)
            # is a one-record event with "timestamp": null in our schema (see
            # auditrelay-json(7)); libauparse cannot parse its header and skips the
            # line, so there is no libauparse event to compare it with. Such events
            # are counted and listed, not compared; any other record of the file is.
            if len(recs) != 1:
                raise RuntimeError("event without timestamp has %d records" % len(recs))
            untimed.append(recs[0]["type"])
            continue
        key = "%s:%d" % (iso_to_key(ts), ev["serial"])
        events.append((ev.get("node", "-"), key, tuple(r["type"] for r in recs)))
    m = SUMMARY_RE.search(err)
    if not m:
        raise RuntimeError("auditrelay %s: no summary on stderr (rc %d): %s" %
                           (path, p.returncode, err.strip()))
    facts = {
        "events": int(m.group(1)), "records": int(m.group(2)), "malformed": int(m.group(4)),
        "stray_eoe": int(STRAY_RE.search(err).group(1)) if STRAY_RE.search(err) else 0,
        "capped": int(CAPS_RE.search(err).group(1)) if CAPS_RE.search(err) else 0,
        "json_records": nrec, "rc": p.returncode, "untimed": untimed,
    }
    return events, facts


def normalize(ours, theirs):
    """The two intended differences, and nothing more.

    1. LOGIN. libauparse 3.0.9 ends an event at any type below 1300, LOGIN (1006)
    included, so the LOGIN the kernel writes inside a syscall (setting loginuid) and
    that syscall's SYSCALL/PROCTITLE become two events. Upstream audit-userspace has
    since fixed it (audit_is_last_record: type > AUDIT_LOGIN && type < 1300), laurel
    and auparse_test.ref keep them together, and so do we. Normalization: our event
    that starts with LOGIN followed by more records is cut after the LOGIN.

    2. EOE.

    When a stream carries EOE records, libauparse still completes a kernel event as
    soon as a PROCTITLE record is added to it (au_check_events: PROCTITLE is "known
    to be the last record"), so the EOE that follows finds its event gone: depending
    on the libauparse version it becomes a separate one-record EOE event or is
    discarded (3.0.9, as on Debian 12, discards it). auditrelay, once it has seen an
    EOE in the stream, waits for the EOE and folds it into its event; the first EOE
    of a stream arrives after auditrelay already completed its event at PROCTITLE,
    and is dropped as a stray EOE and counted (compare() checks that count).

    Normalization, applied only to our events that end with EOE (the ones we
    completed on their EOE, i.e. where we waited for it and libauparse did not):
    the event is cut after each PROCTITLE, as libauparse cuts it; a remaining
    one-record EOE piece is dropped, and so is a one-record EOE event of libauparse
    whose key has an event ending with PROCTITLE. Usually PROCTITLE is the last
    record before EOE and the cut only removes the EOE; when PROCTITLE arrives
    before other records of its event (laurel's record-syscall-nullkey.txt:
    PROCTITLE, PATH, SYSCALL, EOE), libauparse splits the event in two at the
    PROCTITLE, which the same cut reproduces. Nothing else is rewritten: an event
    that did not end with EOE, or a SYSCALL,EOE event without PROCTITLE, must match
    as it is."""
    ours_n = []
    proctitle_keys = set()
    split = []
    for node, key, types in ours:
        if len(types) > 1 and types[0] == "LOGIN":
            split.append((node, key, ("LOGIN",)))
            types = types[1:]
        split.append((node, key, types))
    for node, key, types in split:
        pieces = [types]
        if types and types[-1] == "EOE":
            pieces, cur = [], []
            for t in types:
                cur.append(t)
                if t == "PROCTITLE":
                    pieces.append(tuple(cur))
                    cur = []
            if cur:
                pieces.append(tuple(cur))
        for piece in pieces:
            if piece[-1] == "PROCTITLE":
                proctitle_keys.add((node, key))
            if piece == ("EOE",) and len(pieces) > 1:
                continue
            ours_n.append((node, key, piece))
    for node, key, types in theirs:
        if types and types[-1] == "PROCTITLE":
            proctitle_keys.add((node, key))
    theirs_n = [(node, key, types) for node, key, types in theirs
                if not (types == ("EOE",) and (node, key) in proctitle_keys)]
    return ours_n, theirs_n


def fmt(ev):
    node, key, types = ev
    return "%s %s %d %s" % (node, key, len(types), ",".join(types))


def compare(name, ours, theirs, facts):
    """Returns a list of problem lines (empty when the file conforms)."""
    problems = []
    expect = facts["json_records"] + facts["stray_eoe"] + facts["capped"]
    if facts["records"] != expect:
        problems.append("records not conserved: summary says %d read, JSON has %d + %d stray EOE"
                        " + %d capped" % (facts["records"], facts["json_records"],
                                          facts["stray_eoe"], facts["capped"]))
    if facts["capped"]:
        problems.append("%d records over the per-event caps" % facts["capped"])
    o, t = normalize(ours, theirs)
    co, ct = collections.Counter(o), collections.Counter(t)
    if co != ct:
        only_o = sorted((co - ct).elements(), key=lambda e: (e[1], e[0]))
        only_t = sorted((ct - co).elements(), key=lambda e: (e[1], e[0]))
        problems.append("grouping differs: %d events only in auditrelay, %d only in libauparse"
                        % (len(only_o), len(only_t)))
        for e in only_o[:SHOW]:
            problems.append("  auditrelay only: " + fmt(e))
        for e in only_t[:SHOW]:
            problems.append("  libauparse only: " + fmt(e))
    return problems


def bench_log(cache_dir):
    xz = os.environ.get("AR_BENCH_LOG_XZ", DEFAULT_BENCH_XZ)
    if not os.path.exists(xz):
        print("SKIP bench log: %s is absent (set AR_BENCH_LOG_XZ to its path)" % xz)
        return None
    os.makedirs(cache_dir, exist_ok=True)
    out = os.path.join(cache_dir, os.path.basename(xz)[:-3] if xz.endswith(".xz")
                       else os.path.basename(xz) + ".log")
    st = os.stat(xz)
    stamp = out + ".stamp"
    want = "%s %d %d\n" % (xz, st.st_size, int(st.st_mtime))
    if os.path.exists(out) and os.path.exists(stamp) and open(stamp).read() == want:
        return out
    tmp = out + ".tmp"
    with lzma.open(xz, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp, out)
    with open(stamp, "w") as f:
        f.write(want)
    return out


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    auditrelay, auparse_groups, corpora = argv[1], argv[2], argv[3]
    cache_dir = argv[4] if len(argv) > 4 else os.path.join(os.getcwd(), "bench-cache")
    if not os.access(auparse_groups, os.X_OK):
        print("SKIP: %s is not built (libauparse-dev missing?)" % auparse_groups)
        return 77
    files = corpus_files(corpora)
    bench = bench_log(cache_dir)
    if bench:
        files.append(bench)
    failed = 0
    total_ev = 0
    total_rec = 0
    with tempfile.TemporaryDirectory() as tmpdir:
        for path in files:
            name = os.path.relpath(path, corpora) if path.startswith(corpora) else path
            try:
                oracle_path = oracle_input(path, tmpdir)
                theirs = run_oracle(auparse_groups, oracle_path)
                ours, facts = run_ours(auditrelay, path)
            except (RuntimeError, ValueError, json.JSONDecodeError) as e:
                print("FAIL %s: %s" % (name, e))
                failed += 1
                continue
            problems = compare(name, ours, theirs, facts)
            total_ev += len(ours)
            total_rec += facts["records"]
            if problems:
                failed += 1
                print("FAIL %s (%d events here, %d in libauparse)" % (name, len(ours), len(theirs)))
                for p in problems:
                    print("  " + p)
            else:
                note = ""
                if oracle_path != path:
                    note += " (libauparse read it without its '#' comment lines)"
                if facts["untimed"]:
                    note += " (not compared: %d records without timestamp, %s)" % (
                        len(facts["untimed"]), ",".join(facts["untimed"]))
                print("ok   %s: %d events, %d records%s" % (name, len(ours), facts["records"],
                                                           note))
    print("%d files, %d events (%d records) compared, %d files differ"
          % (len(files), total_ev, total_rec, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
