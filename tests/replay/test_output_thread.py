#!/usr/bin/env python3
"""Who writes a replay's output. An output whose writes never wait on a reader (a
regular file, /dev/null) is written by the thread that hands the lines out (the
reading thread with --threads 0, else the encoding threads, one at a time); one that
may (a pipe, a socket, a terminal) keeps its writer thread, so that Ctrl-C is never
stuck behind a reader. Checked:

- the same bytes every way: stdout a pipe, stdout a file, -o file:, and with the
  default threads;
- the threads: with its input a FIFO held open, the replay runs one thread fewer with
  stdout a file than with stdout a pipe, with --threads 0 and 1;
- a write that fails hands over to the writer thread: -o file: on a full tmpfs
  (root) is retried, and once room is made every line is in the file once, in order,
  with --threads 0 and 2;
- stdout that fails for good (/dev/full) exits 1 with its lines counted as not
  delivered, also when the failure comes after the last lines were handed over (a
  small log: the replay exited 0 before).

Usage: test_output_thread.py AUDITRELAY"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import check, failures  # noqa: E402
from replay.loggen import event_lines, write_log  # noqa: E402

BIN = sys.argv[1]
REPLAY = [BIN, "replay", "-n", "--no-progress"]


def run(args, stdout, timeout=120):
    return subprocess.run(REPLAY + args, stdin=subprocess.DEVNULL, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=timeout)


def same_bytes_every_way(tmp):
    log = os.path.join(tmp, "in.log")
    n = write_log(log, 6 << 20)
    piped = run(["--threads", "0", log], subprocess.PIPE)
    check(piped.returncode == 0, f"stdout a pipe: exit {piped.returncode}")
    want = piped.stdout
    lines = want.count(b"\n")
    check(lines == n, f"stdout a pipe: {lines} lines for {n} events")
    ways = {}
    out = os.path.join(tmp, "stdout.json")
    with open(out, "wb") as f:
        ways["stdout a file"] = (run(["--threads", "0", log], f), out)
    ways["-o file:"] = (run(["--threads", "0", "-o", "file:" + os.path.join(tmp, "o.json"),
                             log], subprocess.DEVNULL), os.path.join(tmp, "o.json"))
    out = os.path.join(tmp, "threads.json")
    with open(out, "wb") as f:
        ways["default threads, stdout a file"] = (run([log], f), out)
    for what, (r, path) in ways.items():
        with open(path, "rb") as f:
            got = f.read()
        check(r.returncode == 0 and got == want,
              f"{what}: exit {r.returncode}, {len(got)} bytes, the same as a pipe's: "
              f"{got == want}")
    null = run(["--threads", "0", log], subprocess.DEVNULL)
    check(null.returncode == 0 and f"{n} events".encode() in null.stderr,
          f"stdout /dev/null: exit {null.returncode}, {n} events counted")
    print(f"{n} events: the same {len(want)} bytes through a pipe, a file, -o file: and the "
          f"default threads")


def threads_while_reading(tmp, stdout_is_file, threads):
    """The replay's thread count while it waits for more of its input (a FIFO)."""
    fifo = os.path.join(tmp, "in.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    out = open(os.path.join(tmp, "fifo.json"), "wb") if stdout_is_file else subprocess.PIPE
    p = subprocess.Popen(REPLAY + ["--threads", threads, fifo], stdin=subprocess.DEVNULL,
                         stdout=out, stderr=subprocess.DEVNULL)
    try:
        with open(fifo, "w") as w:
            w.write("".join(event_lines(s) for s in range(1, 200)))
            w.flush()
            time.sleep(0.5)
            count = len(os.listdir(f"/proc/{p.pid}/task"))
        if stdout_is_file:
            p.wait(timeout=30)
        else:
            p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if stdout_is_file:
            out.close()
    check(p.returncode == 0, f"FIFO input: exit {p.returncode}")
    return count


def one_thread_fewer(tmp):
    for threads in ("0", "1"):
        to_file = threads_while_reading(tmp, True, threads)
        to_pipe = threads_while_reading(tmp, False, threads)
        check(to_file == to_pipe - 1,
              f"--threads {threads}, threads while reading: {to_file} with stdout a file, "
              f"{to_pipe} with a pipe (one fewer with a file)")
        print(f"--threads {threads}, threads while reading: {to_file} writing a file, "
              f"{to_pipe} writing a pipe")


def full_disk_hands_over(tmp, threads):
    if os.geteuid() != 0:
        print("SKIP full file system: needs root (mount tmpfs)")
        return
    log = os.path.join(tmp, "disk.log")
    n = write_log(log, 3 << 20)
    want = run(["--threads", "0", log], subprocess.PIPE).stdout
    mnt = os.path.join(tmp, "small" + threads)
    os.mkdir(mnt)
    # Room for all of the output and a filler that leaves room for half of it.
    size_kib = (len(want) + (1 << 20)) // 1024
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "ar-test", mnt],
                       capture_output=True)
    if r.returncode != 0:
        print("SKIP full file system: cannot mount tmpfs: " + r.stderr.decode().strip())
        return
    p = None
    try:
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (size_kib * 1024 - len(want) // 2))
        out = os.path.join(mnt, "out.json")
        err_path = os.path.join(tmp, "disk.err")
        with open(err_path, "wb") as err:
            p = subprocess.Popen(REPLAY + ["--threads", threads, "-o", "file:" + out, log],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err)
        deadline = time.monotonic() + 30
        said = b""
        while p.poll() is None and b"retrying" not in said and time.monotonic() < deadline:
            time.sleep(0.05)
            with open(err_path, "rb") as f:
                said = f.read()
        check(p.poll() is None and b"No space left on device" in said,
              f"a full file system: the replay waits and says why ({said[-200:]!r})")
        os.unlink(filler)
        p.wait(timeout=60)
        with open(out, "rb") as f:
            got = f.read()
        check(p.returncode == 0, f"room made: exit {p.returncode}")
        lines = got.count(b"\n")
        check(got == want, f"room made: {lines} of {n} lines, the same bytes as without the "
                           f"full disk: {got == want}")
        print(f"--threads {threads}, a full tmpfs: the write failed, the writer thread "
              f"retried, then all {n} lines arrived once, in order")
    finally:
        if p and p.poll() is None:
            p.kill()
            p.wait()
        subprocess.run(["umount", mnt])


def failed_stdout_exits_1(tmp):
    log = os.path.join(tmp, "small.log")
    with open(log, "w") as f:
        f.write("".join(event_lines(s) for s in range(1, 8)))
    for threads in ("0", "1"):
        with open("/dev/full", "wb") as full:
            r = run(["--threads", threads, log], full)
        said = r.stderr.decode()
        # "output failed: ...", said when the pipeline hands lines to a failed output,
        # else at the end; in the first case its line about the drops is dropped too.
        m = re.search(r"output stdout: 0 bytes sent, (\d+) lines dropped", said)
        check(r.returncode == 1 and "output failed" in said and m and int(m.group(1)) >= 7 and
              "No space left on device" in said,
              f"--threads {threads}, stdout /dev/full: exit {r.returncode}, {said!r}")
    print("stdout /dev/full: exit 1, the 7 lines counted as not delivered")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        same_bytes_every_way(tmp)
        one_thread_fewer(tmp)
        full_disk_hands_over(tmp, "0")
        full_disk_hands_over(tmp, "2")
        failed_stdout_exits_1(tmp)
    if failures:
        print(f"{len(failures)} checks failed")
        return 1
    print("all output thread cases passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
