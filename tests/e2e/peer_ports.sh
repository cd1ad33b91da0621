#!/usr/bin/env bash
# Peers given their ports beforehand (pebble-challtestsrv, Pebble) are started again on other
# ports when one is taken between free_port and their bind (lib.sh's start_fake_dns and
# start_pebble), instead of the port answering for someone else: here a listener of the
# test's own holds the port free_port hands out for challtestsrv's management API and for
# Pebble's directory on the first try.
source "$(dirname "$0")/lib.sh"
command -v pebble-challtestsrv >/dev/null || fail "pebble-challtestsrv is not installed"

/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$E2E_TMP/held" &
E2E_PIDS+=($!)
for _ in $(seq 100); do [ -s "$E2E_TMP/held" ] && break; sleep 0.05; done
HELD=$(cat "$E2E_TMP/held")
[ -n "$HELD" ] || fail "the holding listener did not start"

# A process that is alive, logs nothing and has not bound the held port yet (Pebble still
# making its keys) is not listening there, although the port answers.
sleep 30 &
E2E_PIDS+=($!)
: >"$E2E_TMP/quiet.log"
if PEER_WAIT_SECONDS=2 peer_listening $! "$E2E_TMP/quiet.log" 127.0.0.1 "$HELD"; then
  fail "peer_listening took the held port's answer for a process that never bound it"
fi

# free_port's calls, in order: challtestsrv 1 (dns, management), 2 (dns, management); Pebble
# 1 (http-01, directory, management, tls), 2 (...). Calls 2 and 6 get the held port.
echo 0 >"$E2E_TMP/calls"
free_port() {
  local n=$(($(cat "$E2E_TMP/calls") + 1))
  echo "$n" >"$E2E_TMP/calls"
  if [ "$n" -eq 2 ] || [ "$n" -eq 6 ]; then echo "$HELD"; return; fi
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_pebble 2>"$E2E_TMP/start.err"
[ "$(cat "$E2E_TMP/calls")" -eq 12 ] || fail "expected two tries of each peer, free_port called $(cat "$E2E_TMP/calls") times"
grep -q "start_fake_dns: attempt 1 failed: .*address already in use" "$E2E_TMP/start.err" ||
  fail "the fake DNS's failed bind was not noticed: $(cat "$E2E_TMP/start.err")"
grep -q "start_pebble (pebble): attempt 1 failed: .*address already in use" "$E2E_TMP/start.err" ||
  fail "Pebble's failed bind was not noticed: $(cat "$E2E_TMP/start.err")"
[ "$DNS_MGMT_PORT" != "$HELD" ] && [ "$PEBBLE_PORT" != "$HELD" ] || fail "a peer was left on the held port"

code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"host":"peer-ports.example","value":"v"}' \
  "http://127.0.0.1:$DNS_MGMT_PORT/set-txt")
[ "$code" = 200 ] || fail "the fake DNS's management API answered $code"
curl -s --cacert "$E2E_TMP/cert.pem" "https://127.0.0.1:$PEBBLE_PORT/dir" | grep -q '"newNonce"' ||
  fail "Pebble's directory did not answer on $PEBBLE_PORT"
pass "challtestsrv and Pebble started again on free ports after a taken one"
