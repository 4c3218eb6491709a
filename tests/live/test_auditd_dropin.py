#!/usr/bin/env python3
"""auditrelay as a drop-in for auditd (issue 16), against the real auditd (Debian).

auditd runs with a private configuration (its own log, an empty or private plugin
directory) and owns the audit slot; auditrelay reads the multicast group beside it
with --format raw or enriched into a file. A workload of execs, file changes, a
login by su and network calls runs between two marker events; the records between
the markers must be the same in both logs (auditd's own DAEMON_* records aside),
and aureport/ausearch must give the same answers on both.

The audit state (pid, settings, rules) is put back even on failure or SIGTERM
(test_live.Machine under the live tests' lock); no process is left behind.

Usage: test_auditd_dropin.py AUDITRELAY [CASE...]   exit 77 without root or auditd.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_live  # noqa: E402  (its runner, start, status)
from test_live import Skip, start, status  # noqa: E402

STAMP = re.compile(r"msg=audit\((\d+)\.(\d+):(\d+)\)")


def start_auditd(m, tmp, log_format, plugins=None):
    """auditd -n with a private auditd.conf; returns (process, log path)."""
    conf_dir = os.path.join(tmp, "auditd")
    plugin_dir = os.path.join(conf_dir, "plugins.d")
    os.makedirs(plugin_dir)
    for name, text in (plugins or {}).items():
        with open(os.path.join(plugin_dir, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(plugin_dir, name), 0o640)
    log = os.path.join(tmp, "auditd.log")
    conf = os.path.join(conf_dir, "auditd.conf")
    with open(conf, "w") as f:
        f.write(f"""local_events = yes
write_logs = yes
log_file = {log}
log_group = root
log_format = {log_format}
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 100
num_logs = 2
max_log_file_action = IGNORE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
name_format = NONE
q_depth = 4000
overflow_action = SYSLOG
max_restarts = 10
plugin_dir = {plugin_dir}
end_of_event_timeout = 2
""")
    os.chmod(conf, 0o640)
    p = subprocess.Popen(["auditd", "-n", "-c", conf_dir], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    m.procs.append(p)
    for _ in range(100):
        if status()["pid"] == str(p.pid):
            return p, log
        if p.poll() is not None:
            raise AssertionError("auditd exited: " + p.stderr.read())
        time.sleep(0.05)
    raise AssertionError("auditd did not take the slot: " + str(status()))


def stop_proc(p, timeout=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=timeout)


MARK_WHICH = 0x4242  # getpriority's `which`: no such one (EINVAL), audited all the same


def marker(_path=None):
    """A marker event from a syscall rule (getpriority with a `which` nobody uses):
    file watches would miss it under a filesystem-list rule some other test left."""
    try:
        os.getpriority(MARK_WHICH, 0)
    except OSError:
        pass


def workload(tmp):
    """Execs, file changes, a login by su, network calls."""
    for _ in range(3):
        subprocess.run(["/bin/true"], check=True)
    subprocess.run(["sh", "-c", "echo hi > /dev/null; ls / > /dev/null"], check=True)
    d = os.path.join(tmp, "files")
    os.makedirs(d, exist_ok=True)
    for i in range(5):
        p = os.path.join(d, f"f{i}")
        with open(p, "w") as f:
            f.write("data")
        os.rename(p, p + ".moved")
        os.chmod(p + ".moved", 0o600)
        os.unlink(p + ".moved")
    if shutil.which("su"):
        subprocess.run(["su", "-s", "/bin/sh", "-c", "true", "nobody"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    for _ in range(3):
        c = socket.create_connection(("127.0.0.1", port))
        a, _ = srv.accept()
        a.close()
        c.close()
    srv.close()
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        s6.connect(("::1", 9))
    except OSError:
        pass
    s6.close()


def add_rules(m, tmp):
    m.add_rule("-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-k", "ar-dropin-exec")
    m.add_rule("-a", "always,exit", "-F", "arch=b64", "-S", "connect,bind", "-k",
               "ar-dropin-net")
    # File changes by this process (the workload's), by syscall: a watch would see
    # nothing under a filesystem-list rule some other test left behind.
    m.add_rule("-a", "always,exit", "-F", "arch=b64", "-S", "rename,renameat,renameat2,unlink,"
               "unlinkat,chmod,fchmodat,open,openat,creat", "-F", f"pid={os.getpid()}", "-F",
               "success=1", "-k", "ar-dropin-file")
    m.add_rule("-a", "always,exit", "-F", "arch=b64", "-S", "getpriority", "-F",
               f"a0={MARK_WHICH:#x}", "-k", "ar-dropin-mark")
    return None


def read_lines(path):
    with open(path, "rb") as f:
        # Not splitlines(): it splits at 0x1d, ENRICHED's separator, too.
        return f.read().decode("utf-8", "surrogateescape").rstrip("\n").split("\n")


def window(lines, key='ar-dropin-mark'):
    """The records from the first marker event to the second, in file order, without
    DAEMON_* records (auditd's own)."""
    serials = sorted({int(STAMP.search(l).group(3)) for l in lines
                      if f'key="{key}"' in l and STAMP.search(l)})
    assert len(serials) >= 2, f"markers missing: {serials}"
    lo, hi = serials[0], serials[-1]
    out = []
    for l in lines:
        s = STAMP.search(l)
        if not s or "type=DAEMON_" in l:
            continue
        if lo <= int(s.group(3)) <= hi:
            out.append(l)
    return out


def tool(args, path):
    r = subprocess.run(args + ["-if", path], capture_output=True, text=True)
    # aureport names the file it read; the rest must be equal.
    return r.returncode, r.stdout.replace(path, "FILE")


def run_compare(m, tmp, fmt):
    if not shutil.which("auditd"):
        raise Skip("auditd (Debian package) not installed")
    ours = os.path.join(tmp, "ours.log")
    p = start(m, "--source", "multicast", "--no-rules", "--format", fmt.lower(),
              "-o", f"file:{ours}", wait_for="multicast")
    auditd, theirs = start_auditd(m, tmp, fmt)
    mark = add_rules(m, tmp)
    time.sleep(0.2)
    marker(mark)
    workload(tmp)
    marker(mark)
    time.sleep(1.5)  # past the collector's 1 s expiry
    stop_proc(auditd)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=10)
    p.err.seek(0)
    err = p.err.read()
    assert rc == 0, err
    a = window(read_lines(theirs))
    b = window(read_lines(ours))
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    assert len(a) > 50, f"workload too small: {len(a)} records"
    assert not only_a and not only_b and sorted(a) == sorted(b), (
        f"{len(a)} vs {len(b)} records; only auditd's: {only_a[:3]}; only ours: {only_b[:3]}")
    if fmt == "ENRICHED":
        assert any("\x1d" in l for l in b), f"no ENRICHED names: {b[:2]}"
    # The tools on the same window of both logs.
    fa, fb = os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")
    for path, lines in ((fa, a), (fb, b)):
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n".join(lines) + "\n")
    checks = [["aureport", "--summary"], ["aureport", "-x"]]
    checks += [["ausearch", "-k", k] for k in ("ar-dropin-exec", "ar-dropin-net",
                                               "ar-dropin-file")]
    for args in checks:
        ra, rb = tool(args, fa), tool(args, fb)
        assert ra == rb, f"{' '.join(args)} differs:\n{ra[1][:800]}\n---\n{rb[1][:800]}"
        assert ra[0] == 0 and ra[1].strip(), f"{' '.join(args)}: nothing ({ra})"
    types = {re.search(r"type=(\S+)", l).group(1) for l in b}
    print(f"  {fmt}: {len(a)} records the same in both logs "
          f"({len(set(STAMP.search(l).group(3) for l in b))} events; types "
          f"{','.join(sorted(types))}); aureport --summary, -x and ausearch -k x3 equal")


def case_raw_beside_auditd(m, tmp):
    run_compare(m, tmp, "RAW")


def case_enriched_beside_auditd(m, tmp):
    run_compare(m, tmp, "ENRICHED")


LAUREL = "/usr/sbin/laurel"


def laurel_config(tmp, name):
    """A laurel configuration writing to its own directory, without the enrichments
    that depend on what the instance saw before (process tree, environment)."""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    conf = os.path.join(tmp, name + ".toml")
    with open(conf, "w") as f:
        f.write(f"""directory = "{d}"
user = "root"
statusreport-period = 0
[auditlog]
file = "audit.log"
size = 100000000
generations = 3
[transform]
execve-argv = [ "array" ]
[translate]
universal = false
user-db = false
[enrich]
pid = false
execve-env = []
container = false
script = false
""")
    return conf, d


def laurel_events(d):
    import json
    events = []
    for name in sorted(os.listdir(d)):
        if name.startswith("audit.log"):
            with open(os.path.join(d, name)) as f:
                events += [json.loads(l) for l in f if l.strip()]
    return events


def laurel_window(events, key="ar-dropin-mark"):
    def serial(e):
        return int(e["ID"].split(":")[1])
    marks = sorted(serial(e) for e in events if e.get("SYSCALL", {}).get("key") == key)
    assert len(marks) >= 2, f"laurel markers missing: {marks}"
    return [e for e in events if marks[0] <= serial(e) <= marks[-1]]


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def run_laurel(m, tmp, fmt, kill):
    """laurel as our exec: output and as auditd's plugin (auditd's log_format FMT):
    the same events; with KILL, ours is killed mid-run, restarted, and no serial is
    missing."""
    if not os.access(LAUREL, os.X_OK):
        raise Skip("laurel (Debian package) not installed")
    conf_a, dir_a = laurel_config(tmp, "laurel-auditd")
    conf_b, dir_b = laurel_config(tmp, "laurel-ours")
    plugin = f"""active = yes
direction = out
path = {LAUREL}
type = always
args = --config {conf_a}
format = string
"""
    p = start(m, "--source", "multicast", "--no-rules", "--format", fmt.lower(),
              "-o", f"exec:{LAUREL} --config {conf_b}", wait_for="multicast")
    auditd, _ = start_auditd(m, tmp, fmt, plugins={"laurel.conf": plugin})
    mark = add_rules(m, tmp)
    time.sleep(0.3)
    marker(mark)
    workload(tmp)
    time.sleep(0.3)
    # Kill our laurel in the middle of the run: the output restarts it. The output
    # starts laurel with its first batch, which a loaded (ASan) run may take seconds to
    # hand over.
    deadline = time.monotonic() + 10
    while not (ours_laurel := children(p.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ours_laurel, "no laurel child of auditrelay"
    for c in ours_laurel if kill else []:
        os.kill(c, signal.SIGKILL)
    workload(tmp)
    time.sleep(0.5)
    workload(tmp)
    marker(mark)
    time.sleep(1.5)
    deadline = time.monotonic() + 10
    while (not (restarted := children(p.pid)) or (kill and restarted == ours_laurel)) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    stop_proc(auditd)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=15)
    p.err.seek(0)
    err = p.err.read()
    assert rc == 0, err
    assert restarted and (restarted != ours_laurel) == kill, f"laurel restarts: {err}"
    a = laurel_window(laurel_events(dir_a))
    b = laurel_window(laurel_events(dir_b))
    ids_a = {e["ID"] for e in a}
    ids_b = {e["ID"] for e in b}
    missing = sorted(ids_a - ids_b)
    extra = sorted(ids_b - ids_a)
    assert not missing and not extra, f"missing {missing[:5]} extra {extra[:5]}"
    import json
    by_id_a = {e["ID"]: json.dumps(e, sort_keys=True) for e in a}
    differ = [e["ID"] for e in b if json.dumps(e, sort_keys=True) != by_id_a[e["ID"]]]
    if differ:
        ours = next(json.dumps(e, sort_keys=True) for e in b if e["ID"] == differ[0])
        raise AssertionError(f"{len(differ)} events differ, e.g. {differ[0]}:\n"
                             f"auditd's laurel: {by_id_a[differ[0]][:1500]}\n"
                             f"ours:            {ours[:1500]}")
    dups = len(b) - len(ids_b)
    print(f"  laurel ({fmt}): {len(ids_a)} events, the same under auditd and under "
          f"auditrelay" + (f"; killed once, restarted, 0 missing, {dups} sent twice" if kill
                          else f"; {dups} twice"))


def case_laurel_exec(m, tmp):
    run_laurel(m, tmp, "RAW", kill=True)


def case_laurel_exec_enriched(m, tmp):
    run_laurel(m, tmp, "ENRICHED", kill=False)


def case_tracepoint_formats(m, tmp):
    """The tracepoint source's rendered records in auditd's formats: ausearch reads
    them (the audit subsystem is not used)."""
    watched = os.path.join(tmp, "tp-watched")
    open(watched, "w").close()
    rules = os.path.join(tmp, "tp.rules")
    with open(rules, "w") as f:
        f.write(f"-w {watched} -p r -k ar-dropin-tp\n")
    line_re = re.compile(r"^(node=\S+ )?type=[A-Z_]+ msg=audit\(\d+\.\d{3}:\d+\): ")
    found = []
    for fmt in ("raw", "enriched"):
        out = os.path.join(tmp, f"tp-{fmt}.log")
        p = start(m, "--source", "tracepoint", "--rules", rules, "--format", fmt,
                  "-o", f"file:{out}")
        if p.poll() is not None:
            p.err.seek(0)
            raise Skip("tracepoint source unavailable: " + p.err.read()[-300:])
        for _ in range(3):
            with open(watched) as f:
                f.read()
        time.sleep(0.5)
        stop_proc(p)
        assert p.returncode == 0
        lines = read_lines(out)
        bad = [l for l in lines if not line_re.match(l)]
        assert not bad, f"{fmt}: not auditd's form: {bad[:2]}"
        hits = [l for l in lines if 'key="ar-dropin-tp"' in l and "type=SYSCALL" in l]
        assert len(hits) >= 3, f"{fmt}: {len(hits)} SYSCALL records with the key: {lines[:4]}"
        if fmt == "enriched":
            assert all("\x1dARCH=x86_64 SYSCALL=openat" in l for l in hits), hits[0]
        r = subprocess.run(["ausearch", "-k", "ar-dropin-tp", "-if", out], capture_output=True,
                           text=True)
        events = r.stdout.count("----")
        assert r.returncode == 0 and events >= 3, f"ausearch: {events} events: {r.stderr}"
        found.append(f"{fmt} {len(lines)} records, ausearch {events} events")
    print("  tracepoint: " + "; ".join(found))


CASES = [case_raw_beside_auditd, case_enriched_beside_auditd, case_laurel_exec,
         case_laurel_exec_enriched, case_tracepoint_formats]


if __name__ == "__main__":
    # test_live's runner: root, audit available, the lock, a Machine per case.
    sys.exit(test_live.main(CASES))
