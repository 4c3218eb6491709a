"""Made-up audit logs for the replay tests: events of four records (SYSCALL, CWD,
PATH, EOE) in the kernel's layout, a serial each, sized as asked."""


def event_lines(serial, path_len=40):
    stamp = "audit(1700000000.%03d:%d)" % (serial % 1000, serial)
    name = ("/var/lib/x/%d/" % serial).ljust(path_len, "y")
    return ("type=SYSCALL msg=%s: arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c "
            "a1=7ffd1 a2=0 a3=0 items=1 ppid=1 pid=%d auid=1000 uid=0 gid=0 euid=0 suid=0 "
            "fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"cat\" exe=\"/usr/bin/cat\" "
            "key=(null)\n"
            "type=CWD msg=%s: cwd=\"/root\"\n"
            "type=PATH msg=%s: item=0 name=\"%s\" inode=42 dev=08:01 mode=0100644 ouid=0 "
            "ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0\n"
            "type=EOE msg=%s: \n") % (stamp, 1000 + serial % 30000, stamp, stamp, name, stamp)


def write_log(path, size):
    serial = 1
    with open(path, "w") as f:
        while f.tell() < size:
            f.write(event_lines(serial))
            serial += 1
    return serial - 1
