# Shared helpers for end-to-end tests (sourced, not a test itself: ctest runs *.sh files
# whose names do not start with "lib"). Everything a test starts is killed on exit.
set -euo pipefail

: "${ATTESTLAB_BIN:?ATTESTLAB_BIN must point at the attestlab binary}"
: "${ATTESTLAB_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

E2E_TMP=$(mktemp -d /tmp/attestlab-e2e.XXXXXX)
E2E_PIDS=()
cleanup() {
  local rc=$?
  for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${E2E_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    echo "---- e2e failed (rc=$rc); logs in $E2E_TMP ----" >&2
    for f in "$E2E_TMP"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 40 "$f" >&2; }; done
  else
    [ -n "${E2E_KEEP:-}" ] || rm -rf "$E2E_TMP"
  fi
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# expect_exit CODE CMD...: runs CMD with stdout in $E2E_TMP/out and stderr in $E2E_TMP/err and
# fails unless it exits CODE; a usage error (2) must be exactly one line on stderr.
expect_exit() {
  local want=$1; shift
  local rc=0
  "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err" || rc=$?
  [[ $rc == "$want" ]] || fail "expected exit $want, got $rc: $* ($(tail -20 "$E2E_TMP/err"))"
  if [[ $want == 2 ]]; then
    [[ $(wc -l <"$E2E_TMP/err") == 1 ]] || fail "usage error should be one line: $(cat "$E2E_TMP/err")"
  fi
}

# A TCP port nobody listens on right now.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # host port [seconds]
  local deadline=$((SECONDS + ${3:-20}))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "nothing listens on $1:$2"
    sleep 0.1
  done
}

# pid_listens_on, peer_listening, start_peer: a peer given its ports beforehand is up only
# once its own socket listens on its port, and is started again on new ports when one was
# taken.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/peer_ports.sh"

# Starts pebble-challtestsrv as the fake DNS (every A query → 127.0.0.1), on new ports
# again (three tries) when one it was given is taken. Sets DNS_PORT and DNS_MGMT_PORT.
start_fake_dns() {
  start_peer start_fake_dns launch_fake_dns || fail "pebble-challtestsrv did not start in three tries"
}
launch_fake_dns() {  # attempt (start_peer's)
  DNS_PORT=$(free_port); DNS_MGMT_PORT=$(free_port)
  PEER_LOG="$E2E_TMP/challtestsrv.$1.log" PEER_PORT=$DNS_MGMT_PORT
  pebble-challtestsrv -defaultIPv6 "" -defaultIPv4 127.0.0.1 -dns01 "127.0.0.1:$DNS_PORT" \
    -http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$DNS_MGMT_PORT" \
    >"$PEER_LOG" 2>&1 &
  PEER_PID=$!
  E2E_PIDS+=($PEER_PID)
}

# Starts `attestlab serve` with DATA_DIR (default $E2E_TMP/data) and extra args, on
# SERVER_PORT when set (a restart), else on port 0: the server binds a port the system picks
# and its ready line tells which (a port picked free and bound later may be taken between).
# Sets SERVER_PID, SERVER_PORT, DIRECTORY_URL, DATA_DIR. Waits for the "ready" line.
start_server() {
  DATA_DIR=${DATA_DIR:-$E2E_TMP/data}
  local port=${SERVER_PORT:-0}
  local out="$E2E_TMP/serve.$port.$RANDOM.log"
  "$ATTESTLAB_BIN" serve --listen "127.0.0.1:$port" --data-dir "$DATA_DIR" "$@" \
    >"$out" 2>"$E2E_TMP/serve.stderr.log" &
  SERVER_PID=$!
  E2E_PIDS+=($SERVER_PID)
  local deadline=$((SECONDS + 30))
  until grep -q '^ready https://' "$out" 2>/dev/null; do
    kill -0 $SERVER_PID 2>/dev/null || fail "attestlab serve exited: $(tail -5 "$E2E_TMP/serve.stderr.log")"
    [ $SECONDS -lt $deadline ] || fail "attestlab serve never printed ready"
    sleep 0.1
  done
  DIRECTORY_URL=$(grep -m1 '^ready ' "$out" | cut -d' ' -f2)
  [ "$port" != 0 ] || SERVER_PORT=$(sed -n 's|^https://127\.0\.0\.1:\([0-9]*\)/acme/directory$|\1|p' <<<"$DIRECTORY_URL")
  [ "$DIRECTORY_URL" = "https://127.0.0.1:$SERVER_PORT/acme/directory" ] \
    || fail "unexpected ready line: $DIRECTORY_URL"
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# Checks a PEM certificate file (leaf first) against DATA_DIR/ca/chain.pem and a name.
verify_cert() {  # file expected-san
  [ -s "$1" ] || fail "no certificate at $1"
  openssl verify -CAfile "$DATA_DIR/ca/chain.pem" "$1" >/dev/null \
    || fail "openssl verify refused $1"
  openssl x509 -in "$1" -noout -ext subjectAltName | grep -q "$2" \
    || fail "$1 does not name $2"
}

# Starts the fake DNS (start_fake_dns) and Pebble (docs/PEERS.md recipe) resolving through
# it, with PEBBLE_VA_NOSLEEP=1 and PEBBLE_WFE_NONCEREJECT left at its default (5 %): the
# client under test must absorb the badNonce rejections. TLS: a self-signed certificate for
# localhost and 127.0.0.1, $E2E_TMP/cert.pem (key.pem beside it), which clients trust.
# Sets PEBBLE_PORT, HTTP01 (Pebble's httpPort) and PEBBLE_PID; waits until Pebble listens.
start_pebble() {
  command -v pebble >/dev/null || fail "pebble is not installed"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$E2E_TMP/key.pem" -out "$E2E_TMP/cert.pem" -days 30 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 || fail "openssl req"
  start_fake_dns
  start_pebble_named pebble '"externalAccountBindingRequired":false'
  PEBBLE_PORT=$PEER_PORT HTTP01=$STARTED_HTTP01 PEBBLE_PID=$PEER_PID
}

# Starts one more Pebble beside start_pebble's (same certificate and fake DNS), its config
# $E2E_TMP/NAME.json with the extra members given, its log $E2E_TMP/NAME.log; on new ports
# again (three tries) when one it was given is taken. Sets PEER_PORT (the directory's),
# STARTED_HTTP01 (its httpPort) and PEER_PID.
start_pebble_named() {  # name extra-config-members
  start_peer "start_pebble ($1)" launch_pebble "$1" "$2" || fail "$1 did not start in three tries"
}
launch_pebble() {  # attempt name extra-config-members (start_peer's)
  STARTED_HTTP01=$(free_port)
  PEER_PORT=$(free_port) PEER_LOG="$E2E_TMP/$2.log"
  cat >"$E2E_TMP/$2.json" <<JSON
{"pebble":{"listenAddress":"127.0.0.1:$PEER_PORT","managementListenAddress":"127.0.0.1:$(free_port)",
 "certificate":"$E2E_TMP/cert.pem","privateKey":"$E2E_TMP/key.pem","httpPort":$STARTED_HTTP01,
 "tlsPort":$(free_port),"ocspResponderURL":"",$3}}
JSON
  PEBBLE_VA_NOSLEEP=1 pebble -config "$E2E_TMP/$2.json" -dnsserver "127.0.0.1:$DNS_PORT" \
    >"$PEER_LOG" 2>&1 &
  PEER_PID=$!
  E2E_PIDS+=($PEER_PID)
}

# Fails unless PNG file $1 is a $2x$3 screenshot of a rendered (not blank) page.
assert_rendered_png() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY' || fail "$1 is not a screenshot of a rendered page"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (int(sys.argv[2]), int(sys.argv[3])), (w, h)
# Concatenate IDAT chunks and count distinct scanline bytes: a blank page has ~1.
pos, idat = 8, b""
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8]); pos += 8
    if typ == b"IDAT": idat += data[pos:pos + n]
    pos += n + 4
raw = zlib.decompress(idat)
assert len(set(raw[:200000])) > 8, "page looks blank"
PY
}
