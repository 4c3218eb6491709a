#!/usr/bin/env python3
"""The perf tracepoint engine through the collector (root, real kernel).

A long-lived python process opens a file under the watched dir 20 times by an
absolute and 20 times by a relative path (cwd: the dir's parent) and stays alive
1 s. The perf engine reads path arguments late (process_vm_readv, ~20 ms after the
call), so the workload passes bytes objects that stay alive: all 40 must come with
the right path, marked late. The same opens with str paths are counted and printed
only: CPython encodes a str path into a temporary buffer freed right after the
call, so a late read finds other data there (perf.c's header; the BPF engine
copies the name in the kernel and has them all).

Afterwards: the collector has exited, and no tracefs mount is left behind.
Exit 77 when perf tracepoints are unavailable.

    test_tp_perf.py /path/to/auditrelay
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

N = 20


def tracefs_mounts():
    with open("/proc/mounts") as f:
        return [l for l in f if l.split()[2] == "tracefs"]


WORKLOAD = r"""
import os, sys, time
d, parent = sys.argv[1], sys.argv[2]
os.chdir(parent)
rel = os.path.basename(d) + "/f"
if sys.argv[3] == "bytes":
    a, r = os.fsencode(d + "/f"), os.fsencode(rel)   # alive for the whole run
else:
    a, r = d + "/f", rel
for i in range(%d): open(a).close()
for i in range(%d): open(r).close()
time.sleep(1)
""" % (N, N)


def run(auditrelay, tmp, kind):
    d = os.path.join(tmp, "watched")
    rules = os.path.join(tmp, "rules")
    with open(rules, "w") as f:
        f.write(f"-a always,exit -F arch=b64 -S openat -F dir={d} -k tpperf\n")
    out, err = os.path.join(tmp, kind + ".out"), os.path.join(tmp, kind + ".err")
    env = dict(os.environ, AR_TP_PERF_STATS="1")
    with open(out, "w") as fo, open(err, "w") as fe:
        p = subprocess.Popen([auditrelay, "--source", "tracepoint", "--tracepoint-engine",
                              "perf", "--rules", rules], stdout=fo, stderr=fe, env=env)
    try:
        for _ in range(120):
            text = open(err).read()
            if "collecting" in text or p.poll() is not None:
                break
            time.sleep(0.25)
        if "collecting" not in text:
            if p.poll() is None:
                p.kill()
            p.wait()
            text = open(err).read()
            if any(w in text for w in ("need", "not available", "no syscall tracepoints",
                                       "permission", "refused")):
                print(f"skipped: perf engine unavailable: {text.strip()}")
                sys.exit(77)
            raise SystemExit(f"collector did not start: {text.strip()}")
        w = subprocess.Popen([sys.executable, "-c", WORKLOAD, d, tmp, kind])
        assert w.wait() == 0, "workload failed"
        time.sleep(0.2)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    stats = [l for l in open(err) if l.startswith("perf engine:")]
    got = {"abs": 0, "rel": 0, "late": 0, "wrong": 0}
    for line in open(out):
        e = json.loads(line)
        if e.get("key") != "tpperf" or e.get("pid") != w.pid:
            continue
        # The PATH record's name as the call gave it; the summary's paths are full
        # paths (resolved with the cwd) either way.
        paths = e.get("paths") or []
        names = [(r.get("fields") or {}).get("name") for r in e.get("records", [])
                 if r.get("type") == "PATH"]
        late = any("name" in str((r.get("fields") or {}).get("late", "")).split(",")
                   for r in e.get("records", []) if r.get("type") == "PATH")
        if names == [d + "/f"] and paths == [d + "/f"]:
            got["abs"] += 1
        elif names == ["watched/f"] and e.get("cwd") == tmp and paths == [d + "/f"]:
            got["rel"] += 1
        else:
            got["wrong"] += 1
        got["late"] += late
    return got, p.returncode, (stats[0].strip() if stats else "no stats line")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if os.geteuid() != 0:
        print("skipped: needs root")
        return 77
    auditrelay = os.path.abspath(sys.argv[1])
    mounts_before = tracefs_mounts()
    with tempfile.TemporaryDirectory(prefix="ar-tp-perf.") as tmp:
        tmp = os.path.realpath(tmp)
        os.mkdir(os.path.join(tmp, "watched"))
        open(os.path.join(tmp, "watched", "f"), "w").close()
        good, rc, stats = run(auditrelay, tmp, "bytes")
        print(f"bytes paths (alive): absolute {good['abs']}/{N} relative {good['rel']}/{N} "
              f"late-marked {good['late']} other {good['wrong']} (collector exit {rc})")
        print(f"  {stats}")
        info, rc2, stats2 = run(auditrelay, tmp, "str")
        print(f"str paths (freed after the call; information only): absolute "
              f"{info['abs']}/{N} relative {info['rel']}/{N}")
        print(f"  {stats2}")
    fails = []
    if good["abs"] != N or good["rel"] != N:
        fails.append(f"expected {N} absolute and {N} relative, got {good['abs']} and {good['rel']}")
    if good["late"] != good["abs"] + good["rel"]:
        fails.append(f"late-read paths not marked late: {good['late']} marked")
    if rc != 0 or rc2 != 0:
        fails.append(f"collector exit status {rc}, {rc2}")
    left = subprocess.run(["pgrep", "-f", "-x", f"{auditrelay} --source tracepoint .*"],
                          capture_output=True, text=True).stdout.split()
    if left:
        fails.append(f"collector processes left behind: {left}")
    if tracefs_mounts() != mounts_before:
        fails.append(f"tracefs mounts changed: {mounts_before} -> {tracefs_mounts()}")
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
