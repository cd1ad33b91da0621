#!/usr/bin/env bash
# End-to-end: `attestlab load` against Pebble (Let's Encrypt's test server, the recipe of
# docs/PEERS.md), real http-01 and dns-01 validation through pebble-challtestsrv.
#   - with Pebble's default random badNonce rejection (5 %), every enrollment completes:
#     the rejections are retried and counted, never errors;
#   - --server-pid gives Pebble's CPU per enrollment;
#   - the closed model with dns-01 and a pool of accounts;
#   - two --target URLs of one service share the load round-robin (the same Pebble
#     reached as 127.0.0.1 and as localhost).
# No wall-clock performance assertions.
source "$(dirname "$0")/lib.sh"
start_pebble
cat >"$E2E_TMP/pebble-profile.json" <<EOF
{"name": "pebble", "directory_url": "https://127.0.0.1:$PEBBLE_PORT/dir", "trust_ca": "$E2E_TMP/cert.pem",
 "challenges": ["http-01", "dns-01"], "http01": {"listen": "127.0.0.1:$HTTP01"},
 "dns01": {"challtestsrv_management": "http://127.0.0.1:$DNS_MGMT_PORT"}}
EOF

rc=0
"$ATTESTLAB_BIN" load --target-profile "$E2E_TMP/pebble-profile.json" \
  --target "https://localhost:$PEBBLE_PORT/dir" --rate 20/s --count 60 --server-pid "$PEBBLE_PID" \
  --threshold 'errors<=0' --jsonl "$E2E_TMP/pebble.jsonl" --report-dir "$E2E_TMP/run" --quiet \
  >"$E2E_TMP/run.out" 2>"$E2E_TMP/run.log" || rc=$?
cat "$E2E_TMP/run.out"
[ $rc -eq 0 ] || fail "load against pebble exited $rc: $(cat "$E2E_TMP/run.log")"
/usr/bin/python3 - "$E2E_TMP/run/result.json" "$E2E_TMP/pebble.jsonl" "$PEBBLE_PORT" <<'PY' || fail "result.json check"
import json, sys
load = json.load(open(sys.argv[1]))["targets"][0]["load"]
counts = load["stats"]["counts"]
assert counts["completed"] == 60 and counts["failed"] == 0, counts
assert load["stats"]["errors"] == [], load["stats"]["errors"]
assert counts["bad_nonce_retries"] > 0, "no badNonce retried: is PEBBLE_WFE_NONCEREJECT at its default?"
assert load["summary"]["server_cpu_ms_per_enrollment"] > 0, load["cpu"]
port = sys.argv[3]
assert load["urls"] == [f"https://127.0.0.1:{port}/dir", f"https://localhost:{port}/dir"], load["urls"]
hosts = {}
for line in open(sys.argv[2]):
    e = json.loads(line)
    if e["type"] == "request" and e["step"] == "directory":
        host = e["url"].split("/")[2].split(":")[0]
        hosts[host] = hosts.get(host, 0) + 1
assert hosts == {"127.0.0.1": 30, "localhost": 30}, hosts
print(f"pebble: 60 completed, {counts['bad_nonce_retries']} badNonce retries absorbed, round-robin {hosts}")
PY

rc=0
"$ATTESTLAB_BIN" load --target-profile "$E2E_TMP/pebble-profile.json" --challenge dns-01 \
  --concurrency 3 --count 12 --accounts 3 --report-dir "$E2E_TMP/dns" --quiet \
  >"$E2E_TMP/dns.out" 2>"$E2E_TMP/dns.log" || rc=$?
[ $rc -eq 0 ] || fail "dns-01 load against pebble exited $rc: $(cat "$E2E_TMP/dns.log")"
grep -q '12 completed, 0 failed' "$E2E_TMP/dns.out" || fail "dns-01: $(cat "$E2E_TMP/dns.out")"
grep -q '^    account ' "$E2E_TMP/dns.out" && fail "pooled accounts were timed as an account step"
pass "load against pebble: http-01 open model, dns-01 closed model with pooled accounts"
