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
    state file, which nobody rewrites in /run/auditrelay."""
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
        assert (rundir.st_uid, rundir.st_gid) == (uid, gid), "run dir %d:%d" % (
            rundir.st_uid, rundir.st_gid)
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


CASES = [case_user, case_user_refused]

if __name__ == "__main__":
    sys.exit(test_live.main(CASES))
