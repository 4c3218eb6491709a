#!/usr/bin/env python3
"""Golden test: every corpus log replayed with `auditrelay replay -n` against its
expected output fixtures/golden/<path relative to fixtures/corpora>.json.

Usage: golden.py [--update] AUDITRELAY CORPORA_DIR GOLDEN_DIR

Checks, for every *.log and *.txt under CORPORA_DIR (recursively, minus README and
PROVENANCE files, which are not audit logs):
  - stdout is NDJSON: every line valid UTF-8 and a valid JSON object;
  - stdout equals the golden file byte for byte (a unified diff of the first
    differing lines is printed otherwise);
  - the summary on stderr reports "0 malformed lines" and the exit status is 0,
    except for the files listed in COMMENTED below.
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
            lines = [l for l in err.splitlines() if "malformed line " in l]
            problems.append("%s malformed lines (%s)" % (m.group(1), "; ".join(lines[:3])))
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
                a = expected.decode("utf-8", errors="replace").splitlines()
                b = out.decode("utf-8", errors="replace").splitlines()
                diff = list(difflib.unified_diff(a, b, "expected/" + rel, "actual/" + rel,
                                                 lineterm="", n=0))
                problems.append("output differs from %s:\n%s" % (exp_path, "\n".join(diff[:20])))
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
