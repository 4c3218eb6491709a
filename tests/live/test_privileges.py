#!/usr/bin/env python3
"""--user and --seccomp on the real kernel (root; issue 13's least privilege).

Each case runs the collector under test_live's runner (the live tests' lock, the
audit state saved and put back by test_live.Machine) and checks what
/proc/PID/task/*/status says of every thread: the user's ids, exactly the expected
capability sets, the seccomp mode; events arrive, a SIGHUP reload and a SIGTERM
work as that user, and the kernel's settings and rules are put back.

Usage: test_privileges.py AUDITRELAY [CASE...]   exit 77 when audit is unavailable.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_live  # noqa: E402  (its runner, start, stop, status)
from test_live import (BIN, CAP, Skip, caps_of, rules, settings_restored, start,  # noqa: E402
                       status, stop)

USER = "nobody"


def user_ids():
    import pwd
    pw = pwd.getpwnam(USER)
    return pw.pw_uid, pw.pw_gid


def ids_of(pid):
    """Uid, Gid and Groups lines of every thread (set-id calls apply to all)."""
    seen = set()
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                d = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except FileNotFoundError:
            continue
        seen.add((d["Uid"].split(), d["Gid"].split(), d.get("Groups", "").split()).__repr__())
    return seen


def user_dir(tmp, name):
    """A directory the user may write (tmp itself is root's 0700)."""
    uid, gid = user_ids()
    os.chmod(tmp, 0o755)
    d = os.path.join(tmp, name)
    os.mkdir(d)
    os.chown(d, uid, gid)
    return d


def lines_of(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def wait_for(pred, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def case_user(m, tmp):
    """--user nobody: every thread runs as nobody:nogroup with exactly the source's
    capabilities; events reach a file output created as nobody, which a SIGHUP
    reopens after a rename (logrotate); SIGTERM puts the kernel back and removes the
    state file, which nobody rewrites in /run/auditrelay (root's, 0775 for nogroup: a
    root run beside must not take it away; a multicast run as root runs meanwhile)."""
    uid, gid = user_ids()
    watched = user_dir(tmp, "watched")
    rule_file = os.path.join(tmp, "user.rules")
    with open(rule_file, "w") as f:
        f.write("-w %s -p r -k ar-user\n" % watched)
    target = os.path.join(watched, "secret")
    with open(target, "w") as f:
        f.write("x")
    outdir = user_dir(tmp, "out")
    runs = [
        (["--source", "unicast"], {"audit_control"}),
        (["--source", "multicast"], {"audit_control", "audit_read"}),
        (["--source", "tracepoint", "--tracepoint-engine", "bpf"], {"bpf", "perfmon"}),
    ]
    for args, want in runs:
        if args[1] == "multicast":
            test_live.sh("auditctl", "-e", "1")  # as auditd would; Machine puts it back
        before = status()
        out = os.path.join(outdir, args[1] + ".json")
        p = start(m, *args, "--rules", rule_file, "--user", USER, "-o", "file:" + out)
        beside = None
        try:
            assert p.poll() is None, "exited: " + (p.err.seek(0) or p.err.read())
            time.sleep(0.3)
            got = caps_of(p.pid)
            ids = ids_of(p.pid)
            st = os.stat(out)
            for i in range(3):
                test_live.touch_and_read(target)
            assert wait_for(lambda: sum("ar-user" in x for x in lines_of(out)) >= 1), \
                "no event in %s" % out
            if args[1] == "unicast":
                # A root run beside (the multicast unit) prepares the same directory:
                # it took it away from nobody before (the reload's state file failed).
                beside = start(m, "--source", "multicast", "--no-rules", "-o",
                               "file:" + os.path.join(tmp, "beside.json"))
            # logrotate's way: move the file, SIGHUP, the collector makes a new one.
            os.rename(out, out + ".1")
            p.send_signal(signal.SIGHUP)
            # The file is made again at the next write (for the tracepoint source the
            # next event: a reload writes no record of its own there).
            assert wait_for(lambda: "reload done" in (p.err.seek(0) or p.err.read()))
            test_live.touch_and_read(target)
            assert wait_for(lambda: sum("ar-user" in x for x in lines_of(out)) >= 1), \
                "no event after the reopen"
            st2 = os.stat(out)
            state = [f for f in os.listdir("/run/auditrelay") if f.endswith(".state")] \
                if os.path.isdir("/run/auditrelay") else []
            rundir = os.stat("/run/auditrelay")
        finally:
            rc, _, err = stop(p)
            if beside:
                brc, _, berr = stop(beside)
                assert brc == 0, berr
        mask = sum(1 << CAP[n] for n in want)
        print("     %-40s as %s: CapEff %x CapPrm %x CapBnd %x, ids %s" % (
            " ".join(args), USER, got["CapEff"], got["CapPrm"], got["CapBnd"], sorted(ids)))
        for k in ("CapEff", "CapPrm", "CapBnd"):
            assert got[k] == mask, "%s: %s is %x, want %x" % (" ".join(args), k, got[k], mask)
        assert got["CapInh"] == 0 and got["CapAmb"] == 0, got
        want_ids = repr(([str(uid)] * 4, [str(gid)] * 4, [str(gid)]))
        assert ids == {want_ids}, "ids %r, want %r" % (ids, want_ids)
        assert (st.st_uid, st.st_gid) == (uid, gid), "output file owned by %d:%d" % (
            st.st_uid, st.st_gid)
        assert (st2.st_uid, st2.st_gid) == (uid, gid), "reopened file owned by %d:%d" % (
            st2.st_uid, st2.st_gid)
        assert (rundir.st_uid, rundir.st_gid, rundir.st_mode & 0o7777) == (0, gid, 0o775), \
            "run dir %d:%d %o" % (rundir.st_uid, rundir.st_gid, rundir.st_mode & 0o7777)
        if args[1] != "tracepoint":
            assert state, "no state file in /run/auditrelay while running"
        assert rc == 0, "exit %d after SIGTERM as %s: %s" % (rc, USER, err)
        assert "running as %s (uid %d, gid %d)" % (USER, uid, gid) in err, err
        assert "cannot write" not in err and "cannot" not in err.replace(
            "cannot be", ""), err
        settings_restored(before)
        assert rules() == m.rules_before, "rules not removed as %s" % USER
        left = [f for f in os.listdir("/run/auditrelay") if f.endswith(".state")]
        assert not left, "state file left: %r" % left


def case_user_refused(m, tmp):
    """What cannot work as the user is refused at start, before the kernel is
    touched: an unknown user, an output file in a directory the user cannot write."""
    before = status()
    for args, says in [
        (["--user", "no-such-user-ar"], "no user 'no-such-user-ar'"),
        (["--user", USER + ":no-such-group-ar"], "no group 'no-such-group-ar'"),
        (["--user", "root"], "is root"),
        (["--user", USER, "-o", "file:" + os.path.join(tmp, "out.json")],
         "Permission denied"),
    ]:
        r = subprocess.run([BIN, "--source", "unicast", "--no-rules", *args],
                           capture_output=True, text=True, timeout=30)
        print("     %-50s exit %d: %s" % (" ".join(args), r.returncode,
                                          r.stderr.strip().splitlines()[-1:]))
        assert r.returncode != 0, r.stderr
        assert says in r.stderr, r.stderr
        assert "collecting" not in r.stderr, r.stderr
        assert status()["pid"] == before["pid"] and status()["enabled"] == before["enabled"]
    settings_restored(m.before)


class Receiver:
    """Lines from the collector's syslog/unix outputs: a TCP listener, a UDP socket
    and a unix stream listener on threads, counting lines that carry `key`."""

    def __init__(self, tmp, key):
        import socket
        import threading
        self.key, self.counts, self.stop_ = key, {"tcp": 0, "udp": 0, "unix": 0}, False
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(4)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_path = os.path.join(tmp, "log.sock")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.unix_path)
        os.chmod(self.unix_path, 0o666)
        self.unix.listen(4)
        self.threads = [threading.Thread(target=self.accept, args=(self.tcp, "tcp")),
                        threading.Thread(target=self.accept, args=(self.unix, "unix")),
                        threading.Thread(target=self.datagrams)]
        for t in self.threads:
            t.daemon = True
            t.start()

    def specs(self):
        return ["syslog+tcp://127.0.0.1:%d" % self.tcp.getsockname()[1],
                "syslog+udp://127.0.0.1:%d" % self.udp.getsockname()[1],
                "unix:%s?type=stream" % self.unix_path]

    def accept(self, sock, kind):
        import threading
        sock.settimeout(0.2)
        while not self.stop_:
            try:
                c, _ = sock.accept()
            except OSError:
                continue
            threading.Thread(target=self.stream, args=(c, kind), daemon=True).start()

    def stream(self, c, kind):
        c.settimeout(0.2)
        buf = b""
        while not self.stop_:
            try:
                d = c.recv(1 << 16)
            except OSError:
                continue
            if not d:
                break
            buf += d
            n = buf.count(self.key)
            if n:
                self.counts[kind] += n
                buf = buf[buf.rfind(self.key) + len(self.key):]
        c.close()

    def datagrams(self):
        self.udp.settimeout(0.2)
        while not self.stop_:
            try:
                d = self.udp.recv(1 << 16)
            except OSError:
                continue
            self.counts["udp"] += d.count(self.key)

    def close(self):
        self.stop_ = True
        for t in self.threads:
            t.join()
        for s_ in (self.tcp, self.udp, self.unix):
            s_.close()
        os.unlink(self.unix_path)


def seccomp_of(pid):
    """The Seccomp: mode of every thread."""
    modes = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("Seccomp:"):
                        modes[tid] = int(line.split()[1])
        except FileNotFoundError:
            pass
    return modes


def case_seccomp(m, tmp):
    """--seccomp for each source (unicast, multicast, tracepoint with both engines)
    with a file output rotating, syslog over TCP and UDP, a unix stream, Kafka (the
    mock cluster, when built) and the metrics listener: every thread has Seccomp: 2,
    a load of audited opens with a SIGUSR1 and a SIGHUP reload in the middle arrives
    whole in the file, TCP, unix and Kafka outputs (UDP reported), the page is
    scraped, and SIGTERM exits 0 with the kernel's settings and rules put back.
    exec: outputs are refused with --seccomp, at start."""
    import threading
    import urllib.request
    watched = os.path.join(tmp, "watched")
    open(watched, "w").close()
    os.chmod(tmp, 0o755)
    rule_file = os.path.join(tmp, "sc.rules")
    with open(rule_file, "w") as f:
        f.write("-w %s -p r -k ar-seccomp\n" % watched)
    key = b'ar-seccomp'
    r = subprocess.run([BIN, "--source", "unicast", "--no-rules", "--seccomp", "-o",
                        "exec:/bin/cat"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "a plugin would inherit" in r.stderr, r.stderr
    mock = os.environ.get("AR_KAFKA_MOCK")
    runs = [["--source", "unicast"], ["--source", "multicast"],
            ["--source", "tracepoint", "--tracepoint-engine", "bpf"],
            ["--source", "tracepoint", "--tracepoint-engine", "perf"]]
    for args in runs:
        if args[1] == "multicast":
            test_live.sh("auditctl", "-e", "1")
        before = status()
        rx = Receiver(tmp, key)
        out = os.path.join(tmp, "out-%s-%s.json" % (args[1], args[-1]))
        kafka = None
        outs = ["file:%s?max_log_file=1&max_log_file_action=rotate&num_logs=20" % out]
        outs += rx.specs()
        if mock:
            kafka = subprocess.Popen([mock, "audit", "3", "1", "1"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
            m.procs.append(kafka)
            brokers = kafka.stdout.readline().split()[1]
            outs.append("kafka://%s/audit" % brokers)
        opts = []
        for o in outs:
            opts += ["-o", o]
        conf = os.path.join(tmp, "sc.conf")
        with open(conf, "w") as f:
            f.write("[collector]\nseccomp = yes\nmetrics = 127.0.0.1:0\n")
        p = start(m, "--config", conf, *args, "--rules", rule_file, *opts)
        try:
            assert p.poll() is None, "exited: " + (p.err.seek(0) or p.err.read())
            time.sleep(0.5)  # the writers, librdkafka's threads, the HTTP thread
            modes = seccomp_of(p.pid)
            counter = [0]
            load = threading.Thread(target=test_live.paced_opens,
                                    args=(watched, 2000, 3, counter))
            load.start()
            time.sleep(1)
            p.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
            p.send_signal(signal.SIGHUP)
            load.join()
            p.err.seek(0)
            err_ = p.err.read()
            port = int(err_.split("metrics on http://127.0.0.1:")[1].split("/")[0]) \
                if "metrics on http://127.0.0.1:" in err_ else None
            page = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                          timeout=5).read().decode() if port else ""
            time.sleep(1.5)
        finally:
            rc, _, err = stop(p, timeout=30)
            rx.close()
        files = [os.path.join(tmp, f) for f in os.listdir(tmp)
                 if f.startswith(os.path.basename(out))]
        data = b"".join(open(f, "rb").read() for f in files)
        # The opens' events (the rule's CONFIG_CHANGE records name the key too).
        in_file = sum(1 for line in data.splitlines()
                      if key in line and b"CONFIG_CHANGE" not in line)
        key_bytes = data.count(key)  # what each stream output must carry too
        lines = data.count(b"\n")
        in_kafka = None
        if kafka:
            kafka.stdin.write("count\n")
            kafka.stdin.flush()
            in_kafka = sum(int(x) for x in kafka.stdout.readline().split()[2:])
            kafka.stdin.write("quit\n")
            kafka.stdin.flush()
            kafka.wait(timeout=10)
        print("     %-45s Seccomp %s on %d threads; %d opens: file %d (%d files), tcp %d, "
              "unix %d, udp %d; events: file %d, kafka %s" % (
                  " ".join(args), sorted(set(modes.values())), len(modes), counter[0], in_file,
                  len(files), rx.counts["tcp"], rx.counts["unix"], rx.counts["udp"], lines,
                  in_kafka))
        assert set(modes.values()) == {2}, "Seccomp modes %r" % modes
        assert rc == 0, "exit %d (%s) under --seccomp: %s" % (rc, signal.Signals(-rc).name
                                                             if rc < 0 else rc, err)
        assert "system call filter on" in err and "reload done" in err, err
        assert "auditrelay_" in page, "metrics page: %r" % page[:200]
        if args[-1] == "perf":
            # The perf engine reads a path after the call: for some short opens it is
            # gone and the watch cannot match (the same without --seccomp: 5909 of
            # 5999 in one run; 5753 of 5998 under ASan). How many depends on how soon
            # this test process reuses the freed path buffer: run alone 5909-5940 of
            # 5999, under meson 5282-5419 (the CI dry run of 3794b49, both builds, and
            # once by hand). What the pipeline made must still reach every output,
            # which the checks below hold exactly.
            assert in_file >= counter[0] * 0.8, "file: %d of %d" % (in_file, counter[0])
        else:
            assert in_file == counter[0], "file: %d of %d" % (in_file, counter[0])
        assert len(files) > 1, "the file output did not rotate"
        assert rx.counts["tcp"] == key_bytes, "tcp %d of %d" % (rx.counts["tcp"], key_bytes)
        assert rx.counts["unix"] == key_bytes, "unix %d of %d" % (rx.counts["unix"], key_bytes)
        assert in_kafka is None or in_kafka == lines, "kafka %s of %d" % (in_kafka, lines)
        settings_restored(before)
        assert rules() == m.rules_before, "rules not removed under --seccomp"
        for f in files:
            os.unlink(f)


CASES = [case_user, case_user_refused, case_seccomp]

if __name__ == "__main__":
    sys.exit(test_live.main(CASES))
