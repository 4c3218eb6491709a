#!/usr/bin/env python3
"""The settings table (src/settings.c), read from the binary (`auditrelay config keys
--table`), not grepped from C:

- every option has help, an argument name when it takes one, bounds when it is a number
  or a size, and a config key, unless it is replay's own (replay reads no file) or an
  action (--config, --help, --version);
- the documented default of each key is what the code sets, and what the installed
  default configuration shows commented out (where the default is a value);
- --help of each command lists its options; auditrelay.conf(5) gives each key its
  option, default, bounds and words; auditrelay(8) names every option;
- the command line and the config file refuse the same out-of-range values with the
  same words (`auditrelay: --NAME WHY` and `FILE:LINE: KEY WHY`), and both take the
  bounds themselves.

Usage: test_settings.py AUDITRELAY MAN_DIR DEFAULT_CONFIG"""
import os
import re
import subprocess
import sys
import tempfile

BIN, MAN, CONF = (os.path.abspath(a) for a in sys.argv[1:4])
failures = []
checked = 0
SETTINGS = {"bool", "number", "size", "choice", "string", "list", "listen"}
SUFFIX = {"k": 10, "m": 20, "g": 30, "t": 40}


def check(cond, what):
    global checked
    checked += 1
    if not cond:
        print("FAIL " + what)
        failures.append(what)
    return cond


def table():
    out = subprocess.run([BIN, "config", "keys", "--table"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    head = out[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in out[1:]]


def size(text):
    m = re.fullmatch(r"(\d+)([kKmMgGtT]?)", text)
    return int(m.group(1)) << SUFFIX.get(m.group(2).lower(), 0) if m else None


def man_text(path):
    """The page with groff's escapes for '-' undone."""
    return open(path, encoding="utf-8").read().replace("\\-", "-")


def conf_entries(text):
    """key -> the text of its .TP entry in auditrelay.conf(5), fonts and breaks dropped."""
    entries, key = {}, None
    for line in text.splitlines():
        if line.startswith(".SH") or line == ".TP":
            key = None
            continue
        if key is None:
            m = re.match(r'\.B[IR]?\s+"?(\w+)', line)
            if m and m.group(1) != "":
                key = m.group(1)
                entries[key] = ""
        if key is not None:
            entries[key] += re.sub(r"^\.[A-Z]+\s*", "", line).replace('"', "") + " "
    return {k: re.sub(r"\s+", " ", v.replace(" .", ".").replace(" ,", ",")) for k, v in
            entries.items()}


def conf_defaults(path):
    """key -> the value of its first commented `#key = value` line."""
    keys = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"#(\w+) = (.*)$", line.rstrip("\n"))
        if m:
            keys.setdefault(m.group(1), m.group(2))
    return keys


def bad_values(row):
    t, lo, hi = row["type"], int(row["min"]), int(row["max"])
    if t == "number":
        return ([str(lo - 1)] if lo > 0 else ["-1"]) + [str(hi + 1), "x", "", "1.5"]
    if t == "size":
        return [str(lo - 1), str(hi + 1), "0", "lots", "-4k", "1P"]
    if t == "choice":
        return ["bogus", row["words"].split(",")[0].upper()]
    if t == "listen":
        return ["localhost:9100", "70000", ""]
    if t == "bool":
        return ["maybe", ""]
    return []


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=20,
                          stdin=subprocess.DEVNULL)


def cli(cmd, opts):
    """The command with opts and --help last: a value wrongly taken shows help (exit 0),
    nothing runs. Run reads /dev/null as its config file, not the host's."""
    pre = ["run", "--config", "/dev/null"] if cmd == "run" else ["replay"]
    return run([BIN] + pre + opts + ["--help"])


def config(lines):
    """`config check` and `run --config` on a file of lines; (check, run, path)."""
    fd, path = tempfile.mkstemp(suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    try:
        return (run([BIN, "config", "check", path]), run([BIN, "run", "--config", path, "--help"]),
                path)
    finally:
        os.unlink(path)


def first_line(text):
    return text.strip().splitlines()[0] if text.strip() else ""


def check_refusals(row):
    """One refused value per bad_values, on each command line and in the file."""
    opt, key, section = row["option"], row["key"], row["section"]
    for value in bad_values(row):
        why = None
        if row["type"] != "bool":
            for cmd in row["commands"].split(","):
                prog = "auditrelay" if cmd == "run" else "auditrelay replay"
                r = cli(cmd, [f"--{opt}={value}"])
                line = first_line(r.stderr)
                m = re.fullmatch(re.escape(f"{prog}: --{opt} ") + r"(wants .*)", line)
                if check(r.returncode == 2 and m, f"{cmd} --{opt}={value!r} refused with "
                         f"'{prog}: --{opt} wants ...' (exit 2), got {r.returncode}: {line!r}"):
                    check(why is None or m.group(1) == why,
                          f"--{opt}={value!r}: {cmd} says {m.group(1)!r}, another {why!r}")
                    why = m.group(1)
                    if row["type"] in ("number", "size"):
                        check(f"from {bound(row, 'min')} to {bound(row, 'max')}" in why,
                              f"--{opt}: the refusal names the bounds: {why!r}")
        if key == "-":
            continue
        chk, runr, path = config([f"[{section}]", f"{key} = {value}"])
        for r, rc, what in ((chk, 1, "config check"), (runr, 2, "run --config")):
            line = first_line(r.stderr)
            m = re.fullmatch(re.escape(f"{path}:2: {key} ") + r"(wants .*)", line)
            if check(r.returncode == rc and m, f"{what}: {key} = {value!r} refused with "
                     f"'{path}:2: {key} wants ...' (exit {rc}), got {r.returncode}: {line!r}"):
                check(why is None or m.group(1) == why,
                      f"{key} = {value!r}: the file says {m.group(1)!r}, --{opt} {why!r}")


def bound(row, which):
    v = int(row[which])
    if row["type"] != "size":
        return str(v)
    for s, shift in (("T", 40), ("G", 30), ("M", 20), ("k", 10)):
        if v and v % (1 << shift) == 0:
            return f"{v >> shift}{s}"
    return str(v)


def check_bounds_taken(row):
    opt, key, section = row["option"], row["key"], row["section"]
    for value in (bound(row, "min"), bound(row, "max")):
        for cmd in row["commands"].split(","):
            r = cli(cmd, [f"--{opt}={value}"])
            check(r.returncode == 0, f"{cmd} --{opt}={value} is taken (got {r.returncode}: "
                  f"{first_line(r.stderr)!r})")
        if key != "-":
            chk, _, _ = config([f"[{section}]", f"{key} = {value}"])
            check(chk.returncode == 0, f"{key} = {value} is taken (got {chk.returncode}: "
                  f"{first_line(chk.stderr)!r})")


def check_list_limit(row):
    opt, key, section = row["option"], row["key"], row["section"]
    r = cli("run", [f"--{opt}=stdout"] * 17)
    line = first_line(r.stderr)
    check(r.returncode == 2 and line == f"auditrelay: --{opt} is given more than 16 times",
          f"17 --{opt}: refused, got {r.returncode}: {line!r}")
    chk, _, path = config([f"[{section}]"] + [f"{key} = stdout"] * 17)
    line = first_line(chk.stderr)
    check(chk.returncode == 1 and line == f"{path}:18: {key} is given more than 16 times",
          f"17 {key} lines: refused at line 18 with the same words, got {line!r}")


def main():
    rows = table()
    check(len(rows) >= 20, f"the table has {len(rows)} rows")
    conf5 = man_text(os.path.join(MAN, "auditrelay.conf.5"))
    entries = conf_entries(conf5)
    page8 = man_text(os.path.join(MAN, "auditrelay.8"))
    shown = conf_defaults(CONF)
    helps = {cmd: run([BIN, cmd, "--help"]).stdout for cmd in ("run", "replay")}
    for cmd, text in helps.items():
        for line in text.splitlines():
            check(len(line) <= 80 or "/auditrelay.conf" in line,
                  f"{cmd} --help: a line of {len(line)} columns: {line!r}")
    for row in rows:
        opt, key, t = row["option"], row["key"], row["type"]
        where = f"--{opt}"
        check(row["help"].strip(), f"{where} has help")
        takes_arg = t not in ("bool", "help", "version")
        check((row["arg"] != "-") == takes_arg, f"{where}: an argument name iff it takes one")
        if t in ("number", "size"):
            check(int(row["min"]) <= int(row["max"]) and int(row["max"]) > 0,
                  f"{where} has bounds ({row['min']}..{row['max']})")
        if t == "choice":
            check(row["words"] != "-", f"{where} has its words")
        for cmd in row["commands"].split(","):
            check(re.search(rf"--{re.escape(opt)}\b", helps[cmd]), f"{cmd} --help lists {where}")
        check(re.search(rf"--{re.escape(opt)}\b", page8), f"auditrelay(8) names {where}")
        # A flag given a value, an option without its value: named, exit 2.
        for cmd in row["commands"].split(","):
            prog = "auditrelay" if cmd == "run" else "auditrelay replay"
            if t == "bool":
                r = cli(cmd, [f"--{opt}=yes"])
                want = f"{prog}: --{opt} takes no argument"
            elif takes_arg:
                r = run([BIN, cmd, f"--{opt}"])
                want = f"{prog}: --{opt} wants an argument"
            else:
                continue
            check(r.returncode == 2 and first_line(r.stderr) == want,
                  f"{want!r} (exit 2), got {r.returncode}: {first_line(r.stderr)!r}")
        if t not in SETTINGS:
            continue
        if key == "-":
            check(row["commands"] == "replay",
                  f"{where} has a config key (only replay's own options, read from no file, "
                  f"may lack one)")
        else:
            check("run" in row["commands"], f"{where} ({key}): a key is a run option")
            dflt = row["default"]
            check(dflt != "-", f"{key} has a documented default")
            # The documented default is what the code sets (where it is a value).
            v = row["value"]
            if t in ("bool", "choice", "number") or (t == "string" and dflt == "none"):
                check(dflt == v, f"{key}: documented default {dflt!r}, the code's {v!r}")
            elif t == "size" and size(dflt) is not None:
                check(size(dflt) == size(v), f"{key}: documented default {dflt!r}, the code's {v!r}")
            elif t == "listen":
                check(dflt == v, f"{key}: documented default {dflt!r}, the code's {v!r}")
            elif t == "size":
                # A default in words (the code's value is 0: "the engine's own"): the
                # table writes it from the code's constants, and the pages and the
                # default configuration must say the same words.
                check(f"Default: {dflt}" in open(CONF, encoding="utf-8").read(),
                      f"{CONF} says 'Default: {dflt}'")
                check(f"default: {dflt}" in page8, f"auditrelay(8) says 'default: {dflt}'")
            if t in ("bool", "choice", "number", "size") and dflt != "not set" and (
                    dflt == v or size(dflt)):
                check(shown.get(key) == dflt, f"{CONF} shows #{key} = {shown.get(key)!r}, "
                      f"the default is {dflt!r}")
            # auditrelay.conf(5): the option, the default, the bounds, the words.
            e = entries.get(key, "")
            if check(e, f"auditrelay.conf(5) has an entry for {key}"):
                check(f"Option: --{opt}" in e, f"auditrelay.conf(5) {key} names --{opt}: {e!r}")
                check(f"Default: {dflt}" in e, f"auditrelay.conf(5) {key} says 'Default: {dflt}'")
                if t in ("number", "size"):
                    b = f"from {bound(row, 'min')} to {bound(row, 'max')}"
                    check(b in e, f"auditrelay.conf(5) {key} says '{b}': {e!r}")
                if t == "choice":
                    for w in row["words"].split(","):
                        check(w in e, f"auditrelay.conf(5) {key} lists '{w}'")
        d = row["default_replay"]
        if (t == "number" and d.isdigit()) or (t == "choice" and d in row["words"].split(",")):
            check(d == row["value"],
                  f"--{opt}: replay's documented default {row['default_replay']!r}, the code's "
                  f"{row['value']!r}")
        check_refusals(row)
        if t in ("number", "size"):
            check_bounds_taken(row)
        if t == "list" and opt == "output":
            check_list_limit(row)
    print(f"{len(rows)} options and keys, {checked} checks; {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
