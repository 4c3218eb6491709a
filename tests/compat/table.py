#!/usr/bin/env python3
"""The compatibility table from a meson test log: each lab check by kernel (the
compat/* tests' guests), with the host kernel as the last column (the same cases of
the host's live tests, as they ran in that log).

Usage: table.py MESON_TESTLOG   (build/meson-logs/testlog.txt)
"""
import os
import platform
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402  (CHECKS, KERNELS)

# The host's meson test that runs each script (tests/meson.build, tests/rules/meson.build).
HOST_TEST = {
    "tests/live/test_live.py": "live/collector",
    "tests/rules/test_live_rules.py": "rules/live-collector",
    "tests/rules/test_oracle.py": "rules/oracle-auditctl",
    "tests/live/test_tracepoint.py": "live/tracepoint",
}


def tests_in(log):
    """{meson test name: (exit status or None, stdout text)}."""
    out = {}
    for block in re.split(r"\n=+ \d+/\d+ =+\n", log)[1:]:
        m = re.search(r"^test:\s+\S+ / (\S+)", block, re.M)
        if not m:
            continue
        rc = re.search(r"^result:\s+exit status (\d+)", block, re.M)
        so = re.search(r"^-+ stdout -+\n(.*?)(?:^-+ stderr -+\n|^=+\n|\Z)", block, re.M | re.S)
        out[m.group(1)] = (int(rc.group(1)) if rc else None, so.group(1) if so else "")
    return out


def host_result(tests, script, cases):
    name = HOST_TEST[script]
    if name not in tests:
        return "not run"
    rc, text = tests[name]
    if cases is None:
        return {0: "pass", 77: "skip"}.get(rc, "FAIL")
    results = []
    for case in cases:
        m = re.search(r"^(ok|FAIL|skip) +" + re.escape(case) + r"\b", text, re.M)
        results.append({"ok": "pass", "FAIL": "FAIL", "skip": "skip"}[m.group(1)] if m
                       else ("skip" if rc == 77 else "not run"))
    return "pass" if all(r == "pass" for r in results) else \
        next(r for r in results if r != "pass")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    with open(sys.argv[1], errors="replace") as f:
        tests = tests_in(f.read())
    columns = []
    for suite in sorted(lab.KERNELS, key=lambda k: lab.KERNELS[k]["label"]):
        label = f"{suite}-{lab.KERNELS[suite]['label']}"
        rc, text = tests.get(f"compat/{label}", (None, ""))
        cells = {}
        for m in re.finditer(r"^compat " + re.escape(label) + r": (\S+) +(pass|FAIL|SKIP|needs .*)$",
                             text, re.M):
            cells[m.group(1)] = m.group(2)
        columns.append((lab.KERNELS[suite]["label"], cells,
                        "skip" if rc == 77 else "not run"))
    host = {name: host_result(tests, script, cases) for name, script, cases in lab.CHECKS}
    columns.append((f"host {platform.release().split('-')[0]}", host, "not run"))
    width = max(len(n) for n, _, _ in lab.CHECKS)
    print("compat table: " + "check".ljust(width) + " | " + " | ".join(c[0] for c in columns))
    for name, _, _ in lab.CHECKS:
        print("compat table: " + name.ljust(width) + " | " +
              " | ".join(c[1].get(name, c[2]) for c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
