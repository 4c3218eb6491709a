#!/usr/bin/env python3
"""auditctl as the oracle for `auditrelay rules load` and `rules list` (real kernel,
root; one test at a time: the rule list is global to the machine).

For every rule file given (files, and directories read like augenrules):
  1. `auditctl -R FILE`, then `auditctl -l`            -> listing A, exit status a
  2. `auditrelay rules load FILE`, then `auditctl -l`  -> listing B, exit status b
  If auditctl accepts the file, auditrelay must too and B must equal A exactly; if
  auditctl refuses it, auditrelay must refuse it too and load nothing (B equals the
  listing before). After each load, `auditrelay rules list` must print exactly what
  `auditctl -l` prints, the settings (auditctl -s) must match, and `auditrelay rules
  delete FILE` must take the file's rules out again.

The machine's rules and settings are saved before each run and put back after it,
even on failure, through netlink directly (tests/rules/auditnl.py), removing only
what the run added: rules that other programs loaded stay. Nothing here sends -e 2,
-f 2 or --loginuid-immutable to the kernel.

Usage: test_oracle.py AUDITRELAY AR_RULES_DRIVER PATH...   (exit 77: cannot run here)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auditnl  # noqa: E402

SKIP = 77


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def rules_command(auditrelay, driver):
    """`auditrelay rules` once main.c dispatches to it, the test driver until then."""
    r = run([auditrelay, "rules", "--help"])
    if r.returncode == 0 and "rules check" in r.stdout:
        return [auditrelay, "rules"]
    return [driver]


def listing():
    r = run(["auditctl", "-l"])
    if r.returncode != 0:
        raise RuntimeError("auditctl -l failed: " + r.stderr)
    return r.stdout


def count(text):
    return len([l for l in text.splitlines() if l != "No rules"])


def settings():
    out = run(["auditctl", "-s"]).stdout
    s = dict(re.findall(r"^(\w+) (\S+)", out, re.M))
    return {k: s.get(k) for k in ("enabled", "failure", "rate_limit", "backlog_limit",
                                  "backlog_wait_time")}


def augenrules(directory, out):
    """Writes the directory's *.rules as augenrules would hand them to auditctl -R:
    files in `ls -1v` order, comments and blank lines dropped, the first -D first,
    then the last -b and -f, the rules, and the last -e at the end."""
    def vkey(name):
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]
    names = sorted((n for n in os.listdir(directory)
                    if n.endswith(".rules") and not n.startswith(".")), key=vkey)
    minus_d = minus_b = minus_f = minus_e = None
    rest = []
    for n in names:
        with open(os.path.join(directory, n)) as f:
            for line in f.read().splitlines():
                if not line or re.match(r"^\s*#", line):
                    continue
                if re.match(r"^\s*-e", line):
                    minus_e = line
                elif re.match(r"^\s*-D", line):
                    minus_d = minus_d or line
                elif re.match(r"^\s*-f", line):
                    minus_f = line
                elif re.match(r"^\s*-b", line):
                    minus_b = line
                else:
                    rest.append(line)
    with open(out, "w") as f:
        for line in [minus_d, minus_b, minus_f] + rest + [minus_e]:
            if line is not None:
                f.write(line + "\n")


class Case:
    def __init__(self, audit, cmd, path):
        self.audit, self.cmd, self.path = audit, cmd, path
        self.problems = []

    def check(self, cond, what):
        if not cond:
            self.problems.append(what)

    def load_with(self, argv):
        """Runs a loader; returns (exit status, auditctl -l, settings, our list), and
        puts the machine back."""
        saved = auditnl.Saved(self.audit)
        try:
            r = run(argv)
            after = listing()
            ours = run(self.cmd + ["list"])
            self.check(ours.stdout == after,
                       "`rules list` differs from `auditctl -l` after %s:\n--- auditctl -l\n%s"
                       "--- rules list\n%s" % (argv[0], after, ours.stdout))
            return r, after, settings()
        finally:
            if not saved.restore():
                raise RuntimeError("could not restore the rule list after " + " ".join(argv))

    def run(self, oracle_file):
        before = listing()
        before_settings = settings()
        a, list_a, set_a = self.load_with(["auditctl", "-R", oracle_file])
        self.check(listing() == before, "the rule list was not restored after auditctl")
        b, list_b, set_b = self.load_with(self.cmd + ["load", self.path])
        accepted = a.returncode == 0
        if accepted:
            self.check(b.returncode == 0, "auditctl loads it, auditrelay refuses it:\n" + b.stderr)
            self.check(list_b == list_a, "auditctl -l differs:\n--- after auditctl -R\n%s"
                                         "--- after auditrelay rules load\n%s" % (list_a, list_b))
            self.check(set_b == set_a, "settings differ: auditctl %s, auditrelay %s" %
                       (set_a, set_b))
        else:
            self.check(b.returncode != 0, "auditctl refuses it, auditrelay loads it")
            self.check(list_b == before, "auditrelay refused the file but changed the rule "
                                         "list:\n" + list_b)
            self.check(set_b == before_settings, "auditrelay refused the file but changed "
                                                 "settings: %s" % set_b)
        added = count(list_a) - count(before) if accepted else 0
        if accepted and b.returncode == 0 and added > 0:
            self.check_delete(before)
        return accepted, added

    def check_delete(self, before):
        """`rules delete FILE` after `rules load FILE` leaves the list as it was."""
        saved = auditnl.Saved(self.audit)
        try:
            load = run(self.cmd + ["load", self.path])
            delete = run(self.cmd + ["delete", self.path])
            self.check(load.returncode == 0 and delete.returncode == 0,
                       "load then delete failed: " + load.stderr + delete.stderr)
            after = listing()
            # A file with -D deletes others' rules too; then only ours must be gone.
            self.check(after == before or "-D" in open(self.path).read(),
                       "`rules delete` left rules behind:\n" + after)
        finally:
            saved.restore()


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    auditrelay, driver, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    if os.geteuid() != 0:
        print("skip: needs root (the audit netlink socket)")
        return SKIP
    if not shutil.which("auditctl"):
        print("skip: auditctl (Debian auditd package) is the oracle and is missing")
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
    cmd = rules_command(auditrelay, driver)
    print("loader: " + " ".join(cmd))
    lock = auditnl.lock()
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += [os.path.join(p, n) for n in sorted(os.listdir(p)) if n.endswith(".rules")]
            files.append(p)
        else:
            files.append(p)
    failed = compared = refused = rules = 0
    tmp = tempfile.mkdtemp(prefix="ar-oracle.")
    try:
        for path in files:
            oracle_file = path
            if os.path.isdir(path):
                oracle_file = os.path.join(tmp, "augenrules.rules")
                augenrules(path, oracle_file)
            case = Case(audit, cmd, path)
            try:
                accepted, added = case.run(oracle_file)
            except Exception as e:  # the machine state is restored in load_with
                case.problems.append("%s: %s" % (type(e).__name__, e))
                accepted, added = False, 0
            compared += 1
            if case.problems:
                failed += 1
                print("FAIL %s" % path)
                for p in case.problems:
                    print("     " + p.replace("\n", "\n     "))
            elif accepted:
                rules += added
                print("ok   %s: same listing (%d rules)" % (path, added))
            else:
                refused += 1
                print("ok   %s: both refuse it" % path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        audit.close()
        lock.close()
    print("%d files compared: %d loaded with identical auditctl -l (%d rules), %d refused by "
          "both, %d failed" % (compared, compared - refused - failed, rules, refused, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
