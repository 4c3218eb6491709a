#!/usr/bin/env python3
"""How replay reads its files. A regular file is mapped a window (2 MiB) at a time;
a pipe is read(2) into a buffer. The two must give the same events and counts:

- a 10 MiB log, whose lines cross window boundaries, read as a file and from a pipe;
- a 6 MiB line (longer than a window: kept) and a 40 MiB line (longer than 16 MiB:
  skipped and counted as too long), both ways;
- a file cut shorter (truncate, logrotate's copytruncate) while it is mapped: the
  vanished pages fault (SIGBUS). The replay must not die of it: it writes every
  event whose lines were before the cut, says where the file was cut, exits 1.

Usage: test_input.py AUDITRELAY"""
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import check, failures  # noqa: E402
from replay.loggen import event_lines, write_log  # noqa: E402

BIN = sys.argv[1]


def replay(args, stdin=subprocess.DEVNULL):
    return subprocess.run([BIN, "replay", "-n", "--no-progress"] + args, stdin=stdin,
                          capture_output=True, timeout=120)


def summary(stderr):
    return [l for l in stderr.decode().splitlines() if "events," in l or "too long" in l]


def file_and_pipe_agree(path, what):
    by_file = replay(["--threads", "0", path])
    with open(path, "rb") as f:
        by_pipe = replay(["--threads", "0", "-"], stdin=f)
    check(by_file.returncode == by_pipe.returncode,
          "%s: exit %d from the file, %d from a pipe" % (what, by_file.returncode,
                                                         by_pipe.returncode))
    check(by_file.stdout == by_pipe.stdout,
          "%s: the file's events differ from the pipe's (%d and %d bytes)" %
          (what, len(by_file.stdout), len(by_pipe.stdout)))
    check(summary(by_file.stderr) == summary(by_pipe.stderr),
          "%s: summaries differ: %s / %s" % (what, summary(by_file.stderr),
                                              summary(by_pipe.stderr)))
    return by_file


def case_windows(tmp):
    path = os.path.join(tmp, "big.log")
    n = write_log(path, 10 << 20)
    r = file_and_pipe_agree(path, "10 MiB log")
    events = r.stdout.count(b"\n")
    check(events == n, "10 MiB log: %d events of %d" % (events, n))
    print("10 MiB log: %d events, the same from the file and a pipe" % events)


def case_long_lines(tmp):
    path = os.path.join(tmp, "long.log")
    with open(path, "w") as f:
        f.write(event_lines(1))
        # A 6 MiB PATH name: longer than a window, shorter than the 16 MiB cap.
        f.write(event_lines(2, path_len=6 << 20))
        f.write(event_lines(3))
        f.write("type=USER_CMD msg=audit(1700000000.004:4): cmd=" + "41" * (20 << 20) + "\n")
        f.write(event_lines(5))
    r = file_and_pipe_agree(path, "long lines")
    events = [json.loads(l) for l in r.stdout.splitlines()]
    serials = [e["serial"] for e in events if e["type"] != "AUDITRELAY_LOST"]
    check(serials == [1, 2, 3, 5], "long lines: serials %s" % serials)
    # The skipped line's serial is a gap.
    check([e["loss"]["after_serial"] for e in events if e["type"] == "AUDITRELAY_LOST"] == [3],
          "long lines: no gap reported after serial 3")
    check(any("1 lines too long" in l for l in summary(r.stderr)),
          "long lines: the 40 MiB line is not counted: %s" % summary(r.stderr))
    print("long lines: the 6 MiB one kept, the 40 MiB one counted as too long, both ways")


def case_cut_while_mapped(tmp):
    """The replay waits on its output (a pipe nobody reads yet) inside the first
    window; the file is cut behind it; then the pipe is read to the end."""
    path = os.path.join(tmp, "cut.log")
    write_log(path, 3 << 20)
    cut = 2_000_000
    with open(path, "rb") as f:
        head = f.read(cut)
    complete = head[:head.rindex(b"\n") + 1].decode()
    want = sorted({int(l.split(":", 1)[1].split(")")[0]) for l in complete.splitlines()})
    p = subprocess.Popen([BIN, "replay", "-n", "--no-progress", "--threads", "0",
                          "--max-memory", "256k", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        # The writer is held up once the pipe is full; give the reader time to fill
        # the queue behind it and wait.
        deadline = time.time() + 20
        buf = bytearray(4)
        while time.time() < deadline:
            fcntl.ioctl(p.stdout.fileno(), termios.FIONREAD, buf)
            if int.from_bytes(buf, sys.byteorder) >= 65536:
                break
            time.sleep(0.02)
        time.sleep(0.5)
        check(p.poll() is None, "cut: the replay did not wait for its output")
        os.truncate(path, cut)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = err.decode()
    check(p.returncode != -signal.SIGBUS, "cut: the replay died of SIGBUS")
    check(p.returncode == 1, "cut: exit %s, not 1: %s" % (p.returncode, err[-500:]))
    check("was cut to %d bytes while it was read" % cut in err,
          "cut: no word of the cut: %s" % err[-500:])
    got = sorted({json.loads(l)["serial"] for l in out.splitlines()})
    check(got == want, "cut: %d events written, %d wanted (first missing: %s)" %
          (len(got), len(want), sorted(set(want) - set(got))[:3]))
    print("cut at %d bytes while mapped: %d events before the cut, exit %d" %
          (cut, len(got), p.returncode))


with tempfile.TemporaryDirectory() as tmp:
    for case in (case_windows, case_long_lines, case_cut_while_mapped):
        case(tmp)
if failures:
    print("%d failures" % len(failures))
    sys.exit(1)
print("all replay input cases passed")
