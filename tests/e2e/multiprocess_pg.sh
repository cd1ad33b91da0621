#!/usr/bin/env bash
# End-to-end: several `attestlab serve` processes on one PostgreSQL database (issue 15).
#   - the test starts its own PostgreSQL (testing/pg_tmp.sh) and FAILS when it cannot (no
#     PostgreSQL binaries is a failure, never a skip);
#   - `attestlab serve` refuses a store whose schema is newer than the build: exit 2, with
#     both versions in the message (PostgreSQL and SQLite);
#   - a nonce issued by process A is accepted once by process B and then refused
#     (badNonce) by A and B;
#   - 2 and then 4 processes behind `attestlab load` (round-robin over their URLs): no
#     lost enrollment (the load's completed count == new certificate rows), no order with
#     two certificates, no valid order without its certificate, every process issued some
#     and their /metrics add up to the load's count.
# Shared key material: the first process creates the issuing CA and the TLS identity in
# its --data-dir; the others get copies of ca/ and tls/ in their own data dirs before they
# start (a deployment would mount the same files). The nonce HMAC key is in the database.
# No wall-clock performance assertions.
source "$(dirname "$0")/lib.sh"
command -v pebble-challtestsrv >/dev/null || fail "pebble-challtestsrv is not installed"
command -v psql >/dev/null || fail "psql is not installed (package postgresql-client)"

PG_TMP="$ATTESTLAB_SOURCE_DIR/testing/pg_tmp.sh"
PG_DIR=$(mktemp -d /tmp/attestlab-e2e-pg.XXXXXX)  # not in E2E_TMP: the server user needs to reach it
trap 'rc=$?; bash "$PG_TMP" stop "$PG_DIR" >/dev/null 2>&1 || true; (exit $rc); cleanup' EXIT
PG_URL=$(bash "$PG_TMP" start "$PG_DIR" 2>"$E2E_TMP/pg_tmp.log") \
  || fail "cannot start a test PostgreSQL server: $(cat "$E2E_TMP/pg_tmp.log")"
sql() { psql "$PG_URL" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"; }
pass "own PostgreSQL at $PG_URL"

# --- a newer schema is refused (exit 2, both versions named) ----------------------------------
expect_too_new() {  # what store-args...
  local what=$1; shift
  local rc=0
  "$ATTESTLAB_BIN" serve --listen "127.0.0.1:$(free_port)" --data-dir "$E2E_TMP/old-$what" "$@" \
    >"$E2E_TMP/too-new.out" 2>"$E2E_TMP/too-new.err" || rc=$?
  [ $rc -eq 2 ] || fail "$what: serve on a newer schema exited $rc, expected 2: $(cat "$E2E_TMP/too-new.err")"
  grep -q 'store schema version 99 is newer than this build supports (version [0-9]*)' \
    "$E2E_TMP/too-new.err" || fail "$what: message: $(cat "$E2E_TMP/too-new.err")"
}
NEWER_URL=$(bash "$PG_TMP" createdb "$PG_DIR" newer) || fail "createdb newer"
psql "$NEWER_URL" -X -q -v ON_ERROR_STOP=1 \
  -c "CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99)" \
  || fail "cannot prepare the newer PostgreSQL schema"
expect_too_new postgresql --store "$NEWER_URL"
[ "$(psql "$NEWER_URL" -X -t -A -c 'SELECT version FROM schema_version')" = 99 ] \
  || fail "serve changed a newer schema it refused"
mkdir -p "$E2E_TMP/old-sqlite"
sqlite3 "$E2E_TMP/old-sqlite/attestlab.db" 'PRAGMA user_version = 99' || fail "sqlite3"
expect_too_new sqlite
pass "serve refuses a newer schema with exit 2, naming both versions (PostgreSQL, SQLite)"

# --- processes -------------------------------------------------------------------------------
start_fake_dns
HTTP01=$(free_port)
URLS=()
PIDS=()
PORTS=()
start_process() {  # n
  local dir="$E2E_TMP/data$1"
  if [ "$1" -gt 1 ]; then
    mkdir -p "$dir"
    cp -a "$E2E_TMP/data1/ca" "$E2E_TMP/data1/tls" "$dir/"
  fi
  DATA_DIR=$dir
  unset SERVER_PORT
  start_server --store "$PG_URL" --dns-server "127.0.0.1:$DNS_PORT" \
    --http01-port "$HTTP01"
  URLS+=("$DIRECTORY_URL")
  PIDS+=("$SERVER_PID")
  PORTS+=("$SERVER_PORT")
}
start_process 1
start_process 2
TRUST="$E2E_TMP/data1/tls/cert.pem"
cmp -s "$E2E_TMP/data1/ca/chain.pem" "$E2E_TMP/data2/ca/chain.pem" || fail "CA not shared"

issued() {  # port
  curl -s --cacert "$TRUST" "https://127.0.0.1:$1/metrics" |
    awk '$1 == "attestlab_certificates_issued_total" {print $2}'
}

# --- one nonce, two processes --------------------------------------------------------------
/usr/bin/python3 - "${URLS[0]}" "${URLS[1]}" "$TRUST" <<'PY' || fail "cross-process nonce check"
import json, sys
import josepy as jose
import requests
from acme import jws as acme_jws
from cryptography.hazmat.primitives.asymmetric import ec

dir_a, dir_b, trust = sys.argv[1:4]
s = requests.Session()
s.verify = trust
s.trust_env = False  # REQUESTS_CA_BUNDLE must not override verify
a = s.get(dir_a).json()
b = s.get(dir_b).json()
key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))

def new_account(directory, nonce):
    url = directory["newAccount"]
    payload = json.dumps({"termsOfServiceAgreed": True}).encode()
    jws = acme_jws.JWS.sign(payload, key=key, alg=jose.ES256, nonce=jose.b64.b64decode(nonce), url=url)
    return s.post(url, data=jws.json_dumps(), headers={"Content-Type": "application/jose+json"})

nonce = s.head(a["newNonce"]).headers["Replay-Nonce"]
first = new_account(b, nonce)
assert first.status_code in (200, 201), (first.status_code, first.text)
for name, d in (("A", a), ("B", b)):
    again = new_account(d, nonce)
    assert again.status_code == 400, (name, again.status_code, again.text)
    assert again.json()["type"] == "urn:ietf:params:acme:error:badNonce", again.text
    assert "Replay-Nonce" in again.headers
print("nonce from A: accepted once by B, then badNonce on A and on B")
PY
pass "a nonce is accepted at most once across processes"

# --- load over N processes -------------------------------------------------------------------
run_load() {  # n count
  local n=$1 count=$2
  local targets=() before=() i
  for ((i = 0; i < n; i++)); do
    targets+=(--target "${URLS[$i]}")
    before+=("$(issued "${PORTS[$i]}")")
  done
  local rows_before
  rows_before=$(sql "SELECT count(*) FROM certificates")
  local rc=0
  "$ATTESTLAB_BIN" load "${targets[@]}" --trust-ca "$TRUST" --http01-listen "127.0.0.1:$HTTP01" \
    --concurrency 8 --count "$count" --warmup 0s --threshold 'errors<=0' \
    --report-dir "$E2E_TMP/load$n" --quiet >"$E2E_TMP/load$n.out" 2>"$E2E_TMP/load$n.log" || rc=$?
  cat "$E2E_TMP/load$n.out"
  [ $rc -eq 0 ] || fail "load over $n processes exited $rc: $(cat "$E2E_TMP/load$n.log")"
  local deltas=()
  for ((i = 0; i < n; i++)); do
    local after
    after=$(issued "${PORTS[$i]}")
    deltas+=($((${after%.*} - ${before[$i]%.*})))
  done
  local rows_after
  rows_after=$(sql "SELECT count(*) FROM certificates")
  /usr/bin/python3 - "$E2E_TMP/load$n/result.json" "$((rows_after - rows_before))" "${deltas[@]}" <<'PY' \
    || fail "counts over $n processes"
import json, sys
load = json.load(open(sys.argv[1]))["targets"][0]["load"]
counts = load["stats"]["counts"]
done = counts["completed"] + counts["warmup_completed"]
rows = int(sys.argv[2])
per_process = [int(d) for d in sys.argv[3:]]
assert counts["failed"] == 0, counts
assert done == rows, f"load completed {done}, the database gained {rows} certificates"
assert sum(per_process) == done, f"processes' metrics say {per_process}, load completed {done}"
assert all(d > 0 for d in per_process), f"a process issued nothing: {per_process}"
print(f"{len(per_process)} processes: load completed {done}, database +{rows}, metrics {per_process}")
PY
  [ "$(sql "SELECT count(*) FROM (SELECT order_id FROM certificates WHERE order_id IS NOT NULL
           GROUP BY order_id HAVING count(*) > 1) d")" = 0 ] || fail "an order has two certificates"
  [ "$(sql "SELECT count(*) FROM orders o WHERE o.status = 'valid' AND NOT EXISTS
           (SELECT 1 FROM certificates c WHERE c.order_id = o.id)")" = 0 ] \
    || fail "a valid order has no certificate"
  [ "$(sql "SELECT count(*) FROM orders WHERE status = 'processing'")" = 0 ] \
    || fail "an order is stuck in processing"
  [ "$(sql "SELECT count(*) FROM certificates c JOIN orders o ON o.id = c.order_id
           WHERE o.json::jsonb->>'certificate_id' IS DISTINCT FROM c.id")" = 0 ] \
    || fail "an order does not name the certificate stored for it"
  pass "$n processes on one PostgreSQL: no lost enrollment, one certificate per order, metrics add up"
}

run_load 2 60
start_process 3
start_process 4
run_load 4 80
