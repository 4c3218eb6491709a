"""The audit netlink interface in Python's standard library, for the tests: list the
kernel's rules in binary form, add and delete rules, read and set the status. The
tests use it to save the machine's rules and settings before a case and to put them
back exactly afterwards, independently of the code under test (and of auditctl -D,
which would also remove rules that other programs own)."""
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import tempfile

NETLINK_AUDIT = 9
NLMSG_ERROR, NLMSG_DONE = 2, 3
AUDIT_GET, AUDIT_SET, AUDIT_LIST_RULES, AUDIT_ADD_RULE, AUDIT_DEL_RULE = 1000, 1001, 1013, 1011, 1012
NLM_F_REQUEST, NLM_F_ACK = 1, 4
RULE_HEAD = 12 + 4 * 64 * 4 + 4  # struct audit_rule_data without buf
STATUS_FIELDS = ("mask", "enabled", "failure", "pid", "rate_limit", "backlog_limit", "lost",
                 "backlog", "feature_bitmap", "backlog_wait_time", "backlog_wait_time_actual")
STATUS_MASK = {"enabled": 1, "failure": 2, "rate_limit": 8, "backlog_limit": 16,
               "backlog_wait_time": 32}
LOCK_PATH = "/run/auditrelay-live-tests.lock"


def output_file():
    """A file for a collector's stdout or stderr, read while it runs (the live tests'
    and test_live_rules'). The collector's writes share the file offset with the
    reader's seek(0): without O_APPEND, a line written between a seek(0) and its
    read() overwrote the first lines (live/procfeed lost "process feed: audit rules
    of its own", 3 of about 190 runs)."""
    f = tempfile.TemporaryFile(mode="w+")
    fcntl.fcntl(f.fileno(), fcntl.F_SETFL, fcntl.fcntl(f.fileno(), fcntl.F_GETFL) | os.O_APPEND)
    return f


class AuditError(OSError):
    pass


def exact(rule):
    """The rule without netlink's padding: the struct and buflen bytes of strings."""
    buflen = struct.unpack_from("=I", rule, RULE_HEAD - 4)[0]
    return bytes(rule[:RULE_HEAD + buflen])


class Audit:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
        self.sock.bind((0, 0))
        self.seq = os.getpid() << 8

    def close(self):
        self.sock.close()

    def _request(self, type_, payload=b"", want=None, until_done=False):
        self.seq += 1
        msg = struct.pack("=IHHII", 16 + len(payload), type_, NLM_F_REQUEST | NLM_F_ACK,
                          self.seq, 0) + payload
        msg += b"\0" * (-len(msg) % 4)
        self.sock.send(msg)
        replies, acked, done = [], False, want is None
        while not acked or not done:
            r, _, _ = select.select([self.sock], [], [], 5)
            if not r:
                raise AuditError(110, "timeout waiting for the kernel")
            data, (pid, _) = self.sock.recvfrom(1 << 20)
            if pid != 0:
                continue
            off = 0
            while off + 16 <= len(data):
                ln, typ, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                if ln < 16:
                    break
                body = data[off + 16:off + ln]
                off += (ln + 3) & ~3
                if seq != self.seq:
                    continue
                if typ == NLMSG_ERROR:
                    err = struct.unpack_from("=i", body)[0]
                    if err:
                        raise AuditError(-err, os.strerror(-err))
                    acked = True
                elif typ == NLMSG_DONE:
                    done = True
                elif typ == want:
                    replies.append(body)
                    if not until_done:
                        done = True
        return replies

    def user_message(self, type_, text):
        """Sends an AUDIT_USER_* message (bytes, any bytes): what a program with
        CAP_AUDIT_WRITE logs; the kernel records its text verbatim."""
        self._request(type_, text + b"\0")

    def rules(self):
        return [exact(r) for r in self._request(AUDIT_LIST_RULES, want=AUDIT_LIST_RULES,
                                                  until_done=True)]

    def add(self, rule):
        self._request(AUDIT_ADD_RULE, rule)

    def delete(self, rule):
        self._request(AUDIT_DEL_RULE, rule)

    def status(self):
        body = self._request(AUDIT_GET, want=AUDIT_GET)[0]
        body = body + b"\0" * (4 * len(STATUS_FIELDS) - len(body))
        return dict(zip(STATUS_FIELDS, struct.unpack_from("=%dI" % len(STATUS_FIELDS), body)))

    def set_status(self, **values):
        mask = 0
        fields = dict.fromkeys(STATUS_FIELDS, 0)
        for k, v in values.items():
            mask |= STATUS_MASK[k]
            fields[k] = v
        fields["mask"] = mask
        self._request(AUDIT_SET, struct.pack("=%dI" % len(STATUS_FIELDS),
                                             *[fields[k] for k in STATUS_FIELDS]))


def rule_list(rule):
    return struct.unpack_from("=I", rule, 0)[0] & ~0x10


class Saved:
    """The machine's audit rules and settings, put back exactly by restore()."""

    def __init__(self, audit):
        self.audit = audit
        self.rules = audit.rules()
        self.status = audit.status()

    def restore(self):
        _sigterm["restoring"] = True
        try:
            return self._restore()
        finally:
            _sigterm["restoring"] = False
            if _sigterm["pending"]:
                sys.exit(128 + signal.SIGTERM)

    def _restore(self):
        a = self.audit
        # Rules that were not there: remove (only those; others' rules stay).
        for r in a.rules():
            if r not in self.rules:
                try:
                    a.delete(r)
                except AuditError:
                    pass
        now = a.rules()
        if now != self.rules:
            # Rules missing or out of order: in each list that differs, take out the
            # saved rules from the first difference on and add them back in order.
            for lst in sorted({rule_list(r) for r in self.rules}):
                want = [r for r in self.rules if rule_list(r) == lst]
                have = [r for r in now if rule_list(r) == lst]
                i = 0
                while i < len(want) and i < len(have) and want[i] == have[i]:
                    i += 1
                for r in have[i:]:
                    try:
                        a.delete(r)
                    except AuditError:
                        pass
                for r in want[i:]:
                    try:
                        a.add(r)
                    except AuditError:
                        pass
        s = self.status
        values = {k: s[k] for k in ("failure", "rate_limit", "backlog_limit", "backlog_wait_time")}
        if s["enabled"] != 2 and a.status()["enabled"] != 2:
            values["enabled"] = s["enabled"]
        # Never send failure 2 (panic) from a test, even to put it back.
        if values["failure"] == 2:
            del values["failure"]
        a.set_status(**values)
        return a.rules() == self.rules


_sigterm = {"restoring": False, "pending": False}


def _on_sigterm(*_):
    """Exit through the `finally` blocks, once; a restore under way finishes first."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _sigterm["restoring"]:
        _sigterm["pending"] = True
        return
    sys.exit(128 + signal.SIGTERM)


def lock(refork=True):
    """The machine-wide lock that every test touching the audit state takes. From
    then on SIGTERM (meson's timeout, a stopped CI job) unwinds through the callers'
    `finally` blocks, which put the rules and settings back: Python's default for
    SIGTERM is to die without running them (a killed rules test left 35 rules that
    hid every later test's events). Where audit may never have been on since boot,
    the caller goes on in a child forked after switching it on and off (REFORK, for a
    script's main before it starts threads or peers); a caller that cannot be forked
    runs its workloads in child processes instead."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    f = open(LOCK_PATH, "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    if refork and _prime_audit():
        _go_on_in_child()
    return f


def _prime_audit():
    """The kernel gives a process an audit context at fork, and only once auditing has
    been on since boot (kernel/auditsc.c audit_alloc): a process forked before that
    never produces syscall records. On a freshly booted machine whose audit is off,
    the test process itself would be such a process, and a case whose workload runs in
    it would see none of its events (CI's first live test on a new VM did). Switches
    audit on and off again unless it is on, or on from boot (audit=1); True when it did."""
    try:
        with open("/proc/cmdline") as c:
            if "audit=1" in c.read().split():
                return False
        a = Audit()
        try:
            enabled = a.status()["enabled"]
            if enabled != 0:
                return False
            a.set_status(enabled=1)
            a.set_status(enabled=0)
        finally:
            a.close()
    except OSError:
        return False  # no audit here: the callers skip
    return True


def _go_on_in_child():
    """Goes on in a child forked now (it has an audit context); this process waits for
    it, passes SIGTERM and SIGINT on, and exits with its status."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _: os.kill(pid, s))
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)
