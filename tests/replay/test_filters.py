#!/usr/bin/env python3
"""Filters over real logs (issue 12: "a test per filter kind shows what it keeps and
drops and that the counters match"). The corpora's logs (laurel, Auditbeat,
audit-userspace, go-libaudit, linux-audit-parser-rs: 338 events of many kinds) are
replayed once without filters; for each case an oracle written here in Python reads
the JSON events (the encoder's reading of the fields, a separate code path from the
filters') and decides, first match wins, what the case's filters keep. The replay
with `--filter` must write exactly those events, in order, and its statistics at
exit must count them: per filter, unmatched, dropped. Every case must keep some
events and drop some. Loss reports (AUDITRELAY_LOST) are never filtered.

Then: bad filters are refused with file:line (`auditrelay config check`, `run
--config`) or the option, and say why; and a replay reading a pipe with --metrics
shows the counters on its metrics page and through `auditrelay status --metrics`
(the page's samples), equal to those at its exit.

Usage: test_filters.py AUDITRELAY FIXTURES_DIR"""
import glob
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import check, failures  # noqa: E402

BIN, FIX = sys.argv[1], sys.argv[2]
C = os.path.join(FIX, "corpora")
FILES = sorted(glob.glob(C + "/laurel/src/testdata/*.txt")) + \
    sorted(glob.glob(C + "/auditbeat/auditbeat/module/auditd/testdata/*.log")) + \
    sorted(glob.glob(C + "/audit-userspace/auparse/test/test*.log")) + \
    sorted(glob.glob(C + "/go-libaudit/auparse/testdata/*.log")) + \
    sorted(glob.glob(C + "/linux-audit-parser-rs/src/testdata/*.txt"))


# A label rule for laurel's traces: the test-script key's process and its children.
LABEL_RULE = "ts:key:test-script"


def replay(filters):
    args = [BIN, "replay", "-n", "--no-progress", "--process-label", LABEL_RULE]
    for f in filters:
        args += ["--filter", f]
    r = subprocess.run(args + FILES, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (filters, r.returncode, r.stderr[-2000:])
    return [json.loads(line) for line in r.stdout.splitlines()], r.stderr


# ---- what the oracle reads from an event's JSON

# Names whose value the kernel may hex-encode: the JSON's "interp" has them decoded.
HEXABLE = {"exe", "comm", "cwd", "name", "key", "acct", "proctitle", "path"}


def fields(ev, rectype=None):
    """(name, value) of every field of the event's records (of one type), the fields
    of a user-space message's msg='...' included; a second field of the same name in
    a record ("auid#2" in the JSON) too."""
    out = []

    def walk(d, interp, prefix):
        for k, v in d.items():
            name = k.split("#")[0]
            if isinstance(v, dict):
                walk(v, interp, prefix + k + ".")
            else:
                if name in HEXABLE and isinstance(interp.get(prefix + k), str):
                    v = interp[prefix + k]
                out.append((name, v))
    for r in ev["records"]:
        if rectype is None or r["type"] == rectype:
            walk(r.get("fields", {}), r.get("interp", {}), "")
    return out


def values(ev, name, rectype=None):
    return [v for k, v in fields(ev, rectype) if k == name]


def paths(ev):
    cwd = next(iter(values(ev, "cwd", "CWD")), None)
    out = []
    for name in values(ev, "name", "PATH"):
        if not isinstance(name, str):
            continue
        if not name.startswith("/") and cwd:
            name = cwd + "/" + name
        out.append(os.path.normpath(name) if name else name)
    return out


def sockaddrs(ev):
    return [r["interp"]["saddr"] for r in ev["records"]
            if r["type"] == "SOCKADDR" and "saddr" in r.get("interp", {})]


def in_net(sa, nets):
    if "addr" not in sa:
        return False
    a = ipaddress.ip_address(sa["addr"])
    if a.version == 6 and a.ipv4_mapped:
        a = a.ipv4_mapped
    return any(a.version == n.version and a in n for n in nets)


def keys(ev):
    out = []
    for v in values(ev, "key"):
        out += ["(null)"] if v is None else str(v).split("\x01")
    return out


NETS = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128")]

# Each case: name, [(filter, action, predicate)]. The predicates say in Python what
# the filter says.
CASES = [
    ("type", [("drop type=USER_ACCT,USER_START,USER_END,CRED_ACQ,CRED_DISP", "drop",
               lambda e: e["type"] in ("USER_ACCT", "USER_START", "USER_END", "CRED_ACQ",
                                       "CRED_DISP"))]),
    ("type, keep only", [("keep type=SYSCALL", "keep", lambda e: e["type"] == "SYSCALL")]),
    ("type by regex", [("drop type~^USER_", "drop", lambda e: e["type"].startswith("USER_"))]),
    ("record", [("drop record=EXECVE", "drop",
                 lambda e: any(r["type"] == "EXECVE" for r in e["records"]))]),
    ("syscall", [("drop syscall=clone,execve", "drop",
                  lambda e: e.get("syscall") in ("clone", "execve"))]),
    ("syscall by regex", [("drop syscall~^rt_sig", "drop",
                           lambda e: (e.get("syscall") or "").startswith("rt_sig"))]),
    ("key", [("drop key=fork,filter-this", "drop",
              lambda e: bool({"fork", "filter-this"} & set(keys(e))))]),
    ("key (null)", [("drop key=(null)", "drop", lambda e: "(null)" in keys(e))]),
    ("uid by name", [("drop uid=root", "drop", lambda e: 0 in values(e, "uid"))]),
    ("auid unset", [("drop auid=unset", "drop", lambda e: 4294967295 in values(e, "auid"))]),
    ("auid, negated", [("drop auid!=unset,0", "drop",
                        lambda e: not ({4294967295, 0} & set(values(e, "auid"))))]),
    ("exe", [("drop exe=/bin/tcsh,/usr/sbin/sshd", "drop",
              lambda e: bool({"/bin/tcsh", "/usr/sbin/sshd"} & set(values(e, "exe"))))]),
    ("exe by regex", [("drop exe~^/usr/s?bin/", "drop",
                       lambda e: any(re.search("^/usr/s?bin/", str(v))
                                     for v in values(e, "exe")))]),
    ("path", [("drop path=/lib64/ld-linux-x86-64.so.2", "drop",
               lambda e: "/lib64/ld-linux-x86-64.so.2" in paths(e))]),
    ("path by regex", [("drop path~/bin/(echo|sed)$", "drop",
                        lambda e: any(re.search("/bin/(echo|sed)$", p) for p in paths(e)))]),
    ("dir", [("drop dir=/usr/bin,/bin", "drop",
              lambda e: any(p.startswith(("/usr/bin/", "/bin/")) for p in paths(e)))]),
    ("sockaddr subnet", [("drop sockaddr=127.0.0.0/8,::1", "drop",
                          lambda e: any(in_net(s, NETS) for s in sockaddrs(e)))]),
    ("sockaddr local path", [("drop sockaddr=/var/run/nscd/socket", "drop",
                              lambda e: any(s.get("path") == "/var/run/nscd/socket"
                                            and not s.get("abstract")
                                            for s in sockaddrs(e)))]),
    ("sockaddr family and port", [
        ("drop sockaddr_family=netlink", "drop",
         lambda e: any(s["family"] == "netlink" for s in sockaddrs(e))),
        ("drop sockaddr_port=22,80", "drop",
         lambda e: any(s.get("port") in (22, 80) for s in sockaddrs(e)))]),
    ("any field", [("drop res=failed", "drop", lambda e: "failed" in values(e, "res"))]),
    ("a field of one record type", [
        ("drop PATH.ouid=1000", "drop", lambda e: 1000 in values(e, "ouid", "PATH"))]),
    ("exit by errno name", [("drop exit=ENOENT,EACCES", "drop",
                             lambda e: bool({-2, -13} & set(values(e, "exit"))))]),
    ("field by regex", [("drop comm~^(ls|cat|bash)$", "drop",
                         lambda e: any(re.search("^(ls|cat|bash)$", str(v))
                                       for v in values(e, "comm")))]),
    ("label (process table)", [("keep label=ts", "keep",
                                 lambda e: "ts" in (e.get("process") or {}).get("labels", []))]),
    ("first match wins", [
        ("keep exe=/usr/sbin/sshd", "keep", lambda e: "/usr/sbin/sshd" in values(e, "exe")),
        ("drop uid=0", "drop", lambda e: 0 in values(e, "uid")),
        ("keep syscall=execve", "keep", lambda e: e.get("syscall") == "execve")]),
]


def expected(events, case):
    """The events the case keeps, and the count each filter decided."""
    counts = [0] * len(case)
    unmatched = 0
    kept = []
    for e in events:
        if e["type"] == "AUDITRELAY_LOST":
            kept.append(e)
            continue
        for i, (_, action, pred) in enumerate(case):
            if pred(e):
                counts[i] += 1
                if action == "keep":
                    kept.append(e)
                break
        else:
            unmatched += 1
            if case[-1][1] == "drop":  # the opposite of the last filter's action
                kept.append(e)
    return kept, counts, unmatched


def ident(e):
    return (e["timestamp"], e["serial"], e["type"], e.get("pid"))


def stats(stderr):
    m = re.search(r"^auditrelay: filters: (\d+) events, (\d+) dropped, (\d+) kept$", stderr, re.M)
    per = [(int(n), act) for n, act in
           re.findall(r"^auditrelay: filter \d+ '.*': (\d+) events? (dropped|kept)$", stderr, re.M)]
    u = re.search(r"^auditrelay: no filter matched: (\d+) events? (kept|dropped)$", stderr, re.M)
    return (tuple(int(x) for x in m.groups()) if m else None, per,
            (int(u.group(1)), u.group(2)) if u else None)


def run(args, **kw):
    return subprocess.run([BIN] + args, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, **kw)


def check_errors():
    """Bad filters: the option or file:line, the filter, and why."""
    bad = [("drop syscall=opne", "syscall: unknown syscall 'opne'"),
           ("drop uid=no-such-user-here", "uid: no user 'no-such-user-here' on this host "
                                          "(give the number, or 'unset')"),
           ("drop exe~(", "bad regular expression '(': "),  # then PCRE2's words
           ("ignore key=x", "a filter starts with drop or keep, not 'ignore'"),
           ("drop sockaddr=10.0.0.0/40", "sockaddr: '10.0.0.0/40': the prefix length must be 0 "
                                         "to 32"),
           ("drop key=\"x", "key: a quote that does not end"),
           ("drop exee=/bin/sh", "exee: unknown field 'exee' (did you mean 'exe'?)")]
    for spec, why in bad:
        r = run(["replay", "--filter", "drop key=ok", "--filter", spec, "/dev/null"])
        want = f"auditrelay replay: --filter '{spec}': {why}"
        check(r.returncode == 2 and r.stderr.startswith(want),
              f"--filter {spec!r}: exit 2 and {want!r}, got {r.returncode}: {r.stderr[:200]!r}")
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(f"[filter]\nfilter = drop key=ok\n\nfilter = {spec}\n")
        try:
            for args, rc in ((["config", "check", f.name], 1), (["run", "--config", f.name], 2)):
                r = run(args)
                want = f"{f.name}:4: filter '{spec}': {why}"
                check(r.returncode == rc and r.stderr.startswith(want),
                      f"{args[0]}: exit {rc} and {want!r}, got {r.returncode}: {r.stderr[:200]!r}")
        finally:
            os.unlink(f.name)
    # A label no label rule gives: the file as a whole is refused.
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[process]\nlabel = pkg:exe:^/usr/bin/apt$\n[filter]\nfilter = drop label=pkgs\n")
    try:
        r = run(["config", "check", f.name])
        want = f"{f.name}: filter 1 'drop label=pkgs': label: no process label rule gives 'pkgs'"
        check(r.returncode == 1 and r.stderr.splitlines()[:1] == [want],
              f"unknown label: {want!r}, got {r.returncode}: {r.stderr[:200]!r}")
    finally:
        os.unlink(f.name)
    r = run(["replay", "--filter", "drop label=pkg", "/dev/null"])
    want = "auditrelay: filters: filter 1 'drop label=pkg': label: no process label rule gives 'pkg'"
    check(r.returncode == 1 and want in r.stderr, f"replay: {want!r}, got {r.returncode}: "
          f"{r.stderr[:200]!r}")
    # A filter after `drop all` is never reached: its line is named.
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[filter]\nfilter = drop all\nfilter = keep key=x\n")
    try:
        r = run(["config", "check", f.name])
        want = (f"{f.name}:3: filter 'keep key=x': never reached: 'drop all' before it matches "
                "every event")
        check(r.returncode == 1 and r.stderr.splitlines()[:1] == [want],
              f"unreachable: {want!r}, got {r.returncode}: {r.stderr[:200]!r}")
    finally:
        os.unlink(f.name)
    print(f"bad filters: {len(bad)} refused by --filter, config check and run --config")


def samples(page):
    """{(name, labels): value} of a metrics page's (or status's) sample lines."""
    out = {}
    for line in page.splitlines():
        m = re.match(r"^(auditrelay_filter_\w+)(\{.*\})? (\d+)$", line)
        if m:
            out[(m.group(1), m.group(2) or "")] = int(m.group(3))
    return out


def check_metrics_and_status():
    """A replay reading a pipe serves its counters while it waits for more."""
    probe = run(["replay", "--metrics", "0", "-q", "/dev/null"])
    if "no metrics listener" in probe.stderr:
        print("metrics: built without libmicrohttpd, not checked")
        return
    data = b"".join(open(p, "rb").read().rstrip(b"\n") + b"\n" for p in FILES)
    # A one-record event far later in log time completes every event in flight.
    data += (b"type=USER_END msg=audit(2000000000.000:1): pid=1 uid=0 auid=0 ses=1 "
             b"msg='op=PAM:session_close acct=\"root\" exe=\"/usr/bin/end\" hostname=? "
             b"addr=? terminal=? res=success'\n")
    specs = ["keep exe=/usr/sbin/sshd", "drop uid=0"]
    err = tempfile.NamedTemporaryFile("w+", suffix=".err")
    p = subprocess.Popen([BIN, "replay", "-n", "--no-progress", "--metrics", "127.0.0.1:0"] +
                         [a for s in specs for a in ("--filter", s)],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
    try:
        addr = None
        for _ in range(100):
            m = re.search(r"metrics on http://([^/\s]+)/metrics", open(err.name).read())
            if m:
                addr = m.group(1)
                break
            time.sleep(0.1)
        if not check(addr, "the replay says where its metrics are"):
            return
        p.stdin.write(data)
        p.stdin.flush()
        # The page is rendered each second: wait for every event (the closing one kept).
        page = {}
        for _ in range(100):
            st = run(["status", "--metrics", addr])
            page = samples(st.stdout)
            n = sum(page.values()) - page.get(("auditrelay_filter_dropped_events_total", ""), 0)
            if n >= 339:
                break
            time.sleep(0.2)
        p.stdin.close()
        p.wait(timeout=30)
        totals, per, none = stats(open(err.name).read())
        want = {("auditrelay_filter_dropped_events_total", ""): totals[1],
                ("auditrelay_filter_unmatched_events_total", ""): none[0],
                ("auditrelay_filter_matched_events_total",
                 '{filter="1",action="keep",spec="keep exe=/usr/sbin/sshd"}'): per[0][0],
                ("auditrelay_filter_matched_events_total",
                 '{filter="2",action="drop",spec="drop uid=0"}'): per[1][0]}
        check(page == want, f"auditrelay status shows {page}, the exit statistics {want}")
        check(totals[0] == 339 and per[1][0] > 0, f"the replay filtered 339 events: {totals}")
        print(f"metrics and status: {page}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def check_field_names(events):
    """Every field name the corpora's records carry is one a filter may name: unknown
    names are refused (a typo would match nothing), so the known set must hold all
    of these. One replay of /dev/null with a filter per name; any refusal other
    than "unknown field" (a value of the wrong kind) is fine."""
    # "words" is the JSON's list of a record's bare words (an AVC's "avc: denied {"),
    # not a field.
    names = sorted({k for e in events for k, _ in fields(e)
                    if re.fullmatch(r"[a-z][a-z0-9_-]*", k) and k != "words"})
    pending = list(names)
    while pending:
        args = [BIN, "replay", "-n", "--no-progress"]
        for n in pending[:250]:  # --filter is taken at most 256 times
            args += ["--filter", f"drop {n}=0"]
        r = subprocess.run(args + ["/dev/null"], capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            del pending[:250]
            continue
        m = re.search(r"--filter 'drop ([^=']+)=0': (.*)", r.stderr)
        if not check(m is not None, f"field names: unexpected refusal {r.stderr[:300]!r}"):
            break
        check("unknown field" not in m.group(2), f"field {m.group(1)!r} of the corpora "
              f"refused: {m.group(2)}")
        pending.remove(m.group(1))
    print(f"field names: the corpora's {len(names)} names all accepted by filters")


def main():
    check_errors()
    check_metrics_and_status()
    base, _ = replay([])
    check_field_names(base)
    real = [e for e in base if e["type"] != "AUDITRELAY_LOST"]
    check(len(real) >= 300, f"{len(real)} events in the corpora")
    for name, case in CASES:
        specs = [f for f, _, _ in case]
        want, counts, unmatched = expected(base, case)
        got, err = replay(specs)
        dropped = len(real) - sum(1 for e in want if e["type"] != "AUDITRELAY_LOST")
        ok = check([ident(e) for e in got] == [ident(e) for e in want],
                   f"{name} {specs}: {len(got)} events written, {len(want)} expected")
        if not ok:
            gi, wi = {ident(e) for e in got}, {ident(e) for e in want}
            for e in base:
                if (ident(e) in gi) != (ident(e) in wi):
                    print("   ", "kept" if ident(e) in gi else "dropped", "wrongly:",
                          json.dumps(e)[:300])
        check(0 < dropped < len(real), f"{name}: keeps some and drops some ({dropped} dropped)")
        totals, per, none = stats(err)
        check(totals == (len(real), dropped, len(real) - dropped),
              f"{name}: statistics say {totals}, expected {(len(real), dropped)}")
        check([n for n, _ in per] == counts,
              f"{name}: per-filter counts {per}, expected {counts}")
        check(none and none[0] == unmatched and none[1] == ("kept" if case[-1][1] == "drop"
                                                            else "dropped"),
              f"{name}: unmatched {none}, expected {unmatched}")
        print(f"{name}: {', '.join(specs)}: {len(real) - dropped} kept, {dropped} dropped "
              f"(per filter {counts}, unmatched {unmatched})")
    print(f"{len(CASES)} cases; {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
