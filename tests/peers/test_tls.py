#!/usr/bin/env python3
"""syslog+tls against a real rsyslog (Debian rsyslog-gnutls) on loopback: every
event arrives as an RFC 5424 message carrying our JSON, and a peer whose
certificate does not chain to the given CA is refused with a clear error.

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
    for name in ("ca", "srv", "other"):
        certtool("--generate-privkey", "--outfile", name + "-key.pem", cwd=d)
    certtool("--generate-self-signed", "--load-privkey", "ca-key.pem", "--template", "ca.tmpl",
             "--outfile", "ca.pem", cwd=d)
    certtool("--generate-self-signed", "--load-privkey", "other-key.pem", "--template",
             "ca.tmpl", "--outfile", "other-ca.pem", cwd=d)
    certtool("--generate-certificate", "--load-privkey", "srv-key.pem", "--load-ca-certificate",
             "ca.pem", "--load-ca-privkey", "ca-key.pem", "--template", "srv.tmpl", "--outfile",
             "srv.pem", cwd=d)


def main():
    if not shutil.which("rsyslogd") or not shutil.which("certtool") or \
            not os.path.exists("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so"):
        print("skip: needs rsyslog, rsyslog-gnutls and gnutls-bin")
        return 77
    d = tempfile.mkdtemp(prefix="ar-tls-")
    rs = None
    try:
        make_certs(d)
        port = free_port()
        received = os.path.join(d, "received.log")
        with open(os.path.join(d, "rs.conf"), "w") as f:
            f.write(f'''global(workDirectory="{d}" maxMessageSize="256k"
  DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{d}/ca.pem"
  DefaultNetstreamDriverCertFile="{d}/srv.pem" DefaultNetstreamDriverKeyFile="{d}/srv-key.pem")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.Authmode="anon")
input(type="imtcp" address="127.0.0.1" port="{port}")
template(name="raw" type="string" string="%rawmsg%\\n")
*.* action(type="omfile" file="{received}" template="raw")
''')
        rs = subprocess.Popen(["rsyslogd", "-n", "-f", os.path.join(d, "rs.conf"), "-i",
                               os.path.join(d, "pid")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        logs = [os.path.join(CORPORA, "go-libaudit/testdata/normal.log"),
                os.path.join(CORPORA, "laurel/src/testdata/record-execve-long.txt")]
        ours = os.path.join(d, "ours.json")
        r = subprocess.run([BIN, "replay", "-n", "-q", "-o", f"file:{ours}", "-o",
                            f"syslog+tls://localhost:{port}?ca={d}/ca.pem", *logs],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        want = [json.loads(line) for line in open(ours)]
        got = []
        for _ in range(50):
            if os.path.exists(received) and sum(1 for _ in open(received)) >= len(want):
                break
            time.sleep(0.1)
        for line in open(received):
            m = RFC5424.match(line.rstrip("\n"))
            assert m, "not RFC 5424: " + line[:120]
            assert m.group(1) == "86" and m.group(4) == "auditrelay", line[:120]
            ev = json.loads(m.group(8))
            assert m.group(2) == ev["timestamp"], (m.group(2), ev["timestamp"])
            got.append(ev)
        assert got == want, f"{len(got)} received of {len(want)}"
        print(f"ok   syslog+tls: {len(got)} events arrived as RFC 5424 messages")

        # A CA that did not sign the peer's certificate: refused, clearly.
        p = subprocess.Popen([BIN, "replay", "-n", "-q", "-o",
                              f"syslog+tls://localhost:{port}?ca={d}/other-ca.pem", logs[0]],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        p.send_signal(signal.SIGKILL)
        err = p.communicate()[1]
        assert "certificate is refused" in err and "issuer is unknown" in err, err
        print("ok   wrong CA refused: " + err.strip().splitlines()[0][:160])
        n = sum(1 for _ in open(received))
        assert n == len(want), "a message got through with the wrong CA"
        return 0
    finally:
        if rs:
            rs.send_signal(signal.SIGTERM)
            rs.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
