#!/usr/bin/env python3
"""The file output managed as auditd manages its log (issue 16): max_log_file with its
actions (rotate with num_logs, keep_logs, suspend, ignore), log_group and the modes
auditd gives, and the free-space watch (space_left / admin_space_left with report,
suspend and stop) on a small tmpfs filled during a run.

Each case replays the first 6 MB of the bench log with --format raw to the managed
file and to an unmanaged copy on the ordinary /tmp, and checks the managed file(s)
against the copy: what was written is exactly the copy's lines up to the point the
action says (nothing lost before a threshold), and what was not is counted.

Usage: test_logfile.py AUDITRELAY CORPORA CACHE [CASE...]   (tmpfs cases need root)
"""
import grp
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_outputs as T  # noqa: E402  (Ctx, replay, finish, bench log, run_cases)

RAW = "type="  # every raw line starts so (node= aside)


def small_input(ctx, size=6_000_000):
    """The first SIZE bytes of the bench log, whole lines."""
    path = ctx.path("input.log")
    with open(T.bench_log(), "rb") as src, open(path, "wb") as dst:
        dst.write(src.read(size).rsplit(b"\n", 1)[0] + b"\n")
    return path


def tmpfs(ctx, size):
    d = ctx.path("fs")
    os.mkdir(d)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", d],
                   check=True)
    ctx.closers.append(lambda: subprocess.run(["umount", "-l", d], check=False))
    return d


def run(ctx, spec, inp, expect_rc=0):
    copy = ctx.path("copy-%d.raw" % len(ctx.procs))
    p = T.replay(ctx, "-f", "raw", "-o", spec, "-o", "file:" + copy, inp)
    rc = T.finish(p, 120)
    err = T.stderr_of(p)
    assert rc == expect_rc, "replay exit %d, want %d: %s" % (rc, expect_rc, err[-2000:])
    return copy, err


def events_only(data):
    """The lines of auditd's format, without our loss reports (which only the copy has
    once the managed file stops taking lines)."""
    return b"".join(l for l in data.splitlines(keepends=True) if b"op=auditrelay-loss" not in l)


def dropped(err):
    m = re.search(r"file:[^ ]*fs/audit.log[^:]*: \d+ bytes sent, (\d+) lines dropped", err)
    return int(m.group(1)) if m else None


def case_logfile_rotate(ctx):
    inp = small_input(ctx)
    d = ctx.path("rot")
    os.mkdir(d)
    log = os.path.join(d, "audit.log")
    copy, _ = run(ctx, "file:%s?max_log_file=512k&max_log_file_action=rotate&num_logs=3" % log, inp)
    names = sorted(os.listdir(d))
    assert names == ["audit.log", "audit.log.1", "audit.log.2"], names
    whole = b""
    for n in ["audit.log.2", "audit.log.1", "audit.log"]:
        data = open(os.path.join(d, n), "rb").read()
        assert len(data) <= 512 << 10 and data.endswith(b"\n"), (n, len(data))
        whole += data
    want = open(copy, "rb").read()
    assert want.endswith(whole), "the 3 files are not the copy's last %d bytes" % len(whole)
    T.log("     rotate, num_logs=3: %s, each <= 512 KiB, the copy's last %d bytes" % (names, len(whole)))


def case_logfile_keep_logs(ctx):
    inp = small_input(ctx, 2_000_000)
    d = ctx.path("keep")
    os.mkdir(d)
    log = os.path.join(d, "audit.log")
    copy, _ = run(ctx, "file:%s?max_log_file=256k&max_log_file_action=keep_logs&num_logs=2" % log, inp)
    names = os.listdir(d)
    order = sorted((n for n in names if n != "audit.log"), key=lambda n: -int(n.rsplit(".", 1)[1]))
    whole = b"".join(open(os.path.join(d, n), "rb").read() for n in order + ["audit.log"])
    assert whole == open(copy, "rb").read(), "keep_logs lost or reordered lines"
    assert len(names) > 2, names
    T.log("     keep_logs (num_logs=2 ignored, as auditd): %d files, together the whole copy (%d bytes)"
          % (len(names), len(whole)))


def case_logfile_suspend_ignore(ctx):
    inp = small_input(ctx, 2_000_000)
    d = ctx.path("sus")
    os.mkdir(d)
    a, b = os.path.join(d, "suspend.log"), os.path.join(d, "ignore.log")
    copy, err = run(ctx, "file:%s?max_log_file=256k&max_log_file_action=suspend" % a, inp)
    data = open(a, "rb").read()
    want = open(copy, "rb").read()
    assert len(data) <= 256 << 10 and want.startswith(data), "suspend: not the copy's first lines"
    assert os.listdir(d) == ["suspend.log"], os.listdir(d)
    m = re.search(r"suspend.log[^:]*: \d+ bytes sent, (\d+) lines dropped", err)
    lost = int(m.group(1)) if m else -1
    assert lost == want.count(b"\n") - data.count(b"\n"), (lost, err[-800:])
    assert b"kind=output_dropped" in want, "no output_dropped report in the copy"
    copy2, _ = run(ctx, "file:%s?max_log_file=256k&max_log_file_action=ignore" % b, inp)
    assert open(b, "rb").read() == open(copy2, "rb").read(), "ignore: the file is not the copy"
    T.log("     suspend: first %d bytes kept (<= 256 KiB), %d lines dropped and counted; ignore: "
          "%d bytes, one file" % (len(data), lost, os.path.getsize(b)))


def case_logfile_group_mode(ctx):
    inp = os.path.join(T.CORPORA, "go-libaudit/auparse/testdata/audit-rhel7.log")
    d = ctx.path("grp")
    os.mkdir(d)
    adm = grp.getgrnam("adm").gr_gid
    pre = os.path.join(d, "existing.log")
    open(pre, "w").close()
    os.chmod(pre, 0o644)
    checks = []
    for name, opts, want_mode, want_gid in (
            ("default.log", "", 0o600, 0),
            ("adm.log", "?log_group=adm", 0o640, adm),
            ("root.log", "?log_group=root", 0o600, 0),
            ("existing.log", "?log_group=adm", 0o640, adm)):
        path = os.path.join(d, name)
        run(ctx, "file:" + path + opts, inp)
        st = os.stat(path)
        got = (st.st_mode & 0o7777, st.st_gid)
        assert got == (want_mode, want_gid), "%s: mode %o gid %d, want %o %d" % (
            name, got[0], got[1], want_mode, want_gid)
        checks.append("%s%s -> %o:%s" % (name, opts, got[0], grp.getgrgid(got[1]).gr_name))
    # Rotated files keep the mode auditd gives.
    rot = os.path.join(d, "rot.log")
    run(ctx, "file:%s?log_group=adm&max_log_file=4k&num_logs=3" % rot, inp)
    for n in ("rot.log", "rot.log.1"):
        st = os.stat(os.path.join(d, n))
        assert (st.st_mode & 0o7777, st.st_gid) == (0o640, adm), (n, oct(st.st_mode))
    T.log("     " + "; ".join(checks) + "; rotated files 640:adm")


def case_logfile_space(ctx):
    """A 2 MiB tmpfs filled by a 6 MB replay: space_left=1M reports, then
    admin_space_left=512k suspends; lines stop exactly at the threshold."""
    inp = small_input(ctx)
    fs = tmpfs(ctx, "2m")
    log = os.path.join(fs, "audit.log")
    copy, err = run(ctx, "file:%s?space_left=1M&space_left_action=report"
                         "&admin_space_left=512k&admin_space_left_action=suspend" % log, inp)
    data = open(log, "rb").read()
    want = open(copy, "rb").read()
    # Our loss reports (space_left, admin_space_left, output_dropped) reach the copy.
    for kind in ("space_left", "admin_space_left", "output_dropped"):
        assert b"kind=%s " % kind.encode() in want, "no %s report in the copy" % kind
    # Nothing lost before the threshold: the file is the copy's first lines (our
    # reports included, in the same places), the rest dropped and counted.
    assert want.startswith(data), "the file is not a prefix of the copy"
    free = os.statvfs(fs).f_bavail * os.statvfs(fs).f_frsize
    assert free >= 512 << 10, "suspend went past admin_space_left: %d bytes free" % free
    assert free < (512 << 10) + 65536, "suspended long before the threshold: %d bytes free" % free
    n = dropped(err)
    assert n == want.count(b"\n") - data.count(b"\n"), (n, want.count(b"\n"), data.count(b"\n"))
    assert "reaches space_left" in err and "writing suspended" in err, err[-1500:]
    assert "free space reached space_left 1 times, admin_space_left 1 times" in err, err[-800:]
    T.log("     2 MiB tmpfs: report at space_left 1M, suspended at admin_space_left 512k with "
          "%d bytes free; file = the copy's first %d bytes; %d lines dropped and counted"
          % (free, len(data), n))


def case_logfile_space_stop(ctx):
    inp = small_input(ctx)
    fs = tmpfs(ctx, "2m")
    log = os.path.join(fs, "audit.log")
    copy, err = run(ctx, "file:%s?admin_space_left=512k&admin_space_left_action=stop" % log, inp)
    data = open(log, "rb").read()
    want = open(copy, "rb").read()
    assert want.startswith(data), "the file is not a prefix of the copy"
    free = os.statvfs(fs).f_bavail * os.statvfs(fs).f_frsize
    assert (512 << 10) <= free < (512 << 10) + 65536, free
    assert "the output stops" in err, err[-1500:]
    # The replay goes on to its other output: the copy is whole.
    full = ctx.path("full.raw")
    p = T.replay(ctx, "-f", "raw", "-o", "file:" + full, inp)
    assert T.finish(p, 120) == 0
    assert events_only(open(full, "rb").read()) == events_only(want), "the copy lost lines"
    T.log("     stop at admin_space_left 512k: %d bytes written, %d free; the other output whole"
          % (len(data), free))


CASES = [case_logfile_rotate, case_logfile_keep_logs, case_logfile_suspend_ignore,
         case_logfile_group_mode, case_logfile_space, case_logfile_space_stop]

if __name__ == "__main__":
    sys.exit(T.run_cases(CASES, needs_rsyslog=set(),
                         needs_root={"case_logfile_space", "case_logfile_space_stop",
                                     "case_logfile_group_mode"},
                         doc=__doc__))
