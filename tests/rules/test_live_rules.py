#!/usr/bin/env python3
"""The collector and its rules on the real kernel (root): `auditrelay --rules FILE`
installs the file's rules when it starts, produces events for them, and on SIGTERM
leaves the kernel's rule list exactly as it found it, including rules that someone
else had loaded (and rules of others that the file's -D removed meanwhile).

NOTE: this tests the collector's `--rules FILE|DIR` option, which main.c/collector.c
provide by calling rules/collector_rules.h; until they do, it skips (exit 77) and
says so.

Every case saves the machine's audit rules and settings first and puts them back in
`finally` through netlink (auditnl.py), whatever happens; nothing here sends -e 2,
-f 2 or --loginuid-immutable. One case at a time, under the live tests' lock.

Usage: test_live_rules.py AUDITRELAY [CASE...]
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auditnl  # noqa: E402

BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""
ONLY = sys.argv[2:]
SKIP = 77


class Skip(Exception):
    pass


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check)


def listing():
    return sh("auditctl", "-l").stdout


def lines(text):
    return [l for l in text.splitlines() if l != "No rules"]


class Collector:
    def __init__(self, tmp, *args):
        self.err = auditnl.output_file()
        self.out = auditnl.output_file()
        env = dict(os.environ,
                   AUDITRELAY_STATE_FILE=os.path.join(tmp, "collector.state"))
        self.p = subprocess.Popen([BIN, *args], stdout=self.out, stderr=self.err, text=True,
                                  env=env)

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def wait_for(self, text, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.stderr() or self.p.poll() is not None:
                return self.p.poll() is None
            time.sleep(0.05)
        raise AssertionError("auditrelay did not say %r: %s" % (text, self.stderr()))

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        rc = self.p.wait(timeout=15)
        self.out.seek(0)
        events = [json.loads(l) for l in self.out.read().splitlines() if l.strip()]
        return rc, events, self.stderr()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def case_install_events_remove(tmp, procs):
    """Installs the file's rules, events carry their keys, SIGTERM removes exactly them."""
    watched = write(os.path.join(tmp, "watched"), "")
    foreign = write(os.path.join(tmp, "foreign"), "")
    sh("auditctl", "-w", foreign, "-p", "r", "-k", "ar-rules-foreign")
    before = listing()
    rules = write(os.path.join(tmp, "live.rules"),
                  "-w %s -p r -k ar-rules-live\n"
                  "-a always,exit -F arch=b64 -S mkdir,mkdirat -F dir=%s -F key=ar-rules-mkdir\n"
                  % (watched, tmp))
    c = Collector(tmp, "--rules", rules)
    procs.append(c)
    assert c.wait_for("installed"), c.stderr()
    during = listing()
    for want in ("-w %s -p r -k ar-rules-live" % watched, "-F key=ar-rules-mkdir",
                 "-k ar-rules-foreign"):
        assert want in during, "%r not loaded:\n%s" % (want, during)
    for _ in range(3):
        with open(watched) as f:
            f.read()
    os.mkdir(os.path.join(tmp, "made"))
    time.sleep(0.5)
    rc, events, err = c.stop()
    assert rc == 0, err
    reads = [e for e in events if e.get("key") == "ar-rules-live"]
    made = [e for e in events if e.get("key") == "ar-rules-mkdir"]
    assert len(reads) >= 3 and made, "events: %d reads, %d mkdir\n%s\n%s" % (
        len(reads), len(made), err, "\n".join(json.dumps(e) for e in events))
    after = listing()
    assert after == before, "rule list changed:\n--- before\n%s--- after\n%s" % (before, after)


def case_leaves_rules_it_did_not_add(tmp, procs):
    """A rule of the file that someone else had already loaded stays after exit."""
    watched = write(os.path.join(tmp, "shared"), "")
    sh("auditctl", "-w", watched, "-p", "r", "-k", "ar-rules-shared")
    before = listing()
    rules = write(os.path.join(tmp, "shared.rules"),
                  "-w %s -p r -k ar-rules-shared\n-w %s -p w -k ar-rules-own\n"
                  % (watched, watched))
    c = Collector(tmp, "--rules", rules)
    procs.append(c)
    assert c.wait_for("installed"), c.stderr()
    assert "already loaded" in c.stderr(), c.stderr()
    rc, _, err = c.stop()
    assert rc == 0, err
    after = listing()
    assert after == before, "rule list changed:\n--- before\n%s--- after\n%s" % (before, after)


def case_minus_D_puts_back_in_order(tmp, procs):
    """-D in the file removes others' rules while running; they come back in order."""
    a = write(os.path.join(tmp, "a"), "")
    b = write(os.path.join(tmp, "b"), "")
    sh("auditctl", "-w", a, "-p", "r", "-k", "ar-rules-a")
    sh("auditctl", "-a", "always,exit", "-F", "arch=b64", "-S", "fchmodat", "-F",
       "dir=" + tmp, "-k", "ar-rules-b")
    sh("auditctl", "-w", b, "-p", "r", "-k", "ar-rules-c")
    before = listing()
    rules = write(os.path.join(tmp, "d.rules"), "-D\n-w %s -p w -k ar-rules-mine\n" % a)
    c = Collector(tmp, "--rules", rules)
    procs.append(c)
    assert c.wait_for("installed"), c.stderr()
    during = lines(listing())
    assert during == ["-w %s -p w -k ar-rules-mine" % a], during
    rc, _, err = c.stop()
    assert rc == 0, err
    after = listing()
    assert after == before, "rule list not restored:\n--- before\n%s--- after\n%s" % (before,
                                                                                     after)


def case_bad_rules_change_nothing(tmp, procs):
    """A rule file with an error: the collector refuses to start, changes nothing."""
    s0 = sh("auditctl", "-s").stdout
    before = listing()
    rules = write(os.path.join(tmp, "bad.rules"),
                  "-w %s -p r -k ar-rules-ok\n-a always,exit -F arch=b64 -S nosuchcall\n" % tmp)
    c = Collector(tmp, "--rules", rules)
    procs.append(c)
    rc = c.p.wait(timeout=15)
    err = c.stderr()
    assert rc != 0, err
    assert "bad.rules:2:" in err and "nosuchcall" in err, err
    assert listing() == before
    s1 = sh("auditctl", "-s").stdout
    for k in ("enabled", "failure", "backlog_limit", "rate_limit", "backlog_wait_time"):
        assert re.search(r"^%s (\S+)" % k, s0, re.M).group(1) == \
            re.search(r"^%s (\S+)" % k, s1, re.M).group(1), k


def audit_status():
    out = sh("auditctl", "-s").stdout
    return dict(l.split(" ", 1) for l in out.splitlines() if " " in l)


def case_sigkill_then_restart(tmp, procs):
    """After SIGKILL, the next start removes the rules the dead run left and, on its
    own exit, puts back the settings the dead run had changed: the one state file
    names both (rewritten atomically), and the machine ends as it began."""
    watched = write(os.path.join(tmp, "k"), "")
    before = listing()
    status_before = audit_status()
    rules = write(os.path.join(tmp, "k.rules"), "-w %s -p r -k ar-rules-killed\n" % watched)
    c = Collector(tmp, "--rules", rules, "--backlog-limit", "4321", "--rate-limit", "77")
    procs.append(c)
    assert c.wait_for("installed"), c.stderr()
    # The state file is rewritten just after the rules went in: wait for it.
    state_file = os.path.join(tmp, "collector.state")
    deadline = time.time() + 5
    while time.time() < deadline and (not os.path.exists(state_file) or
                                      len(open(state_file).read().splitlines()) < 2):
        time.sleep(0.05)
    state = open(state_file).read().splitlines()
    assert state[0].startswith("auditrelay-state 2 pid=%d " % c.p.pid), state[0]
    assert "backlog_limit=%s " % status_before["backlog_limit"] in state[0], state[0]
    assert len(state) == 2 and re.fullmatch(r"[0-9a-f]+", state[1]), state
    c.kill()
    assert "ar-rules-killed" in listing()
    assert audit_status()["backlog_limit"] == "4321"
    empty = write(os.path.join(tmp, "empty.rules"), "## nothing\n")
    c2 = Collector(tmp, "--rules", empty)
    procs.append(c2)
    assert c2.wait_for("installed"), c2.stderr()
    assert "ar-rules-killed" not in listing(), "the dead run's rule is still loaded"
    rc, _, err = c2.stop()
    assert rc == 0, err
    assert "a previous run (pid %d) stopped without removing its audit rules" % c.p.pid in err, err
    after = listing()
    assert after == before, "after a SIGKILL and a restart:\n--- before\n%s--- after\n%s" % (
        before, after)
    status_after = audit_status()
    for k in ("backlog_limit", "rate_limit", "enabled", "failure"):
        assert status_after[k] == status_before[k], "%s: %s before, %s after" % (
            k, status_before[k], status_after[k])
    assert not os.path.exists(os.path.join(tmp, "collector.state")), "state file left behind"


def case_sigterm_while_installing(tmp, procs):
    """SIGTERM while the collector still installs its rules (it holds the slot, has not
    said "collecting"): it stops cleanly and the rule list ends as it began. Before its
    signal handlers came first, the signal killed it there and its rules stayed."""
    before = listing()
    rules = write(os.path.join(tmp, "many.rules"), "".join(
        "-w %s/f%d -p r -k ar-rules-many\n" % (tmp, i) for i in range(2000)))
    c = Collector(tmp, "--rules", rules)
    procs.append(c)
    audit = auditnl.Audit()
    try:
        deadline = time.time() + 10
        while audit.status()["pid"] != c.p.pid and time.time() < deadline:
            time.sleep(0.002)
    finally:
        audit.close()
    early = c.stderr()
    c.p.send_signal(signal.SIGTERM)
    rc = c.p.wait(timeout=60)
    err = c.stderr()
    if "collecting" in early:
        raise Skip("the collector had installed its 2000 rules before the signal")
    assert rc == 0, "exit %d on SIGTERM while installing:\n%s" % (rc, err)
    after = listing()
    assert after == before, "rule list changed: %d rules left" % (len(lines(after)) -
                                                                  len(lines(before)))


CASES = [case_install_events_remove, case_leaves_rules_it_did_not_add,
         case_minus_D_puts_back_in_order, case_bad_rules_change_nothing,
         case_sigkill_then_restart, case_sigterm_while_installing]


def main():
    if not BIN:
        print(__doc__)
        return 2
    if os.geteuid() != 0:
        print("skip: needs root (the audit netlink socket)")
        return SKIP
    if not shutil.which("auditctl"):
        print("skip: auditctl (Debian auditd package) is the test oracle and is missing")
        return SKIP
    help_text = subprocess.run([BIN, "run", "--help"], capture_output=True, text=True).stdout
    if "--rules" not in help_text:
        print("skip: %s has no --rules option yet (main.c/collector.c must call "
              "rules/collector_rules.h)" % BIN)
        return SKIP
    try:
        audit = auditnl.Audit()
        status = audit.status()
    except OSError as e:
        print("skip: audit unavailable: %s" % e)
        return SKIP
    if status["enabled"] == 2:
        print("skip: the audit configuration is locked (enabled 2) until reboot")
        return SKIP
    lock = auditnl.lock()
    failed = skipped = 0
    for case in CASES:
        if ONLY and case.__name__ not in ONLY:
            continue
        pid = audit.status()["pid"]
        if pid and os.path.exists("/proc/%d" % pid):
            skipped += 1
            print("skip %s: pid %d holds the audit daemon slot" % (case.__name__, pid))
            continue
        saved = auditnl.Saved(audit)
        procs = []
        with tempfile.TemporaryDirectory(prefix="ar-rules-live.") as tmp:
            try:
                case(tmp, procs)
                print("ok   %s" % case.__name__)
            except Skip as e:
                skipped += 1
                print("skip %s: %s" % (case.__name__, e))
            except Exception as e:
                failed += 1
                print("FAIL %s: %s: %s" % (case.__name__, type(e).__name__, e))
            finally:
                for c in procs:
                    c.kill()
                # Let the kernel see the dead daemon, then put everything back.
                for _ in range(50):
                    p = audit.status()["pid"]
                    if not p or not os.path.exists("/proc/%d" % p):
                        break
                    time.sleep(0.1)
                if not saved.restore():
                    failed += 1
                    print("FAIL %s: could not restore the rule list" % case.__name__)
    audit.close()
    lock.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
