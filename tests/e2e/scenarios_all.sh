#!/usr/bin/env bash
# End-to-end: `attestlab scenario list|run|prepare`.
#  - the library lists at least 25 scenarios (text and JSON);
#  - every scenario passes against the embedded server, and the reports are written;
#  - a deliberately broken scenario (expects a certificate where the server must refuse)
#    exits 1 and names the violated expectation; a malformed file exits 2 naming file and
#    field;
#  - the same library runs against `attestlab serve` as a separate process, configured only
#    from `scenario prepare` output (a foreign target as far as the harness knows): all
#    pass except the scenario needing the server's clock, which is skipped.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY=/usr/bin/python3
BIN=$ATTESTLAB_BIN
W=$E2E_TMP


# --- list ---------------------------------------------------------------------------------
expect_exit 0 "$BIN" scenario list
count=$(tail -1 "$W/out" | cut -d' ' -f1)
[[ $count -ge 25 ]] || fail "scenario list shows $count scenarios (want >= 25)"
grep -q '^jailbroken ' "$W/out" || fail "scenario list does not show jailbroken"
grep -q 'threat: a device claims another device' "$W/out" || fail "scenario list shows no threats"
expect_exit 0 "$BIN" scenario list --json
$PY - "$W/out" "$count" <<'EOF' || fail "scenario list --json is wrong"
import json, sys
lib = json.load(open(sys.argv[1]))
assert len(lib) == int(sys.argv[2]), len(lib)
for s in lib:
    assert s["name"] and s["summary"] and s["threat"] and s["spec"], s
assert any(s["name"] == "fleet-rollout-100" for s in lib)
EOF
pass "scenario list: $count scenarios"

# --- usage errors ---------------------------------------------------------------------------
expect_exit 2 "$BIN" scenario run all
grep -q 'give either --target URL or --embedded' "$W/err" || fail "no usage message: $(cat "$W/err")"
expect_exit 2 "$BIN" scenario run no-such-scenario --embedded
grep -q 'unknown scenario "no-such-scenario"' "$W/err" || fail "unknown scenario not named: $(cat "$W/err")"
expect_exit 2 "$BIN" scenario run all --target https://127.0.0.1:1/acme/directory
grep -q -- '--attestation-ca' "$W/err" || fail "a foreign target without --attestation-ca: $(cat "$W/err")"
pass "usage errors exit 2"

# --- all scenarios against the embedded server ------------------------------------------------
expect_exit 0 "$BIN" scenario run all --embedded --jobs 4 --wire-logs all --report-dir "$W/reports"
grep -q "^$count scenarios: $count pass, 0 fail/error, 0 skipped" "$W/out" || fail "summary: $(tail -3 "$W/out")"
for f in result.json junit.xml summary.md report.html; do
  [[ -s $W/reports/$f ]] || fail "no $f written"
done
$PY - "$W/reports/result.json" "$count" <<'EOF' || fail "result.json is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema"] == "attestlab.result/1" and r["kind"] == "scenario", r["schema"]
cases = r["targets"][0]["cases"]
profiles = {c["profile"] for c in cases}
assert len(profiles) == int(sys.argv[2]), len(profiles)
bad = [c["id"] for c in cases if c["outcome"] != "pass"]
assert not bad, bad
ids = [c["id"] for c in cases]
assert ids == sorted(ids)
# every ACME step keeps its exchanges
enroll = [c for c in cases if c["id"].endswith("-acme_enroll") and "payloadRefused" not in c["observed"]]
assert enroll and all(c["wire_log"] for c in enroll), [c["id"] for c in enroll if not c["wire_log"]]
EOF
pass "scenario run all --embedded: $count pass"

# --- a broken scenario fails and names the violated expectation --------------------------------
cat >"$W/broken.json" <<'EOF'
{
  "name": "broken-expectation",
  "summary": "Deliberately wrong: expects a certificate for an attestation chained to a rogue root",
  "threat": "none: a self-test of the harness",
  "spec": ["draft-ietf-acme-device-attest-10 §5"],
  "devices": [{"id": "phone", "kind": "iPhone"}],
  "steps": [
    {"type": "acme_enroll", "device": "phone", "client_faults": ["rogue_root_chain"], "expect": {"issued": true}}
  ]
}
EOF
expect_exit 1 "$BIN" scenario run "$W/broken.json" --embedded
grep -q 'FAIL broken-expectation step 1 (acme_enroll)' "$W/err" || fail "failure not named: $(cat "$W/err")"
grep -q 'violated: issued: expected a certificate, observed refused: badAttestationStatement' "$W/err" \
  || fail "violated expectation not printed: $(cat "$W/err")"
pass "broken scenario exits 1 naming scenario, step and expectation"

cat >"$W/malformed.json" <<'EOF'
{"name": "malformed", "summary": "s", "threat": "t", "spec": ["x"],
 "devices": [{"id": "phone", "kind": "iPhone"}],
 "steps": [{"type": "acme_enroll", "device": "phone"}, {"type": "acme_enroll", "device": "phone", "expect": {"error": 7}}]}
EOF
expect_exit 2 "$BIN" scenario run "$W/malformed.json" --embedded
grep -q "malformed.json: steps\[1\].expect.error: must be a string" "$W/err" || fail "bad file not named: $(cat "$W/err")"
pass "malformed scenario file exits 2 naming file and field"

# --- the library against attestlab serve as a separate process ---------------------------------
CA=$W/mock-ca
expect_exit 0 "$BIN" ca init --dir "$CA"
expect_exit 0 "$BIN" scenario prepare all --seed 4242 --inventory-out "$W/inventory.json" --policy-out "$W/policy.json"
$PY - "$W/inventory.json" "$W/policy.json" <<'EOF' || fail "scenario prepare wrote bad files"
import json, sys
inv = json.load(open(sys.argv[1])); pol = json.load(open(sys.argv[2]))
assert len(inv) > 100 and {"retired", "active"} <= {e["status"] for e in inv}
assert pol["min_os_version"]["macOS"] == "14.5" and pol["min_os_version"]["iOS"] == "16.0", pol
EOF
start_server --attestation-roots "$CA/root.pem" --inventory "$W/inventory.json" --policy "$W/policy.json"
expect_exit 0 "$BIN" scenario run all --target "$DIRECTORY_URL" --trust-ca "$DATA_DIR/tls/cert.pem" \
  --attestation-ca "$CA" --seed 4242 --target-inventory --target-policy --report-dir "$W/foreign"
grep -q "^$count scenarios: $((count - 1)) pass, 0 fail/error, 1 skipped" "$W/out" || fail "summary: $(tail -3 "$W/out")"
grep -q 'dormant-device .*skip' "$W/out" || fail "dormant-device (server-clock) was not skipped"
# The fleet renewed through ARI (RFC 9773) against the separate server process: every device
# named its old certificate in "replaces" and was told its own renewal window.
$PY - "$W/foreign/result.json" <<'EOF' || fail "renewal-storm against attestlab serve"
import json, re, sys
cases = [c for c in json.load(open(sys.argv[1]))["targets"][0]["cases"] if c["profile"] == "renewal-storm"]
assert len(cases) == 1 and cases[0]["outcome"] == "pass", cases
observed = cases[0]["observed"]
m = re.search(r"(\d+) capable: (\d+) issued, (\d+) renewed through ARI.*?(\d+) ARI renewal windows, (\d+) distinct", observed)
assert m, observed
n, issued, ari, windows, distinct = map(int, m.groups())
assert n == issued == ari == windows == 24 and distinct * 2 >= windows, observed
print(observed)
EOF

# Without the inventory promise the inventory scenario is skipped, not failed.
expect_exit 0 "$BIN" scenario run inventory-mismatch --target "$DIRECTORY_URL" --trust-ca "$DATA_DIR/tls/cert.pem" \
  --attestation-ca "$CA" --seed 4242
grep -q 'requires inventory' "$W/err" || fail "inventory-mismatch not skipped for want of an inventory"
stop_server
pass "scenario run all against attestlab serve (foreign target): $((count - 1)) pass, 1 skipped"
