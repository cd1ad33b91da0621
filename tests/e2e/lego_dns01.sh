#!/usr/bin/env bash
# Unmodified lego obtains a certificate over dns-01 (TXT records in pebble-challtestsrv,
# which attestlab's validator queries through --dns-server).
source "$(dirname "$0")/lib.sh"
start_fake_dns
start_server --dns-server "127.0.0.1:$DNS_PORT"
cat >"$E2E_TMP/settxt.sh" <<SH
#!/usr/bin/env bash
# lego exec provider: present|cleanup FQDN VALUE
case "\$1" in
  present) curl -sf -d "{\"host\":\"\$2\",\"value\":\"\$3\"}" http://127.0.0.1:$DNS_MGMT_PORT/set-txt ;;
  cleanup) curl -sf -d "{\"host\":\"\$2\"}" http://127.0.0.1:$DNS_MGMT_PORT/clear-txt ;;
esac
SH
chmod +x "$E2E_TMP/settxt.sh"
t0=$SECONDS
# The exec provider waits EXEC_SEQUENCE_INTERVAL (60 s) between two challenges on one
# name (dns.example and *.dns.example); 1 s is enough for a local fake DNS.
EXEC_SEQUENCE_INTERVAL=1 EXEC_POLLING_INTERVAL=1 EXEC_PATH="$E2E_TMP/settxt.sh" LEGO_CA_CERTIFICATES="$DATA_DIR/tls/cert.pem" lego --accept-tos \
  --server "$DIRECTORY_URL" --email admin@example.com --domains dns.example --domains '*.dns.example' \
  --dns exec --dns.resolvers "127.0.0.1:$DNS_PORT" --dns.disable-cp --path "$E2E_TMP/lego" run \
  >"$E2E_TMP/lego-dns.log" 2>&1 || fail "lego dns-01 failed: $(tail -5 "$E2E_TMP/lego-dns.log")"
echo "lego dns-01: $((SECONDS - t0)) s from lego start to certificate"
verify_cert "$E2E_TMP/lego/certificates/dns.example.crt" 'DNS:\*.dns.example'
pass "lego dns-01 (with a wildcard) certificate verifies against DATA_DIR/ca/chain.pem"
