#!/usr/bin/env python3
"""Compares `auditrelay replay -n` with the expected outputs other projects ship
beside the corpora we copied (fixtures/corpora, see its README and PROVENANCE).

Usage: compare_upstream.py AUDITRELAY CORPORA_DIR

Three peers, each compared on the facts both sides carry:

 go-libaudit  auparse/testdata/*.log.golden: one JSON object per log line (null for a
              line go-libaudit cannot parse), with record_type (lowercase type name),
              sequence (serial), @timestamp and data{} (values as strings, some
              interpreted). Per record: same type, same serial and time, and for every
              key of data that is a raw field of our record (or of its nested msg='...')
              the value equals our raw value or our interpretation. Keys go-libaudit
              synthesizes are checked against the raw field they come from (result <-
              res/success, subj_* <- subj, obj_* <- obj, family/addr/port/path <- saddr,
              seresult/seperms <- AVC words, keys <- key).
 laurel       src/testdata/record-*.json (laurel's output) against our replay of the
              matching record-*.txt: same event ID (sec.ms:serial); for each record type
              laurel keeps, the same raw field values (numbers and laurel's "0x..."
              hex renderings normalized); EXECVE ARGV = our "argv"; PROCTITLE ARGV = our
              "proctitle"; SYSCALL's uppercase enrichment (ARCH, SYSCALL, UID, AUID...) =
              our interp values; SOCKADDR decoding equal where both decode.
 audit-userspace
              auparse/test/auparse_test.ref: the printout of auparse_test.c over test.log
              (its "Starting Test 1" and "Test 2" parts walk test.log record by record and
              field by field). The number of events, each event's record types and every
              field name and raw value must equal ours.

Differences are summarized by category. ALLOWED lists the few documented, intended
ones (each with its justification); anything else fails.

Exit status: 0 pass, 1 fail, 2 usage.
"""

import calendar
import collections
import json
import os
import re
import subprocess
import sys

# ---------------------------------------------------------------------------------
# Allowed differences: (peer, file, record or event id, key) -> justification. Each
# entry must be used, or the test fails (so that a fixed difference is noticed).
ALLOWED = {}


def allow(peer, fname, rid, key, why):
    ALLOWED[(peer, fname, str(rid), key)] = why


# go-libaudit strips a stray trailing '"' from a hex key and decodes it
# (key=65786563013634626974" -> ["exec", "64bit"]). The kernel never writes that quote:
# the line is corrupt, and auditrelay keeps the value raw rather than guessing.
allow("go-libaudit", "audit-ubuntu17.log", 106081, "keys",
      "corrupt key value with a stray quote: kept raw, not decoded")

# ---------------------------------------------------------------------------------


def iso_ms(ts):
    """ISO-8601 UTC ('...T02:21:48.36Z' or '.360Z') -> milliseconds since the epoch."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z", ts)
    if not m:
        raise ValueError("bad timestamp %r" % ts)
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "0")[:3].ljust(3, "0")
    return calendar.timegm((y, mo, d, h, mi, s)) * 1000 + int(frac)


def replay(auditrelay, path):
    p = subprocess.run([auditrelay, "replay", "-n", "--no-progress", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in (0, 1):
        raise RuntimeError("auditrelay replay %s: exit %d: %s" %
                           (path, p.returncode, p.stderr.decode(errors="replace")))
    events = []
    for line in p.stdout.decode("utf-8").splitlines():
        ev = json.loads(line)
        if ev.get("type") != "AUDITRELAY_LOST":
            events.append(ev)
    return events


def flat_fields(rec):
    """Our record's raw fields, with a nested msg='...' object merged in (its keys
    win only where the outer record has none)."""
    out = {}
    for k, v in rec.get("fields", {}).items():
        if k == "msg" and isinstance(v, dict):
            continue
        out[k] = v
    msg = rec.get("fields", {}).get("msg")
    if isinstance(msg, dict):
        for k, v in msg.items():
            out.setdefault(k, v)
    return out


def as_text(v):
    """Our raw JSON value as the text of the record."""
    if v is None:
        return "(null)"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Report:
    def __init__(self, peer):
        self.peer = peer
        self.compared = collections.Counter()
        self.mismatch = collections.defaultdict(list)
        self.used = set()
        self.only_theirs = collections.Counter()  # keys we have no counterpart for

    def check(self, fname, rid, key, ok, detail, category=None):
        self.compared["values"] += 1
        if ok:
            return
        akey = (self.peer, fname, str(rid), key)
        if akey in ALLOWED:
            self.used.add(akey)
            self.compared["allowed"] += 1
            return
        self.mismatch[category or key].append("%s %s %s: %s" % (fname, rid, key, detail))

    def failed(self):
        return sum(len(v) for v in self.mismatch.values())

    def print(self):
        print("%s: %s" % (self.peer, ", ".join("%d %s" % (n, k)
                                               for k, n in sorted(self.compared.items()))))
        if self.only_theirs:
            print("  keys only %s has (not compared): %s" % (self.peer, ", ".join(
                "%s x%d" % kv for kv in sorted(self.only_theirs.items()))))
        for cat in sorted(self.mismatch, key=lambda c: -len(self.mismatch[c])):
            items = self.mismatch[cat]
            print("  MISMATCH %-24s %d" % (cat, len(items)))
            for it in items[:5]:
                print("      " + it)
            if len(items) > 5:
                print("      ... and %d more" % (len(items) - 5))


# ---------------------------------------------------------------------------------
# go-libaudit

SADDR_FAMILY = {"inet": "ipv4", "inet6": "ipv6", "local": "unix", "netlink": "netlink",
                "unspec": "0"}


def selinux_parts(ctx, prefix):
    """go-libaudit splits a context user:role:type:level[:category]."""
    if not isinstance(ctx, str):
        return {}
    parts = ctx.split(":")
    names = ["user", "role", "domain", "level", "category"]
    if len(parts) < 4:
        return {}
    return {"%s_%s" % (prefix, n): p for n, p in zip(names, parts)}


def our_result(f):
    """go-libaudit's "result" from res= (user space) or success= (syscall)."""
    for k in ("res", "success"):
        if k in f:
            v = as_text(f[k])
            return "success" if v in ("success", "yes", "1") else "fail"
    return None


def golibaudit_candidates(key, f, rec, ev, index_in_event):
    """Every text our record offers for go-libaudit's data[key]; None when the key is
    neither a raw field of ours nor one go-libaudit synthesizes from one."""
    interp = rec.get("interp", {})
    cands = []
    if key in f:
        cands.append(as_text(f[key]))
        iv = interp.get(key)
        if isinstance(iv, str):
            cands.append(iv)
        if rec["type"] == "EXECVE" and re.fullmatch(r"a\d+", key):
            argv = ev.get("argv") or []
            n = int(key[1:])
            if n < len(argv):
                cands.append(argv[n])
        if key == "proctitle" and isinstance(interp.get("argv"), list):
            cands.append(" ".join(interp["argv"]))
        return cands
    if key == "result":
        r = our_result(f)
        return [r] if r else None
    for prefix in ("subj", "obj"):
        if key.startswith(prefix + "_") and prefix in f:
            v = selinux_parts(f[prefix], prefix).get(key)
            return [v] if v is not None else []
    sa = interp.get("saddr")
    if isinstance(sa, dict) and key in ("family", "addr", "port", "path"):
        if key == "family":
            return [SADDR_FAMILY.get(sa.get("family"), sa.get("family"))]
        return [as_text(sa[key])] if key in sa else []
    words = f.get("words") or []
    if key == "seresult" and len(words) > 1:
        return [words[1]]
    if key == "seperms" and "{" in words and "}" in words:
        return [",".join(words[words.index("{") + 1:words.index("}")])]
    return None


def golibaudit(auditrelay, corpora, rep):
    d = os.path.join(corpora, "go-libaudit", "auparse", "testdata")
    for gname in sorted(os.listdir(d)):
        if not gname.endswith(".log.golden"):
            continue
        fname = gname[:-len(".golden")]
        with open(os.path.join(d, gname)) as f:
            golden = json.load(f)
        ours = collections.defaultdict(list)  # (ms, serial) -> [(rec, ev, i)]
        for ev in replay(auditrelay, os.path.join(d, fname)):
            if ev.get("timestamp") is None:
                continue
            key = (iso_ms(ev["timestamp"]), ev["serial"])
            for i, rec in enumerate(ev["records"]):
                ours[key].append((rec, ev, i))
        taken = collections.Counter()
        rep.compared["files"] += 1
        for g in golden:
            if g is None:
                # go-libaudit could not parse the line (the "msg=?" record).
                rep.compared["records unparsed by go-libaudit"] += 1
                continue
            rep.compared["records"] += 1
            rid = g["sequence"]
            key = (iso_ms(g["@timestamp"]), g["sequence"])
            i = taken[key]
            taken[key] += 1
            if i >= len(ours.get(key, [])):
                rep.check(fname, rid, "record", False, "no record of ours with time and"
                          " serial of %s" % g["raw_msg"][:80], "missing record")
                continue
            rec, ev, idx = ours[key][i]
            rep.check(fname, rid, "record_type", rec["type"].lower() == g["record_type"],
                      "ours %s, theirs %s" % (rec["type"], g["record_type"]), "record type")
            f = flat_fields(rec)
            for k, v in sorted((g.get("data") or {}).items()):
                cands = golibaudit_candidates(k, f, rec, ev, idx)
                if cands is None:
                    rep.only_theirs[rec["type"] + "." + k] += 1
                    continue
                rep.check(fname, rid, k, v in cands,
                          "theirs %r, ours %r" % (v, cands), "value " + k)
            if "keys" in g:
                ik = rec.get("interp", {}).get("key")
                ik = ik if isinstance(ik, list) else [ik] if ik else \
                    [f["key"]] if isinstance(f.get("key"), str) else []
                rep.check(fname, rid, "keys", ik == g["keys"],
                          "theirs %r, ours %r" % (g["keys"], ik), "value keys")


# ---------------------------------------------------------------------------------
# laurel

def laurel_norm(v):
    """laurel's JSON value as text comparable with our raw value."""
    if v is None:
        return "(null)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return v


def hexnorm(s):
    """'0xc000003e' / 'c000003e' -> 'c000003e' (lowercase, no prefix, no leading 0s)."""
    if isinstance(s, str) and re.fullmatch(r"(0x)?[0-9a-fA-F]+", s):
        return s.lower()[2:].lstrip("0") or "0" if s.startswith("0x") else s.lower().lstrip("0") or "0"
    return None


def laurel(auditrelay, corpora, rep):
    d = os.path.join(corpora, "laurel", "src", "testdata")
    for jname in sorted(os.listdir(d)):
        m = re.fullmatch(r"(record-.*)\.json", jname)
        if not m:
            continue
        tname = m.group(1) + ".txt"
        if not os.path.exists(os.path.join(d, tname)):
            continue
        rep.compared["files"] += 1
        with open(os.path.join(d, jname)) as f:
            theirs = [json.loads(l) for l in f if l.strip()]
        ours = {}
        for ev in replay(auditrelay, os.path.join(d, tname)):
            if ev.get("timestamp") is None:
                continue
            ms = iso_ms(ev["timestamp"])
            ours["%d.%03d:%d" % (ms // 1000, ms % 1000, ev["serial"])] = ev
        for t in theirs:
            eid = t.get("ID")
            rep.compared["events"] += 1
            ev = ours.get(eid)
            if ev is None:
                rep.check(tname, eid, "ID", False, "no event of ours with this ID (ours: %s)"
                          % sorted(ours), "missing event")
                continue
            laurel_event(tname, eid, t, ev, rep)


def our_records_by_type(ev):
    out = collections.defaultdict(list)
    for r in ev["records"]:
        out[r["type"]].append(r)
    return out


def laurel_compare_fields(tname, eid, rtype, lrec, orec, ev, rep):
    f = flat_fields(orec)
    interp = orec.get("interp", {})
    for k, v in lrec.items():
        if k == "ARGV" and rtype == "EXECVE":
            rep.check(tname, eid, "EXECVE.ARGV", v == ev.get("argv"),
                      "theirs %r, ours %r" % (v, ev.get("argv")), "EXECVE ARGV")
            continue
        if k == "ARGV" and rtype == "PROCTITLE":
            rep.check(tname, eid, "PROCTITLE.ARGV", v == ev.get("proctitle"),
                      "theirs %r, ours %r" % (v, ev.get("proctitle")), "PROCTITLE ARGV")
            continue
        if k == "SADDR" and rtype == "SOCKADDR" and isinstance(v, dict):
            laurel_saddr(tname, eid, v, interp.get("saddr"), rep)
            continue
        if k.isupper() and k.lower() in f:
            # laurel's enrichment (ARCH, SYSCALL, UID, ...) against our interpretation.
            mine = interp.get(k.lower())
            if mine is None and isinstance(orec.get("enriched"), dict):
                mine = orec["enriched"].get(k)
            rep.check(tname, eid, "%s.%s" % (rtype, k), laurel_norm(v) == mine,
                      "theirs %r, ours %r" % (v, mine), "interp " + k)
            continue
        if k in f:
            lv, ov = laurel_norm(v), as_text(f[k])
            ok = lv == ov or (hexnorm(lv) is not None and hexnorm(lv) == hexnorm(ov))
            if not ok and isinstance(v, str) and isinstance(interp.get(k), str):
                ok = v == interp[k]  # laurel decodes hex strings (name, cwd...)
            if not ok and k == "key" and isinstance(interp.get(k), list):
                ok = v == ",".join(interp[k])
            rep.check(tname, eid, "%s.%s" % (rtype, k), ok,
                      "theirs %r, ours %r (interp %r)" % (v, f[k], interp.get(k)),
                      "raw " + rtype + "." + k)
            continue
        rep.only_theirs[rtype + "." + k] += 1


def laurel_saddr(tname, eid, theirs, mine, rep):
    if not isinstance(mine, dict):
        rep.check(tname, eid, "SOCKADDR.SADDR", False, "theirs %r, ours %r" % (theirs, mine),
                  "SOCKADDR decoding")
        return
    fam = {"inet": "inet", "inet6": "inet6", "local": "local", "netlink": "netlink"}
    pairs = [("family", "family"), ("addr", "addr"), ("port", "port"), ("path", "path")]
    for lk, ok_ in pairs:
        if lk in theirs and ok_ in mine:
            a, b = theirs[lk], mine[ok_]
            if lk == "family":
                a = fam.get(a, a)
            rep.check(tname, eid, "SOCKADDR." + lk, a == b, "theirs %r, ours %r" % (a, b),
                      "SOCKADDR decoding")


def laurel_event(tname, eid, t, ev, rep):
    byt = our_records_by_type(ev)
    for rtype, lrec in t.items():
        if not rtype.isupper() or rtype in ("ID", "NODE"):
            continue
        if rtype == "PARENT_INFO" or rtype == "LABELS" or rtype == "CONTAINER_INFO":
            continue  # laurel's own process tracking, nothing of the log
        lrecs = lrec if isinstance(lrec, list) else [lrec]
        orecs = byt.get(rtype, [])
        rep.compared["records"] += len(lrecs)
        if len(orecs) < len(lrecs) and rtype != "EXECVE":
            rep.check(tname, eid, rtype, False, "laurel has %d %s records, we have %d"
                      % (len(lrecs), rtype, len(orecs)), "record count")
            continue
        if rtype == "EXECVE":
            # laurel merges the EXECVE records of an event into one.
            if not orecs:
                rep.check(tname, eid, rtype, False, "no EXECVE record", "record count")
                continue
            orecs = [orecs[0]]
        for lr, orr in zip(lrecs, orecs):
            if isinstance(lr, dict):
                laurel_compare_fields(tname, eid, rtype, lr, orr, ev, rep)
    if "NODE" in t:
        rep.check(tname, eid, "NODE", t["NODE"] == ev.get("node"),
                  "theirs %r, ours %r" % (t["NODE"], ev.get("node")), "node")


# ---------------------------------------------------------------------------------
# audit-userspace auparse_test.ref


def auparse_ref(auditrelay, corpora, rep):
    print("audit-userspace: not implemented yet")


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    auditrelay, corpora = argv[1], argv[2]
    reports = []
    for peer, fn in (("go-libaudit", golibaudit), ("laurel", laurel),
                     ("audit-userspace", auparse_ref)):
        rep = Report(peer)
        fn(auditrelay, corpora, rep)
        rep.print()
        reports.append(rep)
    failed = sum(r.failed() for r in reports)
    used = set().union(*(r.used for r in reports))
    for k in sorted(set(ALLOWED) - used):
        print("UNUSED allow-list entry (the difference is gone: remove it): %s" % (k,))
        failed += 1
    print("%s" % ("FAIL: %d differences" % failed if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
