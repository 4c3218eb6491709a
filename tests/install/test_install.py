#!/usr/bin/env python3
"""`meson install --destdir` and the installed product: the binary, every man page,
the commented default configuration, the shipped rules where the binary looks for
them, and the systemd units. Then, with the installed files:
  - `auditrelay config check` accepts the installed configuration (and with every
    key uncommented); `auditrelay rules check` accepts the installed rules;
  - the installed binary replays a fixture;
  - `systemd-analyze verify` (Debian's systemd) accepts both units with nothing to
    say: it exits 0 even on unknown directives, so any output is a failure (the
    units' ExecStart is pointed at the destdir's binary, MANPATH at its man pages so
    that Documentation= is checked too);
  - each unit's start-up as far as it can be without systemd: the installed binary
    with the installed configuration under the unit's CapabilityBoundingSet= and
    NoNewPrivileges= (setpriv), reading the multicast group (read only: the slot,
    settings and rules of the machine are not touched), reaches READY=1 on a
    notification socket, drops its capabilities, and stops on SIGTERM.
Usage: test_install.py BUILD_DIR SOURCE_DIR FIXTURE systemd|no-systemd"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import notify as nt  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import checks  # noqa: E402
from checks import check, failures  # noqa: E402
checks.say_ok = True

BUILD, SRC, FIXTURE, WITH_SYSTEMD = sys.argv[1:5]
WITH_SYSTEMD = WITH_SYSTEMD == "systemd"


def find(root, pattern):
    """Paths under root whose path relative to root matches the regex."""
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if re.search(pattern, os.path.relpath(p, root)):
                out.append(p)
    return sorted(out)


def unit_values(path, key):
    vals = []
    for line in open(path, encoding="utf-8"):
        if line.startswith(key + "="):
            vals.append(line.rstrip("\n").split("=", 1)[1])
    return vals


def verify_units(dest, units, bindir_abs, mandir):
    """systemd-analyze verify on copies whose ExecStart is the destdir's binary."""
    sa = shutil.which("systemd-analyze")
    if not check(sa is not None, "systemd-analyze is installed (Debian's systemd)"):
        return
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for u in units:
            text = open(u, encoding="utf-8").read()
            text = text.replace("ExecStart=" + bindir_abs, "ExecStart=" + dest + bindir_abs)
            c = os.path.join(tmp, os.path.basename(u))
            open(c, "w", encoding="utf-8").write(text)
            copies.append(c)
        env = dict(os.environ, MANPATH=mandir, SYSTEMD_LOG_COLOR="0")
        r = subprocess.run([sa, "verify"] + copies, capture_output=True, text=True, env=env)
        said = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not said,
              f"systemd-analyze verify {' '.join(map(os.path.basename, units))}: "
              f"exit 0, nothing said (got {r.returncode}: {said!r})")


CAP_NAMES = {"CAP_AUDIT_CONTROL": 30, "CAP_AUDIT_READ": 37, "CAP_NET_ADMIN": 12, "CAP_KILL": 5,
             "CAP_BPF": 39, "CAP_PERFMON": 38, "CAP_SYS_ADMIN": 21, "CAP_SYS_PTRACE": 19,
             "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_SETPCAP": 8,
             "CAP_SETUID": 7, "CAP_SETGID": 6}


def start_like_unit(unit, binary, conf, tmp):
    """The unit's ExecStart arguments, bounding set and NoNewPrivileges=, via setpriv."""
    name = os.path.basename(unit)
    caps = " ".join(unit_values(unit, "CapabilityBoundingSet")).split()
    if not check(caps and all(c in CAP_NAMES for c in caps),
                 f"{name}: CapabilityBoundingSet= names known capabilities ({caps})"):
        return
    nnp = unit_values(unit, "NoNewPrivileges") == ["yes"]
    check(nnp, f"{name}: NoNewPrivileges=yes")
    execstart = unit_values(unit, "ExecStart")[0].split()
    prefix = ["setpriv", "--bounding-set", "-all," + ",".join("+" + c[4:].lower() for c in caps),
              "--inh-caps", "-all"] + (["--no-new-privs"] if nnp else [])
    # Multicast and no rules whatever the unit says: a test must not take the slot.
    cmd = [binary] + execstart[1:] + ["--config", conf, "--source", "multicast", "--no-rules",
                                       "-o", "file:" + os.path.join(tmp, "events.json")]
    n = nt.Notify(tmp)
    proc = nt.start(cmd, n, tmp, {"WATCHDOG_USEC": "2000000"}, prefix)
    try:
        if WITH_SYSTEMD:
            ready = n.wait_for("READY", 15, proc)
        else:
            # No notification without libsystemd: the line said after the drop.
            ready = nt.wait_stderr(proc, "capabilities kept", 15)
        err = nt.stderr_of(proc)
        if not ready and nt.multicast_unavailable(err):
            print(f"skip {name} start-up: the multicast group is not available here: {err.strip()}")
            return
        if not check(bool(ready), f"{name}: started (READY=1 with libsystemd) under its bounding set "
                                          f"(stderr: {err.strip()!r})"):
            return
        with open(f"/proc/{proc.pid}/status") as f:
            status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        bnd = int(status["CapBnd"], 16)
        allowed = sum(1 << CAP_NAMES[c] for c in caps)
        prm = int(status["CapPrm"], 16)
        check(bnd & ~allowed == 0, f"{name}: bounding set within the unit's (CapBnd {bnd:#x})")
        # Dropping from the bounding set needs CAP_SETPCAP: without it in the unit,
        # libcap-ng leaves the bounding set as it was and says nothing.
        check(bnd == prm, f"{name}: bounding set cut down to what is kept "
                          f"(CapBnd {bnd:#x}, CapPrm {prm:#x})")
        check("cannot drop capabilities" not in err and "capabilities kept" in err,
              f"{name}: drops its capabilities under the unit's bounding set "
              f"(stderr: {err.strip()!r})")
        rc = nt.stop(proc)
        check(rc == 0, f"{name}: exit status 0 after SIGTERM (got {rc})")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        n.close()


def main():
    meson = shutil.which("meson")
    with tempfile.TemporaryDirectory() as dest:
        r = subprocess.run([meson, "install", "-C", BUILD, "--destdir", dest, "--no-rebuild",
                            "--quiet"], capture_output=True, text=True)
        if not check(r.returncode == 0, f"meson install --destdir (got {r.returncode}: "
                                        f"{r.stderr.strip()[-2000:]})"):
            return 1
        bins = find(dest, r"(^|/)bin/auditrelay$")
        confs = find(dest, r"(^|/)auditrelay/auditrelay\.conf$")
        units = find(dest, r"(^|/)systemd/system/[^/]+\.service$")
        rules_dirs = sorted({os.path.dirname(p) for p in find(dest, r"auditrelay/rules/[^/]+\.rules$")})
        mans = find(dest, r"(^|/)man/man\d/")
        check(len(bins) == 1, f"one installed binary ({bins})")
        check(len(confs) == 1, f"one installed configuration ({confs})")
        check(len(rules_dirs) == 1, f"one installed rules directory ({rules_dirs})")
        check(sorted(map(os.path.basename, units)) ==
              ["auditrelay-multicast.service", "auditrelay.service"],
              f"both units installed ({units})")
        src_mans = sorted(f for f in os.listdir(os.path.join(SRC, "man")) if re.search(r"\.\d$", f))
        check(sorted(map(os.path.basename, mans)) == src_mans,
              f"every man page installed, each in its section ({[os.path.relpath(m, dest) for m in mans]})")
        for m in mans:
            check(os.path.basename(os.path.dirname(m)) == "man" + m[-1], f"{m}: in man{m[-1]}")
        if failures:
            return 1
        binary, conf, rules = bins[0], confs[0], rules_dirs[0]
        bindir_abs = "/" + os.path.relpath(os.path.dirname(binary), dest)

        # The configuration: accepted as installed and with every key uncommented.
        r = subprocess.run([binary, "config", "check", conf], capture_output=True, text=True)
        check(r.returncode == 0, f"config check of the installed configuration ({r.stderr.strip()})")
        text = open(conf, encoding="utf-8").read()
        active = [l for l in text.splitlines() if re.match(r"\w+\s*=", l)]
        check(active == [], f"the installed configuration sets nothing (all commented): {active}")
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write(re.sub(r"^#(\w+ = )", r"\1", text, flags=re.M))
            f.flush()
            r = subprocess.run([binary, "config", "check", f.name], capture_output=True, text=True)
            check(r.returncode == 0, f"config check with every key uncommented ({r.stderr.strip()})")
        # The default rules: where the configuration (and the binary) says they are.
        m = re.search(r"^#rules = (\S+)$", text, re.M)
        check(m and os.path.join(dest, m.group(1).lstrip("/")) == rules,
              f"the default rules path ({m and m.group(1)}) is where they are installed ({rules})")
        r = subprocess.run([binary, "rules", "check", rules], capture_output=True, text=True)
        check(r.returncode == 0, f"rules check of the installed rules ({r.stderr.strip()[-500:]})")
        # A replay with the installed binary.
        r = subprocess.run([binary, "replay", "-q", FIXTURE], capture_output=True, text=True)
        lines = r.stdout.splitlines()
        check(r.returncode == 0 and len(lines) >= 5 and all(l.startswith("{") for l in lines),
              f"the installed binary replays {os.path.basename(FIXTURE)} ({len(lines)} events)")

        # The modules (outputs' and --metrics'): each one the build made is installed
        # in libdir/auditrelay; the installed binary looks beside itself and in the
        # installed module directory, and says so when neither has one.
        modules = find(dest, r"(^|/)lib/([^/]+/)?auditrelay/auditrelay-[a-z]+\.so$")
        built = sorted(f for f in os.listdir(BUILD) if re.fullmatch(r"auditrelay-[a-z]+\.so", f))
        check({"auditrelay-relp.so", "auditrelay-tls.so"} <= set(built) and
              sorted(map(os.path.basename, modules)) == built,
              f"every module built ({built}) installed in libdir/auditrelay ({modules})")
        module_dir = "/" + os.path.relpath(os.path.dirname(modules[0]), dest) if modules else ""
        if modules and not os.path.exists(module_dir):
            refused = [("a relp output", ["-o", "relp://127.0.0.1:9"],
                        "relp:// needs the module auditrelay-relp.so"),
                       ("a syslog+tls output", ["-o", "syslog+tls://127.0.0.1:9"],
                        "syslog+tls:// needs the module auditrelay-tls.so")]
            if "auditrelay-metrics.so" in built:
                refused.append(("--metrics", ["--metrics", "127.0.0.1:0"],
                                "--metrics needs the module auditrelay-metrics.so"))
            for what, args, said in refused:
                r = subprocess.run([binary, "replay", "-q", *args, FIXTURE],
                                   capture_output=True, text=True, timeout=30)
                check(r.returncode != 0 and said in r.stderr and module_dir in r.stderr,
                      f"{what} without its module is refused naming it "
                      f"({r.stderr.strip()[-300:]})")

        # The units.
        byname = {os.path.basename(u): u for u in units}
        main, mcast = byname["auditrelay.service"], byname["auditrelay-multicast.service"]
        check(unit_values(main, "Conflicts") == ["auditd.service"],
              "auditrelay.service: Conflicts=auditd.service")
        check("--source multicast" in unit_values(mcast, "ExecStart")[0] and
              "auditd.service" in unit_values(mcast, "After") and
              not any("auditd" in v for v in unit_values(mcast, "Conflicts")),
              "auditrelay-multicast.service: --source multicast, after auditd, no conflict")
        for u in units:
            check(unit_values(u, "ExecStart")[0].split()[0] == bindir_abs + "/auditrelay",
                  f"{os.path.basename(u)}: ExecStart is the installed binary")
            want = ["notify"] if WITH_SYSTEMD else ["exec"]
            check(unit_values(u, "Type") == want, f"{os.path.basename(u)}: Type={want[0]}")
            check(bool(unit_values(u, "WatchdogSec")) == WITH_SYSTEMD,
                  f"{os.path.basename(u)}: WatchdogSec= only with libsystemd")
        for u in units:
            # What the code needs of the sandbox that setpriv cannot show: /run for the
            # state files, /run/auditrelay/auditrelay.metrics and the perf engine's tracefs mount
            # point; a mount namespace for the BPF engine's tracefs reader
            # (unshare(CLONE_NEWNS) where tracefs is not mounted).
            name = os.path.basename(u)
            check("/run" in " ".join(unit_values(u, "ReadWritePaths")).split(),
                  f"{name}: ReadWritePaths= has /run")
            rn = (unit_values(u, "RestrictNamespaces") or ["no"])[-1]
            words = rn.lstrip("~").split()
            allows_mnt = rn in ("no", "false") or ("mnt" not in words if rn.startswith("~")
                                                    else "mnt" in words)
            check(allows_mnt, f"{name}: RestrictNamespaces={rn} allows mount namespaces")
        mandir = os.path.dirname(os.path.dirname(mans[0]))
        verify_units(dest, units, bindir_abs, mandir)
        for u in units:
            with tempfile.TemporaryDirectory() as tmp:
                start_like_unit(u, binary, conf, tmp)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
