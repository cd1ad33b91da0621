#!/usr/bin/env bash
# End-to-end: `scenario run --mdm URL` drives a running `attestlab mdm serve` (a separate
# process, reached only over HTTPS: check-in and commands by the simulated devices, the admin
# API and the device records by the harness) against a separate `attestlab serve`.
#  - every scenario with MDM steps passes with the running MDM's verdicts, except those that
#    move the clock, which are skipped with the reason; the devices are in its device list;
#  - the verdicts are the running MDM's own: an MDM that does not trust the mock Apple root
#    makes happy-iphone fail on its "trusted" expectation;
#  - an --mdm that is not there, or is not attestlab's MDM, is one line and exit 2;
#  - an admin token is sent when the MDM requires one.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY=/usr/bin/python3
BIN=$ATTESTLAB_BIN
W=$E2E_TMP


start_mdm() {  # NAME extra-args...: sets MDM_URL, MDM_PID; TLS certificate in $W/NAME/tls/cert.pem
  local name=$1; shift
  # Port 0: the MDM binds a port the system picks; its ready line names it.
  "$BIN" mdm serve --listen "127.0.0.1:0" --data-dir "$W/$name" --no-blueprint \
    --acme-directory "$DIRECTORY_URL" "$@" >"$W/$name.out.log" 2>"$W/$name.err.log" &
  MDM_PID=$!
  E2E_PIDS+=($MDM_PID)
  local deadline=$((SECONDS + 30))
  until grep -q '^ready ' "$W/$name.out.log" 2>/dev/null; do
    kill -0 $MDM_PID 2>/dev/null || fail "mdm serve exited: $(cat "$W/$name.err.log")"
    [ $SECONDS -lt $deadline ] || fail "mdm serve never printed ready"
    sleep 0.1
  done
  MDM_URL=$(cut -d' ' -f2 <"$W/$name.out.log")
}

CA=$W/mock-ca
expect_exit 0 "$BIN" ca init --dir "$CA"
start_server --attestation-roots "$CA/root.pem"
TARGET=(--target "$DIRECTORY_URL" --trust-ca "$DATA_DIR/tls/cert.pem" --attestation-ca "$CA")

# The MDM scenarios of the library (an MDM or fleet step), and those of them that move the clock.
expect_exit 0 "$BIN" scenario list --json
read -r mdm_names clock_names < <($PY - "$W/out" "$ATTESTLAB_SOURCE_DIR/scenarios/library" <<'PY'
import json, os, sys
names = [s["name"] for s in json.load(open(sys.argv[1]))]
mdm, clock = [], []
for n in names:
    steps = json.load(open(os.path.join(sys.argv[2], n + ".json")))["steps"]
    types = {s["type"] for s in steps}
    if types & {"mdm_enroll", "install_profile", "device_information", "fleet"}:
        mdm.append(n)
        if "advance_clock" in types:
            clock.append(n)
print(",".join(mdm), ",".join(clock) or "-")
PY
)
n_mdm=$(tr ',' '\n' <<<"$mdm_names" | wc -l)
n_clock=$(tr ',' '\n' <<<"$clock_names" | grep -vc '^-$' || true)
[[ $n_mdm -ge 10 ]] || fail "only $n_mdm MDM scenarios in the library: $mdm_names"

start_mdm mdm --attestation-roots "$CA/root.pem"
GOOD_MDM=$MDM_URL
expect_exit 0 "$BIN" scenario run "$mdm_names" "${TARGET[@]}" --mdm "$GOOD_MDM" \
  --mdm-trust-ca "$W/mdm/tls/cert.pem" --report-dir "$W/reports"
# Scenarios that need something else of the target (policy, inventory) are skipped as they
# are without --mdm; those that move the clock are skipped for the MDM.
expect_exit 0 "$BIN" scenario run "$mdm_names" "${TARGET[@]}" --report-dir "$W/reports-own"
$PY - "$W/reports/result.json" "$W/reports-own/result.json" "$clock_names" <<'PY' || fail "scenario run --mdm results"
import json, sys
def outcomes(path):
    out = {}
    for c in json.load(open(sys.argv[1] if path == 1 else sys.argv[2]))["targets"][0]["cases"]:
        out.setdefault(c["profile"], set()).add((c["outcome"], c.get("reason", "")))
    return out
running, own = outcomes(1), outcomes(2)
clock = set(sys.argv[3].split(",")) - {"-"}
assert set(running) == set(own), (set(running) ^ set(own))
for name, results in running.items():
    kinds = {o for o, _ in results}
    if name in clock:
        assert kinds == {"skip"} and any("running MDM" in r for _, r in results), (name, results)
    else:
        assert kinds == {o for o, _ in own[name]}, (name, results, own[name])
    assert "fail" not in kinds and "error" not in kinds, (name, results)
passed = [n for n, r in running.items() if {o for o, _ in r} == {"pass"}]
assert len(passed) >= 8, passed
print(f"{len(passed)} MDM scenarios pass with the running MDM, {len(clock)} skipped for the clock")
PY
curl -sf --cacert "$W/mdm/tls/cert.pem" "$GOOD_MDM/devices" >"$W/devices.json" || fail "GET $GOOD_MDM/devices"
$PY - "$W/devices.json" <<'PY' || fail "the running MDM's device list"
import json, sys
devices = json.load(open(sys.argv[1]))["devices"]
verdicts = {}
for d in devices:
    verdicts[d["attestation"]["verdict"]] = verdicts.get(d["attestation"]["verdict"], 0) + 1
# fleet-rollout-100 alone enrolls about a hundred devices; most attest as trusted.
assert len(devices) >= 100 and verdicts.get("trusted", 0) >= 80, (len(devices), verdicts)
assert any(c["request_type"] == "DeviceInformation" for d in devices for c in d["commands"])
print(len(devices), "devices", verdicts)
PY
pass "scenario run --mdm: the MDM scenarios against a running mdm serve ($n_mdm, $n_clock moving the clock skipped)"

# The verdicts are the running MDM's: one that does not trust the mock Apple root (it trusts
# Apple's real one by default) judges the same devices untrusted.
start_mdm mdm-untrusting
expect_exit 1 "$BIN" scenario run happy-iphone "${TARGET[@]}" --mdm "$MDM_URL" \
  --mdm-trust-ca "$W/mdm-untrusting/tls/cert.pem"
grep -q 'FAIL happy-iphone' "$W/err" || fail "happy-iphone did not fail: $(cat "$W/err")"
grep -q 'untrusted' "$W/err" || fail "the untrusting MDM's verdict is not shown: $(cat "$W/err")"
pass "the running MDM's own verdict decides (an MDM without the mock root fails happy-iphone)"

# Admin token: required by the MDM, sent by the harness.
start_mdm mdm-token --attestation-roots "$CA/root.pem" --admin-token s3cret
expect_exit 1 "$BIN" scenario run happy-iphone "${TARGET[@]}" --mdm "$MDM_URL" \
  --mdm-trust-ca "$W/mdm-token/tls/cert.pem"
grep -q 'HTTP 401' "$W/err" || fail "a missing admin token is not named: $(cat "$W/err")"
expect_exit 0 "$BIN" scenario run happy-iphone "${TARGET[@]}" --mdm "$MDM_URL" \
  --mdm-trust-ca "$W/mdm-token/tls/cert.pem" --mdm-admin-token s3cret
pass "--mdm-admin-token is sent to an MDM that requires it"

# Bad --mdm: nothing listening, not attestlab's MDM (the ACME server), with --embedded.
expect_exit 2 "$BIN" scenario run happy-iphone "${TARGET[@]}" --mdm "https://127.0.0.1:$(free_port)/mdm"
grep -q -- '--mdm https://127.0.0.1:.*/mdm: ' "$W/err" || fail "unreachable --mdm: $(cat "$W/err")"
expect_exit 2 "$BIN" scenario run happy-iphone "${TARGET[@]}" --mdm "https://127.0.0.1:$SERVER_PORT/acme" \
  --mdm-trust-ca "$DATA_DIR/tls/cert.pem"
grep -q -E "is it .attestlab mdm serve.|attestlab's device list" "$W/err" || fail "a non-MDM --mdm: $(cat "$W/err")"
expect_exit 2 "$BIN" scenario run happy-iphone --embedded --mdm "$GOOD_MDM"
grep -q -- '--mdm needs --target' "$W/err" || fail "--mdm with --embedded: $(cat "$W/err")"
expect_exit 2 "$BIN" scenario run happy-iphone "${TARGET[@]}" --mdm "$GOOD_MDM" --mdm-trust-ca "$W/nope.pem"
grep -q "nope.pem" "$W/err" || fail "missing --mdm-trust-ca file: $(cat "$W/err")"
pass "bad --mdm: one line, exit 2"
