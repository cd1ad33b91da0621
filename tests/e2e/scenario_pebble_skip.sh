#!/usr/bin/env bash
# `scenario run` against a target that cannot enroll attested devices (Pebble: no
# permanent-identifier, no device-attest-01): one preflight finds that, every scenario is
# skipped with the reason (exit 0, nothing failed), as conform skips cases whose capability
# is missing (issue 14). An unreachable target is a bad target: exit 2 before any scenario.
source "$(dirname "$0")/lib.sh"
start_pebble
A=$ATTESTLAB_BIN
"$A" ca init --dir "$E2E_TMP/ca" >/dev/null || fail "ca init"
rc=0
"$A" scenario run 'happy-*' jailbroken --target "https://127.0.0.1:$PEBBLE_PORT/dir" \
  --trust-ca "$E2E_TMP/cert.pem" --attestation-ca "$E2E_TMP/ca" --report-dir "$E2E_TMP/r" \
  >"$E2E_TMP/run.log" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "scenario run against pebble exited $rc: $(tail -5 "$E2E_TMP/run.log")"
/usr/bin/python3 - "$E2E_TMP/r/result.json" <<'PY' || fail "result.json: $(tail -5 "$E2E_TMP/run.log")"
import json, sys
run = json.load(open(sys.argv[1]))["targets"][0]
cases = [c for s in run.get("scenarios", run.get("groups", [])) for c in s.get("cases", [])] or run.get("cases", [])
outcomes = {c["outcome"] for c in cases}
assert outcomes == {"skip"}, outcomes
reasons = {c.get("reason", "") for c in cases}
assert all("cannot enroll attested devices" in r and "permanent-identifier" in r for r in reasons), reasons
print(f"{len(cases)} cases skipped: {sorted(reasons)[0][:140]}")
PY
pass "scenarios against pebble are skipped with the preflight's reason"

port=$(free_port)
rc=0
"$A" scenario run jailbroken --target "https://127.0.0.1:$port/dir" --attestation-ca "$E2E_TMP/ca" \
  >"$E2E_TMP/down.log" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "unreachable target: exit $rc, expected 2: $(cat "$E2E_TMP/down.log")"
pass "an unreachable target is exit 2: $(tail -1 "$E2E_TMP/down.log")"
