#!/usr/bin/env bash
# Unmodified certbot obtains certificates from `attestlab serve`: http-01 (standalone) and
# dns-01 (manual hooks writing TXT records into pebble-challtestsrv); then revokes one.
source "$(dirname "$0")/lib.sh"
start_fake_dns
HTTP01=$(free_port)
start_server --dns-server "127.0.0.1:$DNS_PORT" --http01-port "$HTTP01"
cb=(--config-dir "$E2E_TMP/cb/conf" --work-dir "$E2E_TMP/cb/work" --logs-dir "$E2E_TMP/cb/logs"
    --server "$DIRECTORY_URL" --agree-tos -m admin@example.com --non-interactive)
export REQUESTS_CA_BUNDLE="$DATA_DIR/tls/cert.pem"

t0=$SECONDS
certbot certonly --standalone --http-01-port "$HTTP01" --http-01-address 127.0.0.1 \
  -d cb.example "${cb[@]}" >"$E2E_TMP/certbot-http.log" 2>&1 \
  || fail "certbot http-01 failed: $(tail -8 "$E2E_TMP/certbot-http.log")"
echo "certbot http-01: $((SECONDS - t0)) s"
verify_cert "$E2E_TMP/cb/conf/live/cb.example/cert.pem" "DNS:cb.example"
pass "certbot http-01"

cat >"$E2E_TMP/auth.sh" <<SH
#!/usr/bin/env bash
curl -sf -d "{\"host\":\"_acme-challenge.\$CERTBOT_DOMAIN.\",\"value\":\"\$CERTBOT_VALIDATION\"}" \
  http://127.0.0.1:$DNS_MGMT_PORT/set-txt
SH
chmod +x "$E2E_TMP/auth.sh"
certbot certonly --manual --preferred-challenges dns --manual-auth-hook "$E2E_TMP/auth.sh" \
  -d cbdns.example "${cb[@]}" >"$E2E_TMP/certbot-dns.log" 2>&1 \
  || fail "certbot dns-01 failed: $(tail -8 "$E2E_TMP/certbot-dns.log")"
verify_cert "$E2E_TMP/cb/conf/live/cbdns.example/cert.pem" "DNS:cbdns.example"
pass "certbot dns-01"

certbot revoke --cert-path "$E2E_TMP/cb/conf/live/cb.example/cert.pem" --reason keycompromise \
  --no-delete-after-revoke "${cb[@]}" >"$E2E_TMP/certbot-revoke.log" 2>&1 \
  || fail "certbot revoke failed: $(tail -8 "$E2E_TMP/certbot-revoke.log")"
certbot revoke --cert-path "$E2E_TMP/cb/conf/live/cb.example/cert.pem" \
  --no-delete-after-revoke "${cb[@]}" >"$E2E_TMP/certbot-revoke2.log" 2>&1 \
  && fail "revoking an already revoked certificate succeeded"
# certbot 2.1 on Python 3.11 crashes while printing ACME errors (AttributeError in its
# displayer), so read the server's answer from certbot's own debug log.
grep -q '"type":"urn:ietf:params:acme:error:alreadyRevoked"' "$E2E_TMP/cb/logs/letsencrypt.log" \
  || fail "second revoke did not get alreadyRevoked"
pass "certbot revoke (and alreadyRevoked on the second attempt)"
