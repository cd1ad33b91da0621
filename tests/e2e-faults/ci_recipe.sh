#!/usr/bin/env bash
# End-to-end, -DATTESTLAB_FAULTS=ON builds: the README's CI recipe ("In CI: regression
# baselines"), its commands taken from README.md and run as a CI job would, against a
# vendor's server that is `attestlab serve --fault accept_reused_nonce` (exactly one case,
# rfc8555-6.5-nonce-reuse, fails there). The baseline written once records that known
# failure; the CI command then exits 0 with the failure skipped in junit.xml, and exits 1
# when another fault makes a case that passed in the baseline fail (a regression).
# ATTESTLAB_SERVER_BIN (default ATTESTLAB_BIN) is the vendor's server binary.
source "$(dirname "$0")/../e2e/lib.sh"
SERVER_BIN=${ATTESTLAB_SERVER_BIN:-$ATTESTLAB_BIN}
README="$ATTESTLAB_SOURCE_DIR/README.md"

# The recipe's commands, as README gives them.
write_cmd=$(grep -m1 -e '--write-baseline ci/baseline.json' "$README" | sed 's/ *#.*$//')
gh_cmd=$(grep -m1 -e '- run: build/release/attestlab conform' "$README" | sed 's/^ *- run: //')
gl_cmd=$(grep -m1 -e '^    - build/release/attestlab conform' "$README" | sed 's/^ *- //')
[ -n "$write_cmd" ] && [ -n "$gh_cmd" ] && [ -n "$gl_cmd" ] || fail "the CI recipe is not in README.md"
[ "$gh_cmd" = "$gl_cmd" ] || fail "the GitHub and GitLab jobs run different commands"
grep -q 'upload-artifact' "$README" && grep -q 'junit: conformance-report/junit.xml' "$README" \
  || fail "the jobs do not publish the reports"
# Kept short for the test: only the nonce and url cases.
SELECT=(--only rfc8555-6.5 --only rfc8555-6.4)
run_recipe() {  # command-from-README → exit code in RC, output in $E2E_TMP/<name>.log
  local name=$1 cmd=$2
  cmd=${cmd/build\/release\/attestlab/attestlab}
  cmd=${cmd/attestlab conform/\"\$ATTESTLAB_BIN\" conform}
  RC=0
  (cd "$E2E_TMP/job" && eval "$cmd \"\${SELECT[@]}\"") >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.log" || RC=$?
}

# The vendor's server and its target.json (conformance/TARGETS.md).
start_vendor() {  # fault...
  local args=()
  for f in "$@"; do args+=(--fault "$f"); done
  local harness_bin=$ATTESTLAB_BIN
  DATA_DIR="$E2E_TMP/data-$RANDOM"
  SERVER_PORT=$(free_port)
  ATTESTLAB_BIN=$SERVER_BIN
  start_server "${args[@]}"
  ATTESTLAB_BIN=$harness_bin
  cat >"$E2E_TMP/job/target.json" <<EOT
{"name": "vendor", "directory_url": "$DIRECTORY_URL", "trust_ca": "$DATA_DIR/tls/cert.pem"}
EOT
}
mkdir -p "$E2E_TMP/job/ci"

start_vendor accept_reused_nonce
run_recipe write-baseline "$write_cmd"
[ $RC -eq 1 ] || fail "writing the baseline: exit $RC, expected 1 (one failure)"
/usr/bin/python3 - "$E2E_TMP/job/ci/baseline.json" <<'PY' || fail "baseline check"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["schema"] == "attestlab.baseline/1", b
cases = b["targets"]["vendor"]["cases"]
failing = sorted(k for k, v in cases.items() if v in ("fail", "error"))
assert failing == ["rfc8555-6.5-nonce-reuse"], failing
assert sum(1 for v in cases.values() if v == "pass") >= 5, cases
PY

run_recipe ci-known "$gh_cmd"
[ $RC -eq 0 ] || fail "with the known failure only: exit $RC, expected 0: $(tail -5 "$E2E_TMP/ci-known.log")"
grep -q "baseline: 0 regression(s), 0 new failure(s), 1 known failure(s)" "$E2E_TMP/ci-known.log" \
  || fail "no baseline summary: $(tail -5 "$E2E_TMP/ci-known.log")"
for f in junit.xml report.html result.json summary.md; do
  [ -s "$E2E_TMP/job/conformance-report/$f" ] || fail "no conformance-report/$f"
done
grep -q 'name="rfc8555-6.5-nonce-reuse"[^>]*><skipped message="known failure (baseline)' \
  "$E2E_TMP/job/conformance-report/junit.xml" || fail "junit.xml does not skip the known failure"
grep -q 'failures="0" errors="0"' "$E2E_TMP/job/conformance-report/junit.xml" \
  || fail "junit.xml counts the known failure"
stop_server

# Another fault: rfc8555-6.4-url-mismatch passed in the baseline and fails now.
start_vendor accept_reused_nonce skip_url_check
run_recipe ci-regression "$gh_cmd"
[ $RC -eq 1 ] || fail "with a regression: exit $RC, expected 1"
grep -q "regressions (1): vendor/rfc8555-6.4-url-mismatch" "$E2E_TMP/ci-regression.log" \
  || fail "the regression is not named: $(tail -6 "$E2E_TMP/ci-regression.log")"
grep -q '<failure message=' "$E2E_TMP/job/conformance-report/junit.xml" || fail "junit.xml has no failure"
stop_server

# The vendor fixed the known failure: an improvement, exit 0.
start_vendor
run_recipe ci-improved "$gh_cmd"
[ $RC -eq 0 ] || fail "after the fix: exit $RC, expected 0"
grep -q "improvements (1): vendor/rfc8555-6.5-nonce-reuse" "$E2E_TMP/ci-improved.log" \
  || fail "the improvement is not listed: $(tail -6 "$E2E_TMP/ci-improved.log")"
pass "README CI recipe: baseline with one known failure, regression exit 1, improvement listed"
