#!/usr/bin/env python3
"""syslog+tls against a real rsyslog (Debian rsyslog-gnutls) on loopback: every
event arrives as an RFC 5424 message carrying our JSON; a peer whose certificate
does not chain to the given CA, or does not carry the expected name, is refused with
a clear error; a receiver that requires client certificates (x509/certvalid) takes
ours (cert=, key=) and nothing without one; unreadable credentials are a start-up
error.

Usage: test_tls.py AUDITRELAY CORPORA_DIR   (exit 77 when rsyslog's gtls driver or
certtool is missing)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rules"))
import auditnl  # noqa: E402  (tests/rules: output_file)

BIN, CORPORA = sys.argv[1], sys.argv[2]
RFC5424 = re.compile(r"^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def certtool(*args, cwd):
    subprocess.run(["certtool", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    with open(os.path.join(d, "ca.tmpl"), "w") as f:
        f.write('cn = "auditrelay test CA"\nca\ncert_signing_key\nexpiration_days = 2\n')
    with open(os.path.join(d, "srv.tmpl"), "w") as f:
        f.write('cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\n'
                "tls_www_server\nexpiration_days = 2\n")
    with open(os.path.join(d, "cli.tmpl"), "w") as f:
        f.write('cn = "auditrelay client"\ntls_www_client\nexpiration_days = 2\n')
    for name in ("ca", "srv", "other", "cli"):
        certtool("--generate-privkey", "--outfile", name + "-key.pem", cwd=d)
    certtool("--generate-self-signed", "--load-privkey", "ca-key.pem", "--template", "ca.tmpl",
             "--outfile", "ca.pem", cwd=d)
    certtool("--generate-self-signed", "--load-privkey", "other-key.pem", "--template",
             "ca.tmpl", "--outfile", "other-ca.pem", cwd=d)
    certtool("--generate-certificate", "--load-privkey", "srv-key.pem", "--load-ca-certificate",
             "ca.pem", "--load-ca-privkey", "ca-key.pem", "--template", "srv.tmpl", "--outfile",
             "srv.pem", cwd=d)
    certtool("--generate-certificate", "--load-privkey", "cli-key.pem", "--load-ca-certificate",
             "ca.pem", "--load-ca-privkey", "ca-key.pem", "--template", "cli.tmpl", "--outfile",
             "cli.pem", cwd=d)


def start_rsyslog(d, name, port, authmode, relp=False):
    """rsyslogd -n with a gtls imtcp input on PORT (AUTHMODE: anon, or x509/certvalid
    to require a client certificate signed by our CA), or with RELP an imrelp input
    with TLS (AUTHMODE certvalid: RELP's TLS is mutual), writing %rawmsg% to
    NAME.log."""
    received = os.path.join(d, name + ".log")
    conf = os.path.join(d, name + ".conf")
    os.makedirs(os.path.join(d, name + ".work"), exist_ok=True)
    tcp_input = (f'module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" '
                 f'StreamDriver.Authmode="{authmode}")\n'
                 f'input(type="imtcp" address="127.0.0.1" port="{port}")')
    relp_input = (f'module(load="imrelp")\n'
                  f'input(type="imrelp" address="127.0.0.1" port="{port}" tls="on" '
                  f'tls.caCert="{d}/ca.pem" tls.myCert="{d}/srv.pem" tls.myPrivKey="{d}/srv-key.pem" '
                  f'tls.authMode="{authmode}")')
    with open(conf, "w") as f:
        f.write(f'''global(workDirectory="{d}/{name}.work" maxMessageSize="256k"
  DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{d}/ca.pem"
  DefaultNetstreamDriverCertFile="{d}/srv.pem" DefaultNetstreamDriverKeyFile="{d}/srv-key.pem")
{relp_input if relp else tcp_input}
template(name="raw" type="string" string="%rawmsg%\\n")
*.* action(type="omfile" file="{received}" template="raw")
''')
    rs = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", os.path.join(d, name + ".pid")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return rs, received


def delivered(spec, logs, received, want_n):
    """Replays LOGS to SPEC (exit 0 expected) and returns the events the receiver wrote
    to RECEIVED once it has WANT_N lines (or 5 s passed), each checked as RFC 5424
    with our header and the event's timestamp."""
    r = subprocess.run([BIN, "replay", "-n", "-q", "-o", spec, *logs], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    for _ in range(50):
        if lines(received) >= want_n:
            break
        time.sleep(0.1)
    got = []
    for line in open(received):
        m = RFC5424.match(line.rstrip("\n"))
        assert m, "not RFC 5424: " + line[:120]
        assert m.group(1) == "86" and m.group(4) == "auditrelay", line[:120]
        ev = json.loads(m.group(8))
        assert m.group(2) == ev["timestamp"], (m.group(2), ev["timestamp"])
        got.append(ev)
    return got


def lines(path):
    return sum(1 for _ in open(path)) if os.path.exists(path) else 0


def refused(spec, log, seconds=15):
    """Runs a replay of LOG to SPEC (it keeps retrying a refused peer) until it has
    complained on stderr or SECONDS passed, kills it, and returns its stderr."""
    with auditnl.output_file() as errf:
        p = subprocess.Popen([BIN, "replay", "-n", "-q", "-o", spec, log],
                             stdout=subprocess.DEVNULL, stderr=errf, text=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and p.poll() is None:
            errf.seek(0)
            if "auditrelay: output" in errf.read():
                break
            time.sleep(0.1)
        p.kill()
        p.wait()
        errf.seek(0)
        return errf.read()


def main():
    if not shutil.which("rsyslogd") or not shutil.which("certtool") or \
            not os.path.exists("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so"):
        print("skip: needs rsyslog, rsyslog-gnutls and gnutls-bin")
        return 77
    d = tempfile.mkdtemp(prefix="ar-tls-")
    rss = []
    try:
        make_certs(d)
        port = free_port()
        rs, received = start_rsyslog(d, "anon", port, "anon")
        rss.append(rs)
        logs = [os.path.join(CORPORA, "go-libaudit/testdata/normal.log"),
                os.path.join(CORPORA, "laurel/src/testdata/record-execve-long.txt")]
        ours = os.path.join(d, "ours.json")
        subprocess.run([BIN, "replay", "-n", "-q", "-o", f"file:{ours}", *logs], check=True,
                       timeout=30)
        want = [json.loads(line) for line in open(ours)]
        got = delivered(f"syslog+tls://localhost:{port}?ca={d}/ca.pem", logs, received, len(want))
        assert got == want, f"{len(got)} received of {len(want)}"
        print(f"ok   syslog+tls: {len(got)} events arrived as RFC 5424 messages")

        # A CA that did not sign the peer's certificate: refused, clearly.
        err = refused(f"syslog+tls://localhost:{port}?ca={d}/other-ca.pem", logs[0])
        assert "certificate is refused" in err and "issuer is unknown" in err, err
        print("ok   wrong CA refused: " + err.strip().splitlines()[0][:160])
        # The right CA but another name than the certificate's.
        err = refused(f"syslog+tls://127.0.0.1:{port}?ca={d}/ca.pem&name=siem.example", logs[0])
        assert "certificate is refused" in err and "does not match" in err, err
        print("ok   wrong name refused: " + err.strip().splitlines()[0][:160])
        assert lines(received) == len(want), "a message got through a refused certificate"

        # A receiver that requires a client certificate signed by our CA.
        mport = free_port()
        rs, mreceived = start_rsyslog(d, "mutual", mport, "x509/certvalid")
        rss.append(rs)
        mgot = delivered(f"syslog+tls://localhost:{mport}?ca={d}/ca.pem&cert={d}/cli.pem"
                         f"&key={d}/cli-key.pem", logs, mreceived, len(want))
        assert mgot == want, f"client certificate: {len(mgot)} received of {len(want)}"
        print(f"ok   client certificate: {len(mgot)} events to a receiver requiring one")
        err = refused(f"syslog+tls://localhost:{mport}?ca={d}/ca.pem", logs[0])
        assert lines(mreceived) == len(want), "a message got through without a client certificate"
        assert "auditrelay: output" in err, err
        print("ok   no client certificate, nothing taken: " + err.strip().splitlines()[0][:160])

        # Credentials that cannot be read: a start-up error, exit 2.
        for opts, what in ((f"ca={d}/missing.pem", "no CA certificates"),
                           (f"ca={d}/ca.pem&cert={d}/missing.pem&key={d}/cli-key.pem",
                            "client certificate"),
                           (f"ca={d}/ca.pem&cert={d}/cli.pem", "cert= and key= go together")):
            r = subprocess.run([BIN, "replay", "-n", "-q", "-o",
                                f"syslog+tls://localhost:{mport}?{opts}", logs[0]],
                               capture_output=True, text=True, timeout=10)
            assert r.returncode == 2 and what in r.stderr, (opts, r.returncode, r.stderr)
        print("ok   unreadable credentials: exit 2 with the file named")

        # relp+tls to imrelp with TLS (rsyslog-relp): mutual, verified both ways.
        if not any(os.path.exists(os.path.join(x, "rsyslog/imrelp.so"))
                   for x in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu")):
            print("skip relp+tls: no imrelp (Debian rsyslog-relp)")
            return 0
        rport = free_port()
        rs, rreceived = start_rsyslog(d, "relptls", rport, "certvalid", relp=True)
        rss.append(rs)
        creds = f"ca={d}/ca.pem&cert={d}/cli.pem&key={d}/cli-key.pem"
        rgot = delivered(f"relp+tls://localhost:{rport}?{creds}", logs, rreceived, len(want))
        assert rgot == want, f"relp+tls: {len(rgot)} received of {len(want)}"
        print(f"ok   relp+tls: {len(rgot)} events, acknowledged, over mutual TLS")
        for spec, what in ((f"relp+tls://localhost:{rport}?ca={d}/other-ca.pem&cert={d}/cli.pem"
                            f"&key={d}/cli-key.pem", "wrong CA"),
                           (f"relp+tls://127.0.0.1:{rport}?{creds}&name=siem.example", "wrong name")):
            err = refused(spec, logs[0])
            assert "auditrelay: output" in err and ("refused" in err or "does not carry" in err), (what, err)
            print(f"ok   relp+tls {what} refused: " + err.strip().splitlines()[0][:200])
        assert lines(rreceived) == len(want), "a message got through a refused certificate"
        r = subprocess.run([BIN, "replay", "-n", "-q", "-o", f"relp+tls://localhost:{rport}?ca={d}/ca.pem",
                            logs[0]], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and "mutual" in r.stderr, (r.returncode, r.stderr)
        return 0
    finally:
        for rs in rss:
            rs.send_signal(signal.SIGTERM)
            rs.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
