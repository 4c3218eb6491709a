#!/usr/bin/env python3
"""Process context in the live collector (root, the real kernel).

case_container_script: a shell started in a fresh cgroup named as docker names its
containers (system.slice/docker-<64 hex>.scope, in the cgroup v2 hierarchy and in
v1's name=systemd one when there is one), with a login uid (nobody) and a session of
its own, on a pty, and in new pid, mount and net namespaces (unshare), runs a python
script (python3 -W ignore SCRIPT DIR) that creates, modifies, renames, chmods, chowns
and deletes files in a watched directory. Every event names the change, the full
paths, the script, the interpreter, the parent shell, the ancestor chain (unshare,
this test from /proc), the container id, the unit, the session, the tty and the user
names. The cgroups are removed afterwards.

case_container_ecs: the same cgroup under --format ecs: a shell's write in the watched
directory carries container.id and .runtime, systemd.unit, process.start and its
parent (this test: pid, name, start) from the process table.

case_pid_reuse: a script process (labelled by a script rule) writes a file and
exits; a new process (python3 -c) is forced onto the same pid
(/proc/sys/kernel/ns_last_pid) under the same parent and writes one too. Exits are
not audited, so only the start time /proc gives at the second exec tells the two
apart: the second is not given the first's label, script or start. Both live half a
second: a process gone before the collector reads /proc cannot be told apart this
way (the lifecycle feed tells it).

case_fork_storm_bound: stress-ng --fork under the collector with a 256-entry process
table and the fork and exit syscalls audited: the table stays within its bound and
the collector's RSS stays steady (the figures are printed).

Audit rules are the collector's own (a rule file), limited to this test's login uid
(auid=65534), so other work on the machine adds nothing. Runs under test_live's
runner (the live tests' lock; the audit state saved and put back).

Usage: test_procctx_live.py AUDITRELAY [CASE...]   exit 77 when audit is unavailable.
"""
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_live  # noqa: E402  (its runner, start, stop, rules)
from test_live import Skip, rules, settings_restored, start, stop  # noqa: E402

AUID = 65534  # nobody: a login uid nothing else on the machine has
CONTAINER_ID = "a1b2c3d4" * 8
PROC_RULES = ("-a always,exit -F arch=b64 -S execve,execveat,clone,clone3,fork,vfork%s "
              "-F auid=%d -k ar-procctx-proc\n")
SANITIZED = os.environ.get("AR_SANITIZED") == "1"


def cgroup_mounts():
    """The cgroup2 mount point and v1's name=systemd one (either may be None)."""
    v2 = systemd = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fstype, _, opts = right.split()[:3]
            mnt = left.split()[4]
            if fstype == "cgroup2" and v2 is None:
                v2 = mnt
            elif fstype == "cgroup" and "name=systemd" in opts.split(","):
                systemd = mnt
    return v2, systemd


class Cgroups:
    """system.slice/docker-ID.scope made in each hierarchy; removed on exit (with
    system.slice when this made it)."""

    def __init__(self):
        self.made = []
        self.leaves = []

    def __enter__(self):
        v2, systemd = cgroup_mounts()
        if not v2:
            raise Skip("no cgroup2 hierarchy mounted")
        for root in (v2, systemd):
            if not root:
                continue
            path = root
            for part in ("system.slice", "docker-%s.scope" % CONTAINER_ID):
                path = os.path.join(path, part)
                if not os.path.isdir(path):
                    os.mkdir(path)
                    self.made.append(path)
            self.leaves.append(path)
        return self

    def enter(self):
        """Moves the calling process into every leaf (in a child before its exec)."""
        for leaf in self.leaves:
            with open(os.path.join(leaf, "cgroup.procs"), "w") as f:
                f.write("0")

    def __exit__(self, *exc):
        for path in reversed(self.made):
            for _ in range(50):  # the last process leaves its cgroup a moment after exit
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise AssertionError("cgroup %s could not be removed" % path)
        return False


def stops_collectors(case):
    """Stops the case's collectors with SIGTERM (they remove their rules) however it
    ends: the runner's SIGKILL would leave the rules behind."""
    def run(m, tmp):
        try:
            case(m, tmp)
        finally:
            for p in m.procs:
                if p.poll() is None:
                    p.terminate()
                    p.wait(timeout=10)
    run.__name__ = case.__name__
    return run


def login_as_nobody():
    """In a child before its exec: a login uid of its own, which starts a session."""
    with open("/proc/self/loginuid", "w") as f:
        f.write(str(AUID))


def write_rules(tmp, watched=None, exits=False):
    path = os.path.join(tmp, "procctx.rules")
    with open(path, "w") as f:
        f.write(PROC_RULES % (",exit_group" if exits else "", AUID))
        if watched:
            f.write("-a always,exit -F arch=b64 -F dir=%s -F perm=wa -F auid=%d "
                    "-k ar-procctx-fim\n" % (watched, AUID))
    return path


def conf_for(tmp, rules_file):
    conf = os.path.join(tmp, "auditrelay.conf")
    with open(conf, "w") as f:
        f.write("[collector]\nsource = unicast\nrules = %s\n" % rules_file)
    return conf


FIM_SCRIPT = """\
import os, sys
os.chdir(sys.argv[1])
with open("f", "w") as f:
    f.write("a")
with open("f", "a") as f:
    f.write("b")
os.rename("f", "g")
os.chmod("g", 0o600)
os.chown("g", 65534, 65534)
os.unlink("g")
"""


@stops_collectors
def case_container_script(m, tmp):
    if not shutil.which("unshare"):
        raise Skip("unshare (util-linux) missing")
    watched = os.path.join(tmp, "watched")
    os.mkdir(watched)
    script = os.path.join(tmp, "fim.py")
    with open(script, "w") as f:
        f.write(FIM_SCRIPT)
    p = start(m, "--config", conf_for(tmp, write_rules(tmp, watched)), "--process-depth", "4")
    master, slave = os.openpty()
    with Cgroups() as cg:
        def child():
            cg.enter()
            login_as_nobody()
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        shell = subprocess.run(
            ["unshare", "--pid", "--mount", "--net", "--fork", "--mount-proc", "bash", "-c",
             "python3 -W ignore %s %s; echo done" % (script, watched)],
            preexec_fn=child, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=30)
        os.close(slave)
        os.close(master)
        assert shell.returncode == 0 and b"done" in shell.stdout, shell.stdout
        time.sleep(1.5)  # the events are out (idle expiry 1 s)
    rc, events, err = stop(p)
    assert rc == 0, err
    fim = [e for e in events if e.get("key") == "ar-procctx-fim"]
    changes = {}
    for e in fim:
        change = e.get("summary", {}).get("file", {}).get("change")
        if change and e.get("success"):
            changes.setdefault(change, e)
    want = ["created", "modified", "renamed", "permissions-changed", "owner-changed", "deleted"]
    print("     %d events in the watched directory; changes %s" % (len(fim), sorted(changes)))
    missing = [c for c in want if c not in changes]
    assert not missing, (missing, [e.get("summary") for e in fim])
    f, g = os.path.join(watched, "f"), os.path.join(watched, "g")
    pids = set()
    for change in want:
        e = changes[change]
        s, proc = e["summary"], e.get("process", {})
        pids.add(e.get("pid"))
        where = "%s: %s" % (change, {"summary": s, "process": proc})
        path = s["file"].get("path")
        assert path == (g if change in ("renamed", "permissions-changed", "owner-changed",
                                        "deleted") else f), where
        if change == "renamed":
            assert s["file"].get("from") == f and e["paths"] == [f, g], where
        # who: nobody logged in, acting as root, with python3 running the script
        assert s["actor"].get("primary_name") == "nobody", where
        assert s["actor"].get("secondary_name") == "root", where
        assert re.search(r"/python3(\.\d+)?$", e.get("exe", "")), where
        assert proc.get("script") == script, where
        # started by bash, started by unshare, started by this test (older than the
        # collector's rules: from /proc)
        assert proc.get("parent", {}).get("exe", "").endswith("/bash"), where
        anc = proc.get("ancestors", [])
        assert anc and anc[0].get("exe", "").endswith("/unshare"), where
        assert any(a.get("pid") == os.getpid() and a.get("from_proc") for a in anc), where
        assert proc.get("container") == {"runtime": "docker", "id": CONTAINER_ID}, where
        assert proc.get("unit") == "docker-%s.scope" % CONTAINER_ID, where
        assert isinstance(proc.get("session"), int), where
        assert re.match(r"pts\d+$", proc.get("tty", "")), where
    assert s["file"].get("owner") == "nobody", s  # the chown's result, on the last PATH
    assert len(pids) == 1, pids
    e = changes["renamed"]
    print("     renamed: %s -> %s by %s as %s with %s running %s; parent %s; ancestors %s; "
          "container %s; unit %s; session %s; tty %s" % (
              e["summary"]["file"]["from"], e["summary"]["file"]["path"],
              e["summary"]["actor"]["primary_name"], e["summary"]["actor"]["secondary_name"],
              e["exe"], e["process"]["script"], e["process"]["parent"],
              e["process"]["ancestors"], e["process"]["container"], e["process"]["unit"],
              e["process"]["session"], e["process"]["tty"]))
    settings_restored(m.before)
    assert "ar-procctx" not in rules(), rules()


@stops_collectors
def case_container_ecs(m, tmp):
    watched = os.path.join(tmp, "watched")
    os.mkdir(watched)
    p = start(m, "--config", conf_for(tmp, write_rules(tmp, watched)), "--format", "ecs")
    with Cgroups() as cg:
        def child():
            cg.enter()
            login_as_nobody()

        # The shell moves itself into the cgroup between fork and exec, and the table
        # reads /proc/PID/cgroup when the feed's exec arrives: a shell gone by then
        # keeps its parent's cgroup (2 of 6 runs, with this and the previous
        # session's builds, of a shell that only wrote). It lives a moment longer.
        shell = subprocess.run(["bash", "-c", "echo a > %s/e; sleep 0.2; echo done" % watched],
                               preexec_fn=child, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
        assert shell.returncode == 0 and b"done" in shell.stdout, shell.stdout
        time.sleep(1.5)  # the events are out (idle expiry 1 s)
    rc, events, err = stop(p)
    assert rc == 0, err
    target = os.path.join(watched, "e")
    docs = [e for e in events if "ar-procctx-fim" in e.get("tags", [])
            and e.get("file", {}).get("path") == target]
    assert docs, events[-5:]
    d = docs[0]
    where = {k: d.get(k) for k in ("process", "container", "systemd", "event")}
    print("     %d ECS documents; the first: %s" % (len(docs), where))
    assert d.get("container") == {"id": CONTAINER_ID, "runtime": "docker"}, where
    assert d.get("systemd") == {"unit": "docker-%s.scope" % CONTAINER_ID}, where
    proc = d.get("process", {})
    assert re.match(r"\d{4}-\d\d-\d\dT", proc.get("start", "")), where
    parent = proc.get("parent", {})
    assert parent.get("pid") == os.getpid(), where
    # its name from the fork the lifecycle feed saw; its exe only if it was seen exec
    assert parent.get("name", "").startswith("python3"), where
    assert re.search(r"/python3(\.\d+)?$", parent.get("executable", "/python3")), where
    assert re.match(r"\d{4}-\d\d-\d\dT", parent.get("start", "")), where
    settings_restored(m.before)


def spawn_on_pid(target, argv):
    """Starts argv as pid target (ns_last_pid, then fork; retried while other work on
    the machine takes the pid first). None when it never worked."""
    def child():
        if os.getpid() != target:
            os._exit(97)
        login_as_nobody()

    for _ in range(200):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(target - 1))
        proc = subprocess.Popen(argv, preexec_fn=child)
        if proc.pid == target:
            return proc
        proc.wait()
    return None


@stops_collectors
def case_pid_reuse(m, tmp):
    watched = os.path.join(tmp, "watched")
    os.mkdir(watched)
    script = os.path.join(tmp, "first.py")
    with open(script, "w") as f:
        # alive a while: the collector reads its start from /proc at its exec
        f.write("import sys, time\nopen(sys.argv[1], 'w').close()\ntime.sleep(0.5)\n")
    p = start(m, "--config", conf_for(tmp, write_rules(tmp, watched)),
              "--process-label", "first:script:first\\.py$")
    first = subprocess.Popen(["python3", script, os.path.join(watched, "a")],
                             preexec_fn=login_as_nobody)
    first.wait()
    pid = first.pid
    time.sleep(0.1)  # /proc's start times are 10 ms ticks: far apart
    second = spawn_on_pid(pid, ["python3", "-c", "import sys, time; open(sys.argv[1], 'w')"
                                ".close(); time.sleep(0.5)", os.path.join(watched, "b")])
    if second is None:
        stop(p)
        raise Skip("pid %d could not be taken again (the machine forks too much)" % pid)
    second.wait()
    time.sleep(1.5)
    rc, events, err = stop(p)
    assert rc == 0, err
    fim = [e for e in events if e.get("key") == "ar-procctx-fim" and e.get("success")]
    a = [e for e in fim if e.get("paths") and e["paths"][-1].endswith("/a")]
    b = [e for e in fim if e.get("paths") and e["paths"][-1].endswith("/b")]
    assert a and b, [(e.get("pid"), e.get("paths")) for e in fim]
    a, b = a[0], b[0]
    assert a["pid"] == b["pid"] == pid, (a["pid"], b["pid"], pid)
    pa, pb = a.get("process", {}), b.get("process", {})
    print("     pid %d: first %s %s, then %s %s" % (pid, a.get("exe"), pa, b.get("exe"), pb))
    assert pa.get("labels") == ["first"] and pa.get("script") == script, pa
    assert "labels" not in pb and "script" not in pb, pb
    assert pb.get("start") and pb.get("start") != pa.get("start"), (pa, pb)
    assert pb.get("parent", {}).get("pid") == os.getpid(), pb
    settings_restored(m.before)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))


def table_line(p):
    p.err.seek(0)
    lines = [ln for ln in p.err.read().splitlines() if "process table:" in ln]
    return lines[-1] if lines else ""


@stops_collectors
def case_fork_storm_bound(m, tmp):
    if not shutil.which("stress-ng"):
        raise Skip("stress-ng (Debian package stress-ng) missing")
    size = 256
    p = start(m, "--config", conf_for(tmp, write_rules(tmp, exits=True)),
              "--process-table-size", str(size), "-o", "file:/dev/null")
    seconds = 4 if SANITIZED else 8
    storm = subprocess.Popen(["stress-ng", "--fork", "2", "--timeout", "%ds" % seconds,
                              "--metrics-brief"], preexec_fn=login_as_nobody,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    samples = []
    while storm.poll() is None:
        time.sleep(0.5)
        samples.append(rss_kb(p.pid))
    out = storm.stdout.read()
    time.sleep(1.5)
    p.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    line = table_line(p)
    rc, _, err = stop(p)
    assert rc == 0, err
    forks = re.search(r"fork\s+(\d+)\s", out)
    mt = re.search(r"(\d+) of (\d+) entries in use \((\d+) bytes.*?, (\d+) made, (\d+) reused",
                   line)
    assert mt, line or err
    used, bound, reserved, made, reused = map(int, mt.groups())
    settle = samples[len(samples) // 3:]  # after the first third: the table is full
    print("     stress-ng: %s forks in %d s; table %d of %d entries in use, %d made, %d reused, "
          "%d bytes reserved; collector RSS %d kB at the first sample, %d-%d kB after the "
          "first third" % (forks.group(1) if forks else "?", seconds, used, bound, made, reused,
                           reserved, samples[0], min(settle), max(settle)))
    assert bound == size and used <= size, line
    assert made > size * 4 and reused > 0, line  # the table was filled and turned over
    # steady: no growth with forks (ASan's quarantine keeps freed memory a while: its
    # RSS is printed, not judged)
    assert SANITIZED or max(settle) - min(settle) < 4096, samples
    settings_restored(m.before)


CASES = [case_container_script, case_container_ecs, case_pid_reuse, case_fork_storm_bound]

if __name__ == "__main__":
    sys.exit(test_live.main(CASES))
