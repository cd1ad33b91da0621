# Shared by the bench scripts that start servers (sourced; bench/compare.sh,
# bench/results_load.sh, bench/lego_cpu.sh): OUT made absolute when set, a temporary
# directory TMP, the PIDS of what the script started (stopped on exit, with TMP removed),
# port helpers and the servers' starters. BIN is the attestlab binary. Loopback only.
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd)
fi
TMP=$(mktemp -d /tmp/attestlab-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
# A TCP port nobody listens on right now.
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# pid_listens_on, peer_listening, start_peer: a peer given its ports beforehand is up only
# once its own socket listens on its port (a port picked free may be taken before the peer
# binds it), and is started again on new ports when one was taken.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/peer_ports.sh"

# pebble-challtestsrv as the fake DNS (every A query -> 127.0.0.1), on new ports again (three
# tries) when one it was given is taken. Sets DNS, DNS_MGMT.
start_fake_dns() {
  start_peer start_fake_dns launch_fake_dns ||
    { echo "pebble-challtestsrv did not start in three tries" >&2; exit 3; }
}
launch_fake_dns() {
  DNS=$(port) DNS_MGMT=$(port)
  PEER_LOG=$TMP/challtestsrv.log PEER_PORT=$DNS_MGMT
  pebble-challtestsrv -defaultIPv6 "" -defaultIPv4 127.0.0.1 -dns01 "127.0.0.1:$DNS" -http01 "" \
    -https01 "" -tlsalpn01 "" -management "127.0.0.1:$DNS_MGMT" >"$PEER_LOG" 2>&1 &
  PEER_PID=$!
  PIDS+=($PEER_PID)
}

# `attestlab serve` in TMP/attestlab, validating through the fake DNS; http-01 on A_HTTP01.
# Sets A_PORT, A_HTTP01, A_PID, A_DIRECTORY; waits for its ready line. The server listens on
# a port the system picks (port 0) and its ready line names it.
# A_DATA: the data directory (default TMP/attestlab; its TLS certificate: A_DATA/tls/cert.pem);
# A_WRAP: a command put before the server's, e.g. "taskset -c 0".
# Unless A_SERVE_ARGS names a --policy, the server gets one that raises its quota of new
# accounts per client IP from 10,000 to 100,000,000 an hour: every load here comes from
# 127.0.0.1 with a new account per enrollment, which passes 10,000 within 15 s at ~660/s on
# a fast 2-core machine, and a benchmark measures enrollments, not that refusal (the quota
# is still checked on every newAccount).
start_attestlab() {
  A_HTTP01=$(port)
  A_DATA=${A_DATA:-$TMP/attestlab}
  local policy=()
  if [[ " ${A_SERVE_ARGS:-} " != *" --policy "* ]]; then
    echo '{"limits": {"new_accounts_per_ip_per_hour": 100000000}}' >"$TMP/bench-policy.json"
    policy=(--policy "$TMP/bench-policy.json")
  fi
  ${A_WRAP:-} "$BIN" serve --listen "127.0.0.1:0" --data-dir "$A_DATA" --dns-server "127.0.0.1:$DNS" \
    --http01-port "$A_HTTP01" "${policy[@]}" ${A_SERVE_ARGS:-} >"$TMP/serve.log" 2>&1 &
  A_PID=$!
  PIDS+=($A_PID)
  for _ in $(seq 300); do grep -q '^ready ' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready ' "$TMP/serve.log" || { echo "attestlab serve never became ready" >&2; exit 3; }
  A_DIRECTORY=$(grep -m1 '^ready ' "$TMP/serve.log" | cut -d' ' -f2)
  A_PORT=$(sed -n 's|^https://127\.0\.0\.1:\([0-9]*\)/acme/directory$|\1|p' <<<"$A_DIRECTORY")
  [ -n "$A_PORT" ] || { echo "unexpected ready line: $A_DIRECTORY" >&2; exit 3; }
}

# Pebble doing the same work as attestlab: real validation through the fake DNS, no
# artificial sleep, no nonce rejection. TLS trust: TMP/cert.pem; http-01 on P_HTTP01.
# Sets P_PORT, P_HTTP01, P_PID, P_DIRECTORY; on new ports again (three tries) when one it was
# given is taken.
start_pebble() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
    -out "$TMP/cert.pem" -days 30 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
  start_peer start_pebble launch_pebble ||
    { echo "pebble did not start in three tries" >&2; exit 3; }
  P_PORT=$PEER_PORT P_PID=$PEER_PID
  P_DIRECTORY="https://127.0.0.1:$P_PORT/dir"
}
launch_pebble() {
  PEER_PORT=$(port) P_HTTP01=$(port) PEER_LOG=$TMP/pebble.log
  cat >"$TMP/pebble-config.json" <<EOF
{"pebble":{"listenAddress":"127.0.0.1:$PEER_PORT","managementListenAddress":"127.0.0.1:$(port)",
 "certificate":"$TMP/cert.pem","privateKey":"$TMP/key.pem","httpPort":$P_HTTP01,
 "tlsPort":$(port),"ocspResponderURL":"","externalAccountBindingRequired":false}}
EOF
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$TMP/pebble-config.json" \
    -dnsserver "127.0.0.1:$DNS" >"$PEER_LOG" 2>&1 &
  PEER_PID=$!
  PIDS+=($PEER_PID)
}

# Target profiles for `attestlab load` (conformance/TARGETS.md), http-01 through the
# generator's responder; each prints the file's path.
#   target_profile NAME DIRECTORY_URL TRUST_PEM HTTP01_PORT
target_profile() {
  cat >"$TMP/$1.json" <<EOF
{"name": "$1", "directory_url": "$2", "trust_ca": "$3",
 "challenges": ["http-01"], "http01": {"listen": "127.0.0.1:$4"}}
EOF
  echo "$TMP/$1.json"
}
# Of the server start_attestlab / start_pebble started last.
attestlab_profile() { target_profile attestlab "$A_DIRECTORY" "$A_DATA/tls/cert.pem" "$A_HTTP01"; }
pebble_profile() { target_profile pebble "$P_DIRECTORY" "$TMP/cert.pem" "$P_HTTP01"; }
