#!/bin/sh
# The collector links none of the libraries that only some runs use (util/module.c
# says why: their share of the dynamic loader's time in every start, replays
# included): GnuTLS (syslog+tls, the module auditrelay-tls.so), libmicrohttpd
# (--metrics, auditrelay-metrics.so), librelp and librdkafka (their modules), and
# libsystemd (notify.c opens it under systemd). readelf: its NEEDED entries; ldd: no
# library brings one of them in either.
set -u
bin=$1
fail=0
if ! command -v readelf >/dev/null; then
  echo "FAIL readelf (binutils) is not installed"
  exit 1
fi
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
echo "NEEDED: $(echo $needed)"
[ -n "$needed" ] || { echo "FAIL no NEEDED entries read from $bin"; exit 1; }
loaded=$(ldd "$bin")
for lib in libgnutls libmicrohttpd libsystemd librelp librdkafka; do
  if echo "$needed" | grep -q "^$lib\."; then
    echo "FAIL $bin links $lib (NEEDED)"; fail=1
  elif echo "$loaded" | grep -q "^[[:space:]]*$lib\."; then
    echo "FAIL $bin maps $lib through another library (ldd)"; fail=1
  else
    echo "ok   no $lib"
  fi
done
exit $fail
