#!/usr/bin/env python3
"""The configuration keys, round trip: the keys the loader accepts (`auditrelay config
keys`, read from the binary's table, not grepped from C) are exactly the keys
auditrelay.conf(5) documents, each in its section, and exactly the keys the installed
default configuration shows commented out. Every documented key is accepted in its
section with the default file's value; every key that is not documented (a typo, a
key of the other section, a key before any section, an unknown section) is refused
with file:line, by `auditrelay config check` and by `auditrelay run` alike.

Usage: test_config_keys.py AUDITRELAY MAN_PAGE DEFAULT_CONFIG"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import check, failures  # noqa: E402

BIN, MAN, CONF = (os.path.abspath(a) for a in sys.argv[1:4])


def binary_keys():
    out = subprocess.run([BIN, "config", "keys"], capture_output=True, text=True, check=True)
    return {tuple(line.split()) for line in out.stdout.splitlines()}


def man_keys(path):
    """(section, key) for each .TP entry under a `.SH ... [section] ...` heading."""
    keys, section, after_tp = set(), None, False
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith(".SH"):
            m = re.search(r"\[(\w+)\]", line)
            section = m.group(1) if m else None
            continue
        if line == ".TP":
            after_tp = True
            continue
        if after_tp and section:
            m = re.match(r'\.B[IR]?\s+"?([A-Za-z_\\-]+)', line)
            if check(m, f"{path}: a .TP entry in [{section}] names no key: {line!r}"):
                keys.add((section, m.group(1).replace("\\-", "-")))
        after_tp = False
    return keys


def default_keys(path):
    """(section, key) -> value for the commented `#key = value` lines."""
    keys, section = {}, None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\[(\w+)\]\s*$", line)
        if m:
            section = m.group(1)
        m = re.match(r"#(\w+) = (.*)$", line.rstrip("\n"))
        if m and section:
            keys.setdefault((section, m.group(1)), m.group(2))
    return keys


def load(text, cmd):
    """Writes `text` after three comment lines; runs cmd with the file. Returns
    (exit status, stderr, path)."""
    fd, path = tempfile.mkstemp(suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write("# a comment\n; another\n\n" + text)
    args = {"check": [BIN, "config", "check", path],
            "run": [BIN, "run", "--config", path, "--source", "multicast", "--no-rules"]}[cmd]
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=20,
                           stdin=subprocess.DEVNULL)
    finally:
        os.unlink(path)
    return r.returncode, r.stderr, path


def refused(text, line, what, cmd="check"):
    rc, err, path = load(text, cmd)
    want_rc = 1 if cmd == "check" else 2
    check(rc == want_rc and f"{path}:{line}: " in err,
          f"{what} ({cmd}): exit {want_rc} and '{path}:{line}:' on stderr, got {rc}: {err.strip()!r}")


def main():
    code = binary_keys()
    doc = man_keys(MAN)
    dflt = default_keys(CONF)
    check(len(code) >= 10, f"auditrelay config keys lists the table ({len(code)} keys)")
    for s, k in sorted(code - doc):
        check(False, f"[{s}] {k} is accepted by the loader but not documented in auditrelay.conf(5)")
    for s, k in sorted(doc - code):
        check(False, f"[{s}] {k} is documented in auditrelay.conf(5) but the loader refuses it")
    for s, k in sorted(code - set(dflt)):
        check(False, f"[{s}] {k} is missing from the default configuration {CONF}")
    for s, k in sorted(set(dflt) - code):
        check(False, f"[{s}] {k} in the default configuration is not a key")
    sections = sorted({s for s, _ in code})
    names = {k for _, k in code}
    # Every documented key in its section, with the default file's value.
    for s, k in sorted(doc & code):
        value = dflt.get((s, k), "")
        rc, err, _ = load(f"[{s}]\n{k} = {value}\n", "check")
        check(rc == 0, f"[{s}] {k} = {value} is accepted (got {rc}: {err.strip()!r})")
    # The whole default file with every key uncommented.
    with open(CONF, encoding="utf-8") as f:
        text = re.sub(r"^#(\w+ = )", r"\1", f.read(), flags=re.M)
    rc, err, _ = load(text, "check")
    check(rc == 0, f"the default configuration uncommented is accepted (got {rc}: {err.strip()!r})")
    # Undocumented keys: each key in every other section, a typo of each, and keys
    # before any section or in an unknown section. Line 5: after 3 comment lines and
    # the section line.
    for s, k in sorted(doc):
        for other in sections:
            if other != s and (other, k) not in code:
                refused(f"[{other}]\n{k} = x\n", 5, f"[{other}] {k} (a key of [{s}])")
        for typo in (k + "s", k[:-1], k.replace("_", "-") if "_" in k else k.upper()):
            if typo not in names:
                refused(f"[{s}]\n{typo} = 1\n", 5, f"[{s}] {typo} (a typo of {k})")
    refused("source = auto\n", 4, "a key before any section")
    refused("[collectors]\nsource = auto\n", 5, "an unknown section")
    # The same loader when running: refused before anything starts (exit 2).
    refused("[collector]\nsource = auto\nbacklog = 5\n", 6, "[collector] backlog", cmd="run")
    refused("[output]\nsource = auto\n", 5, "[output] source", cmd="run")
    print(f"{len(code)} keys documented and accepted; {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
