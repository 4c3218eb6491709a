"""A stand-in for systemd's side of sd_notify(3): a datagram socket that collects
what the service sends, and a collector started against it. Shared by
test_notify.py and test_install.py."""
import os
import signal
import socket
import subprocess
import time


class Notify:
    def __init__(self, tmp):
        self.path = os.path.join(tmp, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # (monotonic time, {KEY: value})

    def close(self):
        self.sock.close()

    def poll(self, timeout):
        """Receives for up to `timeout` seconds; returns the new messages."""
        new = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return new
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return new
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            new.append((time.monotonic(), fields))
            self.messages.append(new[-1])

    def wait_for(self, key, timeout, proc=None):
        """The first message with `key` within `timeout` s, or None (also when proc ends)."""
        deadline = time.monotonic() + timeout
        for _, m in self.messages:
            if key in m:
                return m
        while time.monotonic() < deadline:
            for _, m in self.poll(0.1):
                if key in m:
                    return m
            if proc is not None and proc.poll() is not None:
                return None
        return None


def multicast_unavailable(stderr):
    """True when the machine cannot give this collector the multicast group."""
    return any(s in stderr for s in ("cannot open the kernel audit socket",
                                     "Protocol not supported", "Operation not permitted"))


def start(cmd, notify, tmp, env_extra=None, prefix=()):
    env = dict(os.environ)
    env.pop("WATCHDOG_USEC", None)
    env.pop("WATCHDOG_PID", None)
    env["NOTIFY_SOCKET"] = notify.path
    # A state file of its own: a multicast run reads the shared one at start-up to
    # clean up after a dead run, and a live test's collector may be using it.
    env["AUDITRELAY_STATE_FILE"] = os.path.join(tmp, "auditrelay.state")
    env.update(env_extra or {})
    # O_APPEND: the collector's writes and stderr_of's seek(0) share one offset.
    errf = open(os.path.join(tmp, "stderr"), "a+")
    proc = subprocess.Popen(list(prefix) + cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=errf, env=env)
    proc.errf = errf
    return proc


def stderr_of(proc):
    proc.errf.flush()
    proc.errf.seek(0)
    return proc.errf.read()


def wait_stderr(proc, text, timeout):
    """True once `text` is on proc's stderr; False after `timeout` s or its exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in stderr_of(proc):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def stop(proc, timeout=20):
    """SIGTERM and wait; returns the exit status (killed: -9)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return -9
    return proc.returncode
