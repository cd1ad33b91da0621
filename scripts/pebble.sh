#!/usr/bin/env bash
# Starts (or stops) Pebble, Let's Encrypt's ACME test server from Debian's `pebble` package,
# exactly as conformance/targets/pebble.json expects it, so that a conformance run against
# Pebble is two commands:
#
#   scripts/pebble.sh start      # Pebble on 127.0.0.1:14000, state and logs in /tmp/pebble
#   attestlab conform --target-profile conformance/targets/pebble.json --only rfc8555
#   scripts/pebble.sh stop
#
# What it starts (docs/PEERS.md explains each piece): a self-signed TLS certificate
# /tmp/pebble/cert.pem (the profile's trust_ca), pebble-challtestsrv as a fake DNS on
# 127.0.0.1:8053 that answers every A query with 127.0.0.1 (management on :8055, where the
# harness sets dns-01 TXT records), and Pebble with PEBBLE_VA_NOSLEEP=1 validating http-01
# on port 5002 (where the harness answers). PEBBLE_WFE_NONCEREJECT keeps its default (5 %):
# a correct client retries. Installs nothing; exit 2 when pebble is missing or a port is
# taken.
set -euo pipefail
source "$(dirname "$0")/peer_ports.sh"  # peer_listening
DIR=${PEBBLE_DIR:-/tmp/pebble}
cmd=${1:-}
stop() {
  for name in pebble challtestsrv; do
    if [ -f "$DIR/$name.pid" ]; then
      kill "$(cat "$DIR/$name.pid")" 2>/dev/null || true
      rm -f "$DIR/$name.pid"
    fi
  done
}
case $cmd in
  stop) stop; echo "pebble stopped"; exit 0 ;;
  start) ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; [ "$cmd" = -h ] || [ "$cmd" = --help ] && exit 0; exit 2 ;;
esac
for p in pebble pebble-challtestsrv openssl; do
  command -v "$p" >/dev/null || { echo "pebble.sh: $p not found (apt-get install pebble openssl)" >&2; exit 2; }
done
for port in 14000 15000 5001 5002 8053 8055; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "pebble.sh: port $port is taken (is Pebble already running? scripts/pebble.sh stop)" >&2
    exit 2
  fi
done
mkdir -p "$DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/key.pem" \
  -out "$DIR/cert.pem" -days 30 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
cat >"$DIR/pebble.json" <<JSON
{"pebble":{"listenAddress":"127.0.0.1:14000","managementListenAddress":"127.0.0.1:15000",
 "certificate":"$DIR/cert.pem","privateKey":"$DIR/key.pem","httpPort":5002,"tlsPort":5001,
 "ocspResponderURL":"","externalAccountBindingRequired":false}}
JSON
pebble-challtestsrv -defaultIPv6 "" -defaultIPv4 127.0.0.1 -dns01 127.0.0.1:8053 -http01 "" \
  -https01 "" -tlsalpn01 "" -management 127.0.0.1:8055 >"$DIR/challtestsrv.log" 2>&1 &
echo $! >"$DIR/challtestsrv.pid"
PEBBLE_VA_NOSLEEP=1 nohup pebble -config "$DIR/pebble.json" -dnsserver 127.0.0.1:8053 \
  >"$DIR/pebble.log" 2>&1 &
echo $! >"$DIR/pebble.pid"
# Up once each listens on its port itself (not when something answers there).
if ! peer_listening "$(cat "$DIR/challtestsrv.pid")" "$DIR/challtestsrv.log" 127.0.0.1 8055; then
  echo "pebble.sh: pebble-challtestsrv did not start: $(tail -1 "$DIR/challtestsrv.log")" >&2
  stop
  exit 3
fi
if peer_listening "$(cat "$DIR/pebble.pid")" "$DIR/pebble.log" 127.0.0.1 14000; then
  echo "pebble ready: https://127.0.0.1:14000/dir (logs in $DIR)"
  exit 0
fi
echo "pebble.sh: Pebble did not start: $(tail -1 "$DIR/pebble.log"); see $DIR/pebble.log" >&2
stop
exit 3
