#!/usr/bin/env python3
"""Regression cases for replay bugs found while reviewing the corpus outputs
(tests/golden/golden.py, compare_upstream.py, peers/conformance.py).

Usage: regressions.py AUDITRELAY [NAME...]

Each case feeds a few audit lines to `auditrelay replay -n` on stdin and checks one
fact of the JSON (or of the summary on stderr). A case states the input, what the
schema (man/auditrelay-json.7) or the reference (libauparse, the kernel) expects,
and prints what we produced when it fails. A case is named after the corpus file
where the bug showed up, so the corpus golden files can be regenerated once it is
fixed.

Exit status: 0 all pass, 1 a case failed, 2 usage.
"""

import json
import re
import subprocess
import sys

CASES = []


def case(name, lines, where, expected):
    """Registers a check: fn(events, stderr) -> None when fine, else the actual
    behaviour as text."""
    def deco(fn):
        CASES.append({"name": name, "lines": lines, "where": where, "expected": expected,
                      "check": fn})
        return fn
    return deco


def rec(events, i=0, j=0):
    return events[i]["records"][j]


# --- encoder ------------------------------------------------------------------------

@case("execve-argc-not-hex",
      ['type=EXECVE msg=audit(1000.000:1): argc=14 a0="x"'],
      "laurel/src/testdata/record-weblogic.txt (argc=14); bench log (argc=22, 3001)",
      "argc is a count, not an argument: no interp.argc (only aN values are hex-decoded)")
def _(ev, err):
    interp = rec(ev).get("interp", {})
    if "argc" in interp:
        return "interp.argc = %r (argc=14 decoded as hex byte 0x14)" % interp["argc"]


@case("repeated-key-interp",
      ['type=DAEMON_END msg=audit(1000.000:2): op=terminate auid=0 pid=1 auid=4294967295 '
       'res=success'],
      "linux-audit-parser-rs/src/testdata/line-daemon-end-2.txt; laurel record-ptrace.txt",
      "the interpretation of the second auid is written under \"auid#2\", the key of its "
      "raw value; \"auid\" (raw 0) is not interpreted as \"unset\"")
def _(ev, err):
    r = rec(ev)
    if r.get("interp", {}).get("auid") == "unset" and r["fields"].get("auid") == 0:
        return "fields.auid = 0 but interp.auid = \"unset\" (from auid#2), interp = %r" % (
            r.get("interp"),)


@case("summary-hostname-not-hex",
      ["type=USER_LOGIN msg=audit(1000.000:3): pid=1 uid=0 auid=0 ses=1 msg='op=login "
       "acct=\"x\" exe=\"/usr/sbin/sshd\" hostname=8da7ccbba3a1 addr=? terminal=ssh "
       "res=success'"],
      "linux-audit-parser-rs/src/testdata/line-software-update.txt (container hostname)",
      "hostname is never hex-encoded by libaudit (audit_log_user_message prints it as is): "
      "top-level \"hostname\": \"8da7ccbba3a1\", no \"hostname.hex\" (the record's own "
      "fields and interp already agree)")
def _(ev, err):
    e = ev[0]
    if e.get("hostname") != "8da7ccbba3a1" or "hostname.hex" in e:
        return "hostname = %r, hostname.hex = %r" % (e.get("hostname"), e.get("hostname.hex"))


@case("quoted-success",
      ['type=SYSCALL msg=audit(1000.000:4): arch=c000003e syscall=59 success="yes" exit=0'],
      "laurel/src/testdata/record-weblogic.txt (every value quoted)",
      "top-level \"success\": true (the raw field, quotes removed, is \"yes\")")
def _(ev, err):
    if ev[0].get("success") is not True:
        return "top-level success = %r (absent when success= is quoted)" % (
            ev[0].get("success", "<absent>"),)


@case("bprm-fcaps-hex-masks",
      ["type=BPRM_FCAPS msg=audit(1000.000:5): fver=0 fp=0 fi=10 fe=0 old_pp=0 old_pi=0 "
       "old_pe=0 new_pp=0000001fffffffff new_pi=0 new_pe=0000001fffffffff"],
      "go-libaudit audit-rhel7.log vs bench log: fi is \"0000000000000000\" in one, 0 in the "
      "other",
      "capability sets (fp, fi, old_p*, new_p*...) are hex masks: always strings, like "
      "cap_* (\"a field keeps one JSON type across events\")")
def _(ev, err):
    f = rec(ev)["fields"]
    nums = {k: v for k, v in f.items() if k not in ("fver", "fe") and not isinstance(v, str)}
    if nums:
        return "numbers for hex masks: %r (fi=10 means 0x10, written as decimal 10)" % nums


@case("summary-syscall-type",
      ['type=SYSCALL msg=audit(1708028025.033:10): arch=80000015 syscall=327 success=yes '
       'exit=0'],
      "laurel/src/testdata/record-bind-ipv4-bigendian.txt (ppc64)",
      "top-level \"syscall\" keeps one JSON type: a string (a name, or the number as "
      "text when the arch has no table), never a JSON number")
def _(ev, err):
    if not isinstance(ev[0].get("syscall"), str):
        return "top-level syscall = %r (%s)" % (ev[0].get("syscall"),
                                                type(ev[0].get("syscall")).__name__)


@case("sockaddr-big-endian-arch",
      ['type=SYSCALL msg=audit(1708028025.033:10): arch=80000015 syscall=327 success=yes '
       'exit=0',
       'type=SOCKADDR msg=audit(1708028025.033:10): saddr=0002D903000000000000000000000000',
       'type=PROCTITLE msg=audit(1708028025.033:10): proctitle=6E63002D6C002D70003535353535'],
      "laurel/src/testdata/record-bind-ipv4-bigendian.txt (nc -l -p 55555 on ppc64)",
      "sa_family is in the audited task's byte order (arch 0x80000015 is ppc64, big "
      "endian): family inet, addr 0.0.0.0, port 55555")
def _(ev, err):
    sa = ev[0].get("sockaddr")
    if not (isinstance(sa, dict) and sa.get("family") == "inet" and sa.get("port") == 55555):
        return "sockaddr = %r" % (sa,)


# --- tokenizer ----------------------------------------------------------------------

@case("enriched-saddr-one-value",
      ['type=SOCKADDR msg=audit(1000.000:6): saddr=01002F746D702F78'
       '\x1dSADDR={ fam=local path=/tmp/x }'],
      "linux-audit-parser-rs line-sockaddr-unix*.txt; laurel record-nscd.txt, "
      "record-anom-promiscuous.txt, record-service-start.txt",
      "enriched = {\"SADDR\": \"{ fam=local path=/tmp/x }\"}: auditd writes SADDR's "
      "value unquoted with spaces and '=' inside braces (laurel keeps it whole)")
def _(ev, err):
    en = rec(ev).get("enriched")
    if en != {"SADDR": "{ fam=local path=/tmp/x }"}:
        return "enriched = %r" % (en,)


@case("bare-word-not-glued-to-number",
      ['type=LOGIN msg=audit(1000.000:7): login pid=1 uid=0 old auid=4294967295 new auid=0'],
      "go-libaudit test2.log, audit-userspace test2.log (2007 LOGIN body)",
      "uid stays the number 0; \"old\" and \"new\" are bare words (words array), not "
      "part of the uid/auid values (libauparse: uid=0, auid=4294967295, auid=0)")
def _(ev, err):
    f = rec(ev)["fields"]
    if f.get("uid") != 0 or f.get("auid") != 4294967295:
        return "uid = %r, auid = %r, words = %r" % (f.get("uid"), f.get("auid"), f.get("words"))


@case("bare-colon-not-glued",
      ["type=USER_ACCT msg=audit(1000.000:8): user pid=1 uid=0 auid=4294967295 msg='PAM: "
       "accounting acct=root : exe=\"/usr/sbin/crond\" hostname=? addr=? terminal=cron "
       "res=success'"],
      "audit-userspace test.log/test2.log, go-libaudit test2.log (RHEL5 pam_loginuid)",
      "acct = \"root\" (libauparse and go-libaudit agree); \":\" is a bare word")
def _(ev, err):
    acct = rec(ev)["fields"].get("msg", {}).get("acct")
    if acct != "root":
        return "msg.acct = %r" % (acct,)


@case("old-pam-parenthesized-fields",
      ["type=USER_START msg=audit(1000.000:9): user pid=1 uid=0 auid=0 msg='PAM: session "
       "open acct=root : exe=\"/usr/sbin/crond\" (hostname=?, addr=?, terminal=cron "
       "res=success)'"],
      "audit-userspace test.log/test2.log (auparse_test.ref), go-libaudit test2.log",
      "fields hostname=\"?\", addr=\"?\", res=\"success\" as libauparse reads them "
      "(it drops the '(' ',' ')' of this old format), and top-level success: true")
def _(ev, err):
    m = rec(ev)["fields"].get("msg", {})
    bad = {k: m.get(k) for k in ("hostname", "addr", "res")
           if m.get(k) != {"hostname": "?", "addr": "?", "res": "success"}[k]}
    if bad or ev[0].get("success") is not True:
        return "msg fields %r (keys %r), top-level success = %r" % (
            bad, sorted(m), ev[0].get("success"))


# --- reassembly / loss accounting ---------------------------------------------------

@case("login-stays-with-its-syscall",
      ['type=LOGIN msg=audit(1170021601.343:296): pid=2288 uid=0 subj=system_u:system_r:init_t:s0 '
       'old-auid=4294967295 auid=42 tty=(none) old-ses=4294967295 ses=1 res=1',
       'type=SYSCALL msg=audit(1170021601.343:296): arch=c000003e syscall=1 success=yes exit=2 '
       'a0=8 a1=7fffa7aede20 a2=2 a3=0 items=0 ppid=1 pid=2288 auid=42 uid=0 ses=1 '
       'comm="(systemd)" exe="/usr/lib/systemd/systemd"',
       'type=PROCTITLE msg=audit(1170021601.343:296): proctitle="(systemd)"'],
      "audit-userspace test.log (auparse_test.ref Tests 4, 5, 10); laurel record-login.txt",
      "one event LOGIN,SYSCALL,PROCTITLE: the kernel writes LOGIN inside the syscall's "
      "context; current libauparse (audit_is_last_record in audit-userspace "
      "common/common.c: type > AUDIT_LOGIN && type < AUDIT_FIRST_EVENT) and laurel keep "
      "it; libauparse 3.0.9 (Debian 12, the peers/conformance-auparse oracle) still "
      "splits it")
def _(ev, err):
    groups = [[r["type"] for r in e["records"]] for e in ev]
    if groups != [["LOGIN", "SYSCALL", "PROCTITLE"]]:
        return "events %r" % (groups,)


def user_end(serial):
    return "type=USER_END msg=audit(1000.000:%d): pid=1 uid=0 res=success" % serial


def losses(ev):
    return [e["loss"] for e in ev if e.get("type") == "AUDITRELAY_LOST"]


@case("gap-reported-before-restart",
      [user_end(1), user_end(3), user_end(1000000)],
      "go-libaudit audit-rhel7.log (a gap, then a jump > 65536 treated as a restart)",
      "serial 2 never arrived: 1 serial lost, whether the stream then ends or restarts "
      "(with only serials 1 and 3 the summary does say 1 lost)")
def _(ev, err):
    m = re.search(r"(\d+) serial gaps \((\d+) serials lost\)", err)
    if not m or m.group(2) != "1":
        return "summary: %s; loss events %r" % (m.group(0) if m else err.strip(), losses(ev))


@case("one-gap-one-loss-event",
      [user_end(1), user_end(5000)],
      "go-libaudit audit-rhel7.log, audit-ubuntu16.log (gap events of 4095 after an "
      "unseen serial)",
      "one loss event {count: 4998, after_serial: 1} for the one run of missing serials "
      "2..4999; after_serial is a serial that arrived")
def _(ev, err):
    ls = losses(ev)
    if ls != [{"kind": "serial_gap", "count": 4998, "after_serial": 1}]:
        return "loss events %r" % (ls,)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    auditrelay = argv[1]
    only = set(argv[2:])
    failed = 0
    for c in CASES:
        if only and c["name"] not in only:
            continue
        data = ("\n".join(c["lines"]) + "\n").encode()
        p = subprocess.run([auditrelay, "replay", "-n", "--no-progress", "-"], input=data,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = p.stderr.decode("utf-8", errors="replace")
        try:
            events = [json.loads(l) for l in p.stdout.decode("utf-8").splitlines()]
            actual = c["check"](events, err) if events else "no event on stdout: " + err
        except (ValueError, KeyError, IndexError, TypeError) as e:
            actual = "unexpected output (%s): %s" % (e, p.stdout.decode(errors="replace"))
        if actual is None:
            print("ok   %s" % c["name"])
            continue
        failed += 1
        print("FAIL %s\n  input:    %s\n  seen in:  %s\n  expected: %s\n  actual:   %s" % (
            c["name"], "\n            ".join(l.replace("\x1d", "\\x1d") for l in c["lines"]),
            c["where"], c["expected"], actual))
    print("%d cases, %d failed" % (len(CASES) if not only else len(only), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
