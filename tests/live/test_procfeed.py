#!/usr/bin/env python3
"""The process feed in live collection (root, the real kernel): with only a rule on
openat of one file, a shell forks a subshell that runs cat on the file; the event
names cat's parent (the subshell) and grandparent (the shell), though no fork is
audited: through the BPF feed (--process-feed bpf), through the collector's own
audit rules (--process-feed audit; their events are not forwarded, the rules are
gone after exit and after SIGKILL + restart), and not at all without a feed (none:
the control). Nothing of ours is left: rules (auditctl -l), BPF programs and links
(bpftool prog/link list).

Runs under test_live's runner (the live tests' lock; the audit state saved and put
back by test_live.Machine).

Usage: test_procfeed.py AUDITRELAY [CASE...]   exit 77 when audit is unavailable.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_live  # noqa: E402  (its runner, start, stop, rules)
from test_live import rules, settings_restored, start, stop  # noqa: E402

KEY = "auditrelay-process-feed"
RUNS = 5


def bpf_names(kind):
    r = subprocess.run(["bpftool", "-j", kind, "list"], capture_output=True, text=True,
                       timeout=60)
    items = json.loads(r.stdout or "[]")
    if kind == "prog":
        return [i.get("name", "") for i in items if i.get("name", "").startswith("ar_pf_")]
    # A link names its program by id only: ours are the tracing links of ar_pf_ programs.
    progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "list"], capture_output=True,
                                      text=True, timeout=60).stdout or "[]")
    ours = {p["id"] for p in progs if p.get("name", "").startswith("ar_pf_")}
    return [str(i.get("id")) for i in items if i.get("prog_id") in ours]


# The peaks printed are the collector's own: meson's MALLOC_PERTURB_ would fill
# every allocation (the process table's 5 MB too) and so make them resident.
os.environ.pop("MALLOC_PERTURB_", None)


def peak_rss_kb(p):
    with open(f"/proc/{p.pid}/status") as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))


def no_bpf_left():
    """The kernel frees a program a little after its last fd closed (RCU)."""
    for _ in range(60):
        left = bpf_names("prog") + bpf_names("link")
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"BPF left behind: {left}")


def shell_chain(target):
    """bash -> subshell -> cat target, RUNS times; returns [(shell, subshell)]."""
    script = "echo B=$$; ( echo S=$BASHPID; cat %s >/dev/null; true )" % target
    chains = []
    for _ in range(RUNS):
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                             check=True).stdout
        b = int(re.search(r"B=(\d+)", out).group(1))
        s = int(re.search(r"S=(\d+)", out).group(1))
        chains.append((b, s))
    return chains


def opens(events, target):
    return [e for e in events if e.get("key") == "ar-pf-open" and e.get("exe") == "/usr/bin/cat"
            and target in e.get("paths", [])]


def run_chain(m, tmp, mode):
    target = os.path.join(tmp, "target")
    with open(target, "w") as f:
        f.write("x")
    rule_file = os.path.join(tmp, "open.rules")
    with open(rule_file, "w") as f:
        f.write("-a always,exit -F arch=b64 -S openat -F path=%s -k ar-pf-open\n" % target)
    p = start(m, "--source", "unicast", "--rules", rule_file, "--process-feed", mode)
    running = rules()
    chains = shell_chain(target)
    time.sleep(1.3)  # idle events complete after 1 s
    rc, events, err = stop(p)
    assert rc == 0, err
    return chains, opens(events, target), events, err, running


def check_named(chains, got, mode, err):
    by_parent = {e["ppid"]: e for e in got}
    for b, s in chains:
        e = by_parent.get(s)
        assert e, f"{mode}: no open by a child of subshell {s}: {[x['ppid'] for x in got]}\n{err}"
        proc = e.get("process") or {}
        parent, anc = proc.get("parent") or {}, proc.get("ancestors") or []
        assert parent.get("pid") == s and parent.get("exe") == "/usr/bin/bash", (mode, proc)
        assert not parent.get("from_proc"), (mode, proc)  # the feed's, not a /proc lookup
        assert anc and anc[0].get("pid") == b and anc[0].get("exe") == "/usr/bin/bash", (mode, proc)
        # The shell is this test's vfork child: audit logs the vfork after the shell's
        # execve, and that late record must not make the shell one met without its fork.
        assert not anc[0].get("from_proc"), (mode, proc)


def case_bpf_feed(m, tmp):
    if not shutil.which("bpftool"):
        raise test_live.Skip("bpftool (Debian package bpftool) is the BPF leak oracle")
    # The control: without a feed, nothing tells the table of the unaudited forks
    # (what it knows of the parents, a late /proc lookup gave: marked from_proc).
    chains, got, _, err, _ = run_chain(m, tmp, "none")
    assert len(got) == RUNS, err
    parents = [(e.get("process") or {}).get("parent") for e in got]
    assert all(not p or p.get("from_proc") for p in parents), parents
    chains, got, _, err, _ = run_chain(m, tmp, "bpf")
    if "process feed: BPF" not in err:
        raise test_live.Skip("BPF unavailable: " + err.strip().splitlines()[0])
    check_named(chains, got, "bpf", err)
    assert re.search(r"process feed \(BPF\): [1-9]\d* forks, [1-9]\d* execs, [1-9]\d* exits, "
                     r"0 lost", err), err
    no_bpf_left()
    # SIGKILL: the programs go with the process.
    p = start(m, "--source", "unicast", "--no-rules", "--process-feed", "bpf")
    assert bpf_names("prog"), "no ar_pf_ program while running"
    peak_bpf = peak_rss_kb(p)
    p.kill()
    p.wait()
    no_bpf_left()
    p = start(m, "--source", "unicast", "--no-rules", "--process-feed", "none")
    peak_none = peak_rss_kb(p)
    rc, _, err = stop(p)  # puts back the settings the killed one changed
    assert rc == 0, err
    settings_restored(m.before)
    # The feed's share of the peak is its ring (mapped twice) and little else: libbpf
    # parsing the kernel's BTF in the collector (11 MB more) must not come back.
    assert peak_bpf - peak_none < 6 * 1024, (peak_bpf, peak_none)
    print(f"     bpf: {RUNS} chains named, none without a feed; peak RSS (VmHWM) at "
          f"collecting {peak_bpf} kB with the feed, {peak_none} kB without")


def case_audit_feed(m, tmp):
    chains, got, events, err, running = run_chain(m, tmp, "audit")
    assert "process feed: audit rules of its own" in err, err
    ours = [l for l in running.splitlines() if KEY in l]
    assert any(" -S " in l and "execve" in l for l in ours), running
    check_named(chains, got, "audit", err)
    # (CONFIG_CHANGE events of adding and removing its rules carry its key too: they
    # are forwarded, as any change of the audit configuration.)
    fed = [e for e in events if e.get("key") == KEY and "syscall" in e]
    assert not fed, "the feed's events were forwarded: %s" % fed[0]
    n = re.search(r"(\d+) events of the process feed's own rules went to the process table "
                  r"only", err)
    assert n and int(n.group(1)) >= 3 * RUNS, err
    assert KEY not in rules(), rules()
    # SIGKILL: the rules stay until the next start removes them (the state file).
    empty = os.path.join(tmp, "empty.rules")
    open(empty, "w").close()
    p = start(m, "--source", "unicast", "--process-feed", "audit", "--rules", empty)
    assert KEY in rules(), rules()
    p.kill()
    p.wait()
    assert KEY in rules(), "gone without a restart?"
    p = start(m, "--source", "unicast", "--process-feed", "none", "--rules", empty)
    assert KEY not in rules(), "a restart left the dead run's rules:\n" + rules()
    rc, _, err = stop(p)
    assert rc == 0, err
    assert KEY not in rules(), rules()
    settings_restored(m.before)
    print(f"     audit: {RUNS} chains named, {n.group(1)} feed events kept back, "
          f"{len(ours)} rules while running")


CASES = [case_bpf_feed, case_audit_feed]

if __name__ == "__main__":
    sys.exit(test_live.main(CASES))
