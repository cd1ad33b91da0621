#!/usr/bin/env bash
# End-to-end, faults builds only (registered by tests/CMakeLists.txt when ATTESTLAB_FAULTS
# is ON, so ATTESTLAB_BIN is a -DATTESTLAB_FAULTS=ON binary): every named scenario of
# scenarios/SERVER_CHECKS.md catches the server fault that defeats its check. For each pair
#  - `scenario run NAME --embedded --fault KNOB` exits 1 and prints "FAIL NAME step N" for
#    the step SERVER_CHECKS.md names, with its "violated:" expectation;
#  - `scenario run NAME --embedded` (no fault) exits 0.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
BIN=$ATTESTLAB_BIN
W=$E2E_TMP

"$BIN" serve --list-faults >"$W/knobs" || fail "$BIN has no serve --list-faults: not a faults build"

# scenario knob step(s) that must fail (SERVER_CHECKS.md "NAME/NN")
cases=(
  "jailbroken ignore_posture 3"
  "stale-nonce skip_freshness_check 1"
  "missing-freshness accept_missing_freshness 1"
  # trust_any_root trusts a self-signed certificate the client sends in x5c; forged-chain's
  # device sends leaf + intermediate only (as Apple does), so only skipping the whole chain
  # verification lets it through (trust_any_root is caught by apple-chain-self-signed-leaf).
  "forged-chain skip_chain_verification 1"
  "csr-key-swap skip_csr_key_binding 1|2"
  "inventory-mismatch ignore_inventory 1|2|3"
  "restored-device keep_superseded_certificates 6"
  "other-device-identifier skip_identifier_match 2|3"
  "expired-attestation ignore_attestation_validity 1"
  "byod-user-enrollment accept_user_enrollment 2"
  "mac-sip-disabled ignore_posture 3"
  "os-below-minimum ignore_posture 3"
  "malformed-attobj accept_unknown_format 2"
  "payload-error-field reject_unknown_payload_fields 2"
  "rsa-keys skip_csr_key_binding 3"
  "reused-attestation skip_freshness_check 2"
  "csr-identifier-mismatch skip_permanent_id_san_check 1"
  "request-hijack skip_account_ownership_check 1|2"
  "renewal-storm same_renewal_window 1"
)

run() {  # LOG ARGS...: prints the exit code; output → $W/LOG
  local log=$1; shift
  local rc=0
  "$BIN" scenario run "$@" --embedded --seed 7 --quiet >"$W/$log" 2>&1 || rc=$?
  echo "$rc"
}

for c in "${cases[@]}"; do
  read -r name knob steps <<<"$c"
  grep -qx "$knob" "$W/knobs" || fail "$knob is not a ServerFaults knob"
  rc=$(run "$name-clean.log" "$name")
  [[ $rc == 0 ]] || fail "$name without a fault exits $rc, want 0: $(tail -20 "$W/$name-clean.log")"
  rc=$(run "$name-$knob.log" "$name" --fault "$knob")
  [[ $rc == 1 ]] || fail "$name --fault $knob exits $rc, want 1: $(tail -20 "$W/$name-$knob.log")"
  grep -Eq "^FAIL $name step ($steps) " "$W/$name-$knob.log" \
    || fail "$name --fault $knob does not fail step $steps: $(grep -E '^(FAIL|ERROR) ' "$W/$name-$knob.log")"
  grep -A1 -E "^FAIL $name step ($steps) " "$W/$name-$knob.log" | grep -q '^  violated: .' \
    || fail "$name --fault $knob does not name the violated expectation"
  pass "$name: caught $knob ($(grep -E "^FAIL $name step ($steps) " "$W/$name-$knob.log" | head -1))"
done

# An unknown knob is a usage error naming the known ones.
rc=$(run "unknown.log" jailbroken --fault no_such_knob)
[[ $rc == 2 ]] || fail "--fault no_such_knob exits $rc, want 2"
grep -q 'ignore_posture' "$W/unknown.log" || fail "--fault no_such_knob does not list the known faults"
pass "unknown --fault is exit 2 with the list"
