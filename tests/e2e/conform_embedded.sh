#!/usr/bin/env bash
# End-to-end: the zero-setup path `attestlab conform --embedded` (attestlab's own server
# in-process with a fresh mock Apple CA, inventory, policy, fake DNS and http-01 port)
# exits 0 with zero failures and writes report.html, junit.xml and result.json covering
# every profile. Also checks the usage errors (exit 2, one line) and --list.
source "$(dirname "$0")/lib.sh"

expect_usage() {  # args...: exit 2 with exactly one line on stderr
  local rc=0
  "$ATTESTLAB_BIN" conform "$@" >"$E2E_TMP/usage.out" 2>"$E2E_TMP/usage.err" || rc=$?
  [ $rc -eq 2 ] || fail "conform $* exited $rc, expected 2"
  [ "$(wc -l <"$E2E_TMP/usage.err")" -eq 1 ] || fail "usage error is not one line: $(cat "$E2E_TMP/usage.err")"
}
expect_usage                                   # no target
expect_usage --embedded --only no-such-case    # a pattern matching nothing
echo '{"name": "x", "directory_url": "https://127.0.0.1:1/dir", "http01": {"listen": "nope"}}' \
  >"$E2E_TMP/bad-profile.json"
expect_usage --target-profile "$E2E_TMP/bad-profile.json"
grep -q 'http01.listen' "$E2E_TMP/usage.err" || fail "bad profile error does not name the field"
pass "usage errors exit 2 with one line"

"$ATTESTLAB_BIN" conform --list --only device-attest >"$E2E_TMP/list.out" || fail "--list failed"
grep -q '^device-attest-5-valid-attestation ' "$E2E_TMP/list.out" || fail "--list misses a case"
grep -q '^rfc8555' "$E2E_TMP/list.out" && fail "--list --only device-attest shows rfc8555 cases"
pass "--list honours --only"

t0=$SECONDS
rc=0
"$ATTESTLAB_BIN" conform --embedded --wire-logs all --report-dir "$E2E_TMP/report" \
  >"$E2E_TMP/conform.out" 2>"$E2E_TMP/conform.log" || rc=$?
echo "conform --embedded: $((SECONDS - t0)) s, exit $rc"
tail -2 "$E2E_TMP/conform.log"
[ $rc -eq 0 ] || { grep -E " (fail|error) " "$E2E_TMP/conform.log" | head -20 >&2; fail "attestlab conform --embedded exited $rc"; }
for f in report.html junit.xml result.json summary.md; do
  [ -s "$E2E_TMP/report/$f" ] || fail "no $f written"
done
grep -q '<testsuite' "$E2E_TMP/report/junit.xml" || fail "junit.xml has no testsuite"
/usr/bin/python3 - "$E2E_TMP/report/result.json" <<'PY' || fail "result.json check"
import json, sys
run = json.load(open(sys.argv[1]))
assert run["schema"] == "attestlab.result/1" and run["kind"] == "conformance"
[target] = run["targets"]
cases = target["cases"]
bad = [c["id"] + ": " + c["reason"] for c in cases if c["outcome"] in ("fail", "error")]
assert not bad, "\n".join(bad)
by_profile = {}
for c in cases:
    by_profile.setdefault(c["profile"], []).append(c)
for profile in ("rfc8555", "device-attest", "apple", "apple-mda-policy"):
    passed = [c for c in by_profile.get(profile, []) if c["outcome"] == "pass"]
    assert len(passed) >= 10, f"{profile}: only {len(passed)} passed"
# Every case carries its requirement and a wire log of what went over the wire.
assert all(c["requirement"] and c["spec"] and c["section"] and c["level"] for c in cases)
assert sum(1 for c in cases if c["wire_log"]) >= len(cases) - 5
print(f"{len(cases)} cases: " + ", ".join(f"{p} {len(v)}" for p, v in sorted(by_profile.items())))
PY
pass "conform --embedded: no failures, reports written"
