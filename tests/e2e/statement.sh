#!/usr/bin/env bash
# End-to-end: `conform --statement --sign-key` writes a signed conformance statement
# (reports/statement.h) for Ed25519 and P-256 keys; `report verify --key` accepts it
# (exit 0), refuses one with an edited outcome or checked against another key (exit 1),
# and calls a file that is not a statement malformed (exit 2). The HTML report shows
# the statement's summary.
source "$(dirname "$0")/lib.sh"

openssl genpkey -algorithm ed25519 -out "$E2E_TMP/ed.key" 2>/dev/null || fail "openssl ed25519"
openssl pkey -in "$E2E_TMP/ed.key" -pubout -out "$E2E_TMP/ed.pub" || fail "openssl ed25519 pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$E2E_TMP/p256.key" 2>/dev/null \
  || fail "openssl p256"
openssl pkey -in "$E2E_TMP/p256.key" -pubout -out "$E2E_TMP/p256.pub" || fail "openssl p256 pub"

verify() {  # expected-exit file key
  local rc=0
  "$ATTESTLAB_BIN" report verify "$2" --key "$3" >"$E2E_TMP/verify.out" 2>&1 || rc=$?
  cat "$E2E_TMP/verify.out"
  [ $rc -eq "$1" ] || fail "report verify $2 --key $3 exited $rc, expected $1"
}

ONLY=rfc8555-7.1.1-directory-resources,rfc8555-7.2-head-nonce
for kind in ed p256; do
  rc=0
  "$ATTESTLAB_BIN" conform --embedded --only "$ONLY" --quiet --report-dir "$E2E_TMP/report-$kind" \
    --statement "$E2E_TMP/st-$kind.json" --sign-key "$E2E_TMP/$kind.key" \
    >"$E2E_TMP/conform.out" 2>"$E2E_TMP/conform.log" || rc=$?
  [ $rc -eq 0 ] || { cat "$E2E_TMP/conform.log" >&2; fail "conform --statement ($kind) exited $rc"; }
  [ -s "$E2E_TMP/st-$kind.json" ] || fail "no statement written ($kind)"
  /usr/bin/python3 - "$E2E_TMP/st-$kind.json" "$kind" <<'PY' || fail "statement content ($kind)"
import json, re, sys
doc = json.load(open(sys.argv[1]))
st, sig = doc["statement"], doc["signature"]
assert sig["alg"] == ("Ed25519" if sys.argv[2] == "ed" else "ES256"), sig["alg"]
assert st["schema"] == "attestlab.statement/1"
assert re.fullmatch(r"[0-9a-f]{64}", st["suite_hash"]), st["suite_hash"]
assert st["tool_version"].startswith("attestlab "), st["tool_version"]
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", st["date"]), st["date"]
t = st["targets"][0]
assert t["name"] == "embedded" and t["directory_url"].startswith("https://")
assert re.fullmatch(r"[0-9a-f]{64}", t["tls_sha256"]), t["tls_sha256"]
assert t["summary"]["total"] == len(t["cases"]) >= 1, t["summary"]
assert all(c["outcome"] in ("pass", "fail", "skip", "error") and c["level"] for c in t["cases"])
PY
  [ "$("$ATTESTLAB_BIN" --version)" = "$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["statement"]["tool_version"])' "$E2E_TMP/st-$kind.json")" ] \
    || fail "tool_version is not what --version prints"
  grep -q 'Signed statement' "$E2E_TMP/report-$kind/report.html" || fail "report.html has no statement ($kind)"
  verify 0 "$E2E_TMP/st-$kind.json" "$E2E_TMP/$kind.pub"
  grep -q '^ok   signature' "$E2E_TMP/verify.out" || fail "verify printed no signature check"
  grep -q '^ok   suite hash' "$E2E_TMP/verify.out" || fail "verify printed no suite hash check"
  pass "$kind: statement signed, verified, shown in report.html"
done

verify 1 "$E2E_TMP/st-ed.json" "$E2E_TMP/p256.pub"
pass "another key: exit 1"

/usr/bin/python3 - "$E2E_TMP/st-ed.json" "$E2E_TMP/tampered.json" <<'PY' || fail "tamper"
import json, sys
doc = json.load(open(sys.argv[1]))
case = doc["statement"]["targets"][0]["cases"][0]
case["outcome"] = "fail" if case["outcome"] == "pass" else "pass"
json.dump(doc, open(sys.argv[2], "w"), indent=2)
PY
verify 1 "$E2E_TMP/tampered.json" "$E2E_TMP/ed.pub"
grep -q '^FAIL signature' "$E2E_TMP/verify.out" || fail "tampered outcome not reported as a signature failure"
pass "edited outcome: exit 1"

echo '{"not": "a statement"}' >"$E2E_TMP/junk.json"
verify 2 "$E2E_TMP/junk.json" "$E2E_TMP/ed.pub"
verify 2 "$E2E_TMP/missing.json" "$E2E_TMP/ed.pub"
pass "malformed or missing: exit 2"
