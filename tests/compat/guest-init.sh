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
# Audit has never been on since this boot, as on a freshly booted CI machine: the
# checks' Python processes get no audit context at fork until something switches it on
# (kernel/auditsc.c audit_alloc); tests/rules/auditnl.py's lock() deals with that.

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
