#!/usr/bin/env python3
"""sd_notify as the unit's Type=notify and WatchdogSec= use it, against a stand-in for
systemd's notification socket: READY=1 with a STATUS= line once collecting, WATCHDOG=1
at half of $WATCHDOG_USEC from the event loop (none without $WATCHDOG_USEC or when
$WATCHDOG_PID is another process), STOPPING=1 on SIGTERM; nothing for a replay.
libsystemd is opened only then (src/notify.c): the same under --seccomp (opened
after the filter is on); and where it cannot be opened (an empty file mounted over
it in a mount namespace of the collector's own), a line on stderr says so, nothing
is sent, and the collector runs and stops as usual.

The collector reads the multicast group (read only, no rules: no machine-global state
changes). Usage: test_notify.py AUDITRELAY FIXTURE  (exit 77 when the build has no
libsystemd or the multicast group cannot be read here)."""
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import notify as nt  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import checks  # noqa: E402
from checks import check, failures  # noqa: E402
checks.say_ok = True

BIN = os.path.abspath(sys.argv[1])
FIXTURE = sys.argv[2]
SKIP = 77


def collector(tmp, *args):
    return [BIN, "run", "--config", "/dev/null", "--source", "multicast", "--no-rules",
            "-o", "file:" + os.path.join(tmp, "events.json"), *args]


def run_case(name, env_extra, watch_s, args=()):
    """Starts the collector, waits for READY, listens `watch_s` s, stops it. Returns
    the WATCHDOG=1 times, or None when the multicast group (or --seccomp) is not
    available."""
    with tempfile.TemporaryDirectory() as tmp:
        n = nt.Notify(tmp)
        proc = nt.start(collector(tmp, *args), n, tmp, env_extra)
        try:
            ready = n.wait_for("READY", 15, proc)
            if ready is None:
                err = nt.stderr_of(proc)
                if nt.multicast_unavailable(err) or "this build has no libseccomp" in err:
                    print(f"skip {name}: {err.strip()}")
                    return None
                check(False, f"{name}: READY=1 within 15 s (stderr: {err.strip()})")
                return []
            check(ready.get("READY") == "1", f"{name}: READY=1")
            check(ready.get("STATUS", "").startswith("collecting: multicast source, 1 output"),
                  f"{name}: STATUS= with READY ({ready.get('STATUS')!r})")
            t0 = time.monotonic()
            n.poll(watch_s)
            dogs = [t for t, m in n.messages if m.get("WATCHDOG") == "1" and t >= t0]
            rc = nt.stop(proc)
            stopping = n.wait_for("STOPPING", 5)
            check(stopping is not None and stopping.get("STOPPING") == "1",
                  f"{name}: STOPPING=1 after SIGTERM")
            check(rc == 0, f"{name}: exit status 0 after SIGTERM (got {rc})")
            return dogs
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            n.close()


def loaded_path(soname):
    """The file the dynamic loader maps for soname (here, in this process; the
    soname's link resolved: libsystemd.so.0.35.0)."""
    ctypes.CDLL(soname)
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if os.path.basename(path).startswith(soname):
                return path
    return None


def case_no_libsystemd():
    """$NOTIFY_SOCKET set and libsystemd.so.0 not loadable: an empty file is mounted
    over it in a mount namespace of the collector's own (unshare -m: private, gone
    with the process). The collector says so on stderr, sends nothing, and runs and
    stops as it would without systemd."""
    try:
        lib = loaded_path("libsystemd.so.0")
    except OSError:
        lib = None
    if os.geteuid() != 0 or not lib or not shutil.which("unshare"):
        print("skip no-libsystemd: needs root, unshare and libsystemd.so.0")
        return
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.so")
        open(empty, "w").close()
        n = nt.Notify(tmp)
        hide = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$1" && shift && exec "$@"',
                empty, lib]
        proc = nt.start(collector(tmp), n, tmp, prefix=hide)
        try:
            said = nt.wait_stderr(proc, "libsystemd cannot be loaded", 15)
            err = nt.stderr_of(proc)
            if not said and nt.multicast_unavailable(err):
                print(f"skip no-libsystemd: {err.strip()}")
                return
            check(said and "$NOTIFY_SOCKET is set" in err and "goes on without them" in err,
                  f"no-libsystemd: said on stderr ({err.strip()[-300:]})")
            n.poll(0.5)
            check(proc.poll() is None, "no-libsystemd: the collector runs on")
            rc = nt.stop(proc)
            n.poll(0.3)
            check(rc == 0, f"no-libsystemd: exit status 0 after SIGTERM (got {rc})")
            check(n.messages == [], f"no-libsystemd: no notification sent ({n.messages})")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            n.close()


def main():
    if len(sys.argv) > 3 and sys.argv[3] == "no-systemd":
        print("skip: built without libsystemd (-Dsystemd=disabled)")
        return SKIP
    # 400 ms watchdog: a ping every 200 ms.
    dogs = run_case("watchdog", {"WATCHDOG_USEC": "400000"}, 1.5)
    if dogs is None:
        return SKIP
    check(5 <= len(dogs) <= 9, f"watchdog: 5-9 WATCHDOG=1 in 1.5 s at 400 ms (got {len(dogs)})")
    gaps = [b - a for a, b in zip(dogs, dogs[1:])]
    check(bool(gaps) and max(gaps) < 0.4,
          f"watchdog: pings less than WatchdogSec apart (max gap {max(gaps, default=0):.3f} s)")
    dogs = run_case("watchdog-pid-other", {"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"}, 0.8)
    check(dogs == [], "watchdog-pid-other: no WATCHDOG=1 when $WATCHDOG_PID is not ours")
    dogs = run_case("no-watchdog", {}, 0.8)
    check(dogs == [], "no-watchdog: no WATCHDOG=1 without $WATCHDOG_USEC")
    # libsystemd is opened at READY, after the system call filter went on.
    dogs = run_case("seccomp", {"WATCHDOG_USEC": "400000"}, 0.8, ["--seccomp"])
    check(dogs is None or len(dogs) >= 2, f"seccomp: WATCHDOG=1 under --seccomp ({dogs})")
    case_no_libsystemd()
    # A replay is not a service: no READY, nothing at all.
    with tempfile.TemporaryDirectory() as tmp:
        n = nt.Notify(tmp)
        env = dict(os.environ, NOTIFY_SOCKET=n.path, WATCHDOG_USEC="100000")
        r = subprocess.run([BIN, "replay", "-q", FIXTURE], env=env, stdout=subprocess.DEVNULL)
        check(r.returncode == 0, "replay: exit status 0")
        check(n.poll(0.3) == [], "replay: sends no notification")
        n.close()
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
