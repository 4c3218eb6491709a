#!/usr/bin/env python3
"""The dependency graph is the diagram: every #include "..." in src/ against the
table of folder dependencies below (docs/ARCHITECTURE.md, "Layers"). A module may
include its own folder and the folders its row names; anything else (a layer above
it, or a sideways one the diagram does not have) fails, with file:line.

    check_includes.py SRC_DIR
"""
import os
import re
import sys

# Folder -> the folders it may include. Lowest first; the pure core (libarcore) is
# util .. encode, filter and rules; the rest is the application around it. ROOT is src/
# itself (main.c, collector.c, config.c, settings.c...): the top, it may include all.
CORE = ["util", "audit", "parse", "reasm", "enrich", "encode"]
ALLOWED = {
    "util": [],
    "audit": ["util"],
    "parse": ["util", "audit"],
    "reasm": ["util", "audit", "parse"],
    "enrich": ["util", "audit", "parse", "reasm"],
    "encode": ["util", "audit", "parse", "reasm", "enrich"],
    "filter": ["util", "audit", "parse", "reasm", "enrich"],
    "rules": ["util", "audit", "parse"],
    "pipeline": CORE + ["filter"],
    "outputs": ["util"],
    "sources": CORE + ["rules"],
    "metrics": CORE + ["pipeline", "outputs", "sources"],
}

# Upward includes that are known and wait for their own change: (file, include) ->
# why. A new one is not added here but fixed.
EXCEPTIONS = {
    ("sources/replay.c", "collector.h"): "sources open from struct ar_collector_config",
    ("sources/netlink/netlink.c", "collector.h"): "sources open from struct ar_collector_config",
    ("sources/tracepoint/tracepoint.c", "collector.h"): "sources open from struct ar_collector_config",
    ("sources/netlink/netlink.c", "privileges.h"): "AR_RUN_DIR for the state file",
    ("metrics/metrics.h", "privileges.h"): "AR_RUN_DIR for the metrics file",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(rel):
    """The top folder of a path relative to src/ ("ROOT" for src/ itself)."""
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else "ROOT"


def main():
    src = sys.argv[1]
    bad, checked, used = [], 0, set()
    for dirpath, _, names in os.walk(src):
        for name in sorted(names):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src)
            here = folder_of(rel)
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    inc = m.group(1)
                    checked += 1
                    if "/" in inc:
                        there = folder_of(inc)
                    elif os.path.exists(os.path.join(src, inc)):
                        there = "ROOT"
                    else:
                        there = here  # beside the file, or generated into its folder
                    if there == here or here == "ROOT":
                        continue
                    if here not in ALLOWED:
                        bad.append(f"src/{rel}:{lineno}: folder {here}/ is not in the table "
                                   f"(tests/layers/check_includes.py)")
                        continue
                    if there in ALLOWED[here]:
                        continue
                    if (rel, inc) in EXCEPTIONS:
                        used.add((rel, inc))
                        continue
                    bad.append(f"src/{rel}:{lineno}: {here}/ includes \"{inc}\" ({there}), "
                               f"which is not below it; {here}/ may include "
                               f"{', '.join(ALLOWED[here]) or 'nothing else'}")
    for key in sorted(set(EXCEPTIONS) - used):
        bad.append(f"exception {key[0]} -> {key[1]} is no longer needed: remove it")
    for b in bad:
        print(b)
    print(f"{checked} includes checked, {len(used)} known exceptions, {len(bad)} refused")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
