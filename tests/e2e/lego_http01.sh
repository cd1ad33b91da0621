#!/usr/bin/env bash
# Unmodified lego obtains a certificate over http-01 from `attestlab serve`, and renews it
# with the same account after a server restart (state is durable).
source "$(dirname "$0")/lib.sh"
start_fake_dns
HTTP01=$(free_port)
start_server --dns-server "127.0.0.1:$DNS_PORT" --http01-port "$HTTP01"

t0=$SECONDS
LEGO_CA_CERTIFICATES="$DATA_DIR/tls/cert.pem" lego --accept-tos --server "$DIRECTORY_URL" \
  --email admin@example.com --domains real.example --domains www.real.example \
  --http --http.port "127.0.0.1:$HTTP01" --path "$E2E_TMP/lego" run >"$E2E_TMP/lego-run.log" 2>&1 \
  || fail "lego run failed: $(tail -5 "$E2E_TMP/lego-run.log")"
echo "lego http-01: $((SECONDS - t0)) s from lego start to certificate"
crt="$E2E_TMP/lego/certificates/real.example.crt"
verify_cert "$crt" "DNS:www.real.example"
pass "lego http-01 certificate verifies against DATA_DIR/ca/chain.pem"
serial1=$(openssl x509 -in "$crt" -noout -serial)

# Restart: the account, order and certificate survive; lego renews with its account.
stop_server
start_server --dns-server "127.0.0.1:$DNS_PORT" --http01-port "$HTTP01"
LEGO_CA_CERTIFICATES="$DATA_DIR/tls/cert.pem" lego --accept-tos --server "$DIRECTORY_URL" \
  --email admin@example.com --domains real.example --domains www.real.example \
  --http --http.port "127.0.0.1:$HTTP01" --path "$E2E_TMP/lego" renew --days 365 --no-random-sleep \
  >"$E2E_TMP/lego-renew.log" 2>&1 || fail "lego renew after restart failed: $(tail -5 "$E2E_TMP/lego-renew.log")"
# lego logs "acme: Registering account" only when it has to create one.
if grep -qi "registering account" "$E2E_TMP/lego-renew.log"; then
  fail "lego had to register again after the restart"
fi
verify_cert "$crt" "DNS:real.example"
serial2=$(openssl x509 -in "$crt" -noout -serial)
[ "$serial1" != "$serial2" ] || fail "renewal returned the same certificate"
pass "lego renewed after restart with its existing account"
