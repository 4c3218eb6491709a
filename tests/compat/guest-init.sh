#!/bin/sh
# /init of the compatibility lab's guest (tests/compat/lab.py builds the image): mounts
# the kernel's filesystems, runs each check of /lab/checks (a case or more of the
# host's live tests, unchanged) with a bounded time, prints its output and result on
# the serial console, and powers off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8
# TCG runs the guest about 10x slower than the host: waits that assume the host's
# speed are stretched (tests/live/test_tracepoint.py).
export AR_TEST_TIME_SCALE=4
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
ip link set lo up
echo "compat: kernel $(uname -r)"
# The kernel gives a process an audit context at fork only once auditing has ever
# been enabled (kernel/auditsc.c audit_alloc); the host's tests run after earlier
# runs did that, the guest's first Python process would otherwise never be audited.
# Switch it on and off again: the state the checks start from is enabled 0, as on a
# freshly booted host.
auditctl -e 1 >/dev/null && auditctl -e 0 >/dev/null

check() { # name script args...
    name=$1; shift
    echo "compat: begin $name"
    start=$(date +%s)
    timeout 150 python3 "$@" >/tmp/check.out 2>&1
    rc=$?
    sed 's/^/  /' /tmp/check.out
    took=$(( $(date +%s) - start ))
    # A check passes when its script exits 0 having run its cases (an "ok" line) and
    # skipped none.
    if [ $rc -eq 0 ] && grep -q '^ok ' /tmp/check.out && ! grep -q '^skip' /tmp/check.out; then
        echo "compat: check $name ok ${took}s"
    elif [ $rc -eq 77 ] || grep -q '^skip' /tmp/check.out; then
        echo "compat: check $name skip rc=$rc ${took}s"
    else
        echo "compat: check $name FAIL rc=$rc ${took}s"
    fi
}
. /lab/checks
echo "compat: done"
poweroff -f
