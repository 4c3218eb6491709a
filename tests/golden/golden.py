#!/usr/bin/env python3
"""Golden test: every corpus log replayed with `auditrelay replay -n` against its
expected output fixtures/golden/<path relative to fixtures/corpora>.json.

Usage: golden.py [--update] AUDITRELAY CORPORA_DIR GOLDEN_DIR

Checks, for every *.log and *.txt under CORPORA_DIR (recursively, minus README and
PROVENANCE files, which are not audit logs):
  - stdout is NDJSON: every line valid UTF-8 and a valid JSON object;
  - stdout equals the golden file byte for byte (otherwise the JSON paths that
    changed are printed, line by line);
  - the summary on stderr reports "0 malformed lines" and the exit status is 0 (when
    it does not, the failure says which lines, and whether they are all '#' comment
    lines: laurel's test files annotate traces with them).
--update rewrites the golden files from the current output (then review them: a
golden file blesses whatever the binary printed).

Exit status: 0 pass, 1 fail, 2 usage.
"""

import difflib
import json
import os
import re
import subprocess
import sys

NOT_LOGS = re.compile(r"^(README|PROVENANCE)", re.I)
MALFORMED_RE = re.compile(r"; (\d+) malformed lines")


def corpus_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if (name.endswith(".log") or name.endswith(".txt")) and not NOT_LOGS.match(name):
                out.append(os.path.join(dirpath, name))
    return out


def check_ndjson(data):
    """Returns a list of problems with the NDJSON bytes."""
    problems = []
    if data and not data.endswith(b"\n"):
        problems.append("output does not end with a newline")
    for n, line in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        try:
            text = line.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            problems.append("line %d: not UTF-8: %s" % (n, e))
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            problems.append("line %d: not JSON: %s" % (n, e))
            continue
        if not isinstance(obj, dict):
            problems.append("line %d: not a JSON object" % n)
        # Lone surrogates survive json.loads but are not UTF-8 text.
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as e:
            problems.append("line %d: escapes a lone surrogate: %s" % (n, e))
    return problems


def describe_malformed(path, count, err):
    """Says which lines were malformed, and whether they are all '#' comments (laurel's
    test files annotate traces with them; auditd never writes one)."""
    nums = [int(n) for n in re.findall(r"malformed line .*:(\d+)$", err, re.M)]
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    comments = sum(1 for l in lines if l.startswith(b"#"))
    shown = ", ".join("%d: %r" % (n, lines[n - 1][:60].decode("utf-8", "replace"))
                      for n in nums[:3] if 0 < n <= len(lines))
    what = ("all of them '#' comment lines" if comments == count else
            "%d of them '#' comment lines" % comments)
    return "%d malformed lines, %s (%s)" % (count, what, shown)


def json_paths(a, b, path=""):
    """The paths where two JSON values differ, as 'path: old -> new' lines."""
    if type(a) is not type(b):
        return ["%s: %s -> %s" % (path or ".", short(a), short(b))]
    if isinstance(a, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            p = "%s.%s" % (path, k) if path else k
            if k not in b:
                out.append("%s: removed (was %s)" % (p, short(a[k])))
            elif k not in a:
                out.append("%s: added %s" % (p, short(b[k])))
            else:
                out += json_paths(a[k], b[k], p)
        if not out and list(a) != list(b):
            out.append("%s: member order %s -> %s" % (path or ".", list(a), list(b)))
        return out
    if isinstance(a, list):
        out = []
        for i in range(max(len(a), len(b))):
            p = "%s[%d]" % (path, i)
            if i >= len(a):
                out.append("%s: added %s" % (p, short(b[i])))
            elif i >= len(b):
                out.append("%s: removed (was %s)" % (p, short(a[i])))
            else:
                out += json_paths(a[i], b[i], p)
        return out
    return [] if a == b else ["%s: %s -> %s" % (path or ".", short(a), short(b))]


def short(v):
    t = json.dumps(v, ensure_ascii=False)
    return t if len(t) <= 100 else t[:97] + "..."


def describe_diff(expected, actual, rel):
    """Readable differences: per line, the JSON paths that changed; a unified diff of
    shortened lines when the number of lines differs."""
    a = expected.decode("utf-8", errors="replace").splitlines()
    b = actual.decode("utf-8", errors="replace").splitlines()
    if len(a) == len(b):
        out = []
        for n, (x, y) in enumerate(zip(a, b), 1):
            if x == y:
                continue
            try:
                paths = json_paths(json.loads(x), json.loads(y))
            except json.JSONDecodeError:
                paths = ["not JSON"]
            out += ["  line %d: %s" % (n, p) for p in paths] or ["  line %d: bytes differ" % n]
        return out
    cut = lambda ls: [l if len(l) <= 160 else l[:157] + "..." for l in ls]
    return list(difflib.unified_diff(cut(a), cut(b), "expected/" + rel, "actual/" + rel,
                                     lineterm="", n=0))


def main(argv):
    update = "--update" in argv
    args = [a for a in argv[1:] if a != "--update"]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    auditrelay, corpora, golden = args
    failed = 0
    files = corpus_files(corpora)
    events = 0
    for path in files:
        rel = os.path.relpath(path, corpora)
        exp_path = os.path.join(golden, rel + ".json")
        p = subprocess.run([auditrelay, "replay", "-n", "--no-progress", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.stdout, p.stderr.decode("utf-8", errors="replace")
        problems = check_ndjson(out)
        m = MALFORMED_RE.search(err)
        if not m:
            problems.append("no summary on stderr: %s" % err.strip())
        elif int(m.group(1)) != 0:
            problems.append(describe_malformed(path, int(m.group(1)), err))
        if p.returncode != 0:
            problems.append("exit status %d" % p.returncode)
        if update:
            os.makedirs(os.path.dirname(exp_path), exist_ok=True)
            with open(exp_path, "wb") as f:
                f.write(out)
        elif not os.path.exists(exp_path):
            problems.append("no golden file %s (run golden.py --update, then review it)"
                            % exp_path)
        else:
            with open(exp_path, "rb") as f:
                expected = f.read()
            if expected != out:
                problems.append("output differs from %s:\n%s" % (
                    exp_path, "\n".join(describe_diff(expected, out, rel)[:20])))
        n = out.count(b"\n")
        events += n
        if problems:
            failed += 1
            print("FAIL %s" % rel)
            for pr in problems:
                print("  " + pr)
        else:
            print("ok   %s: %d lines" % (rel, n))
    print("%d files, %d lines, %d failed%s" % (len(files), events, failed,
                                               " (golden files updated)" if update else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
