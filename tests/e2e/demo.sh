#!/usr/bin/env bash
# End-to-end: `attestlab demo` starts the embedded server, the MDM emulator and a fleet,
# runs every scenario, the conformance suite and a short load, exits 0 when everything
# passed and writes result.json, junit.xml, summary.md and report.html into --report-dir,
# with the load's report beside them (load.json of kind "load", load.html, load.txt).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY=/usr/bin/python3
W=$E2E_TMP

rc=0
"$ATTESTLAB_BIN" demo --report-dir "$W/latest" --quiet >"$W/demo.log" 2>"$W/demo.stderr.log" || rc=$?
for f in result.json junit.xml summary.md report.html load.json load.html load.txt; do
  [[ -s $W/latest/$f ]] || fail "demo wrote no $f"
done
grep -q '^demo finished in ' "$W/demo.log" || fail "no timing line: $(tail -5 "$W/demo.log")"
grep -q 'fleet-rollout-100 ' "$W/demo.log" || fail "the summary table has no fleet row"
$PY - "$W/latest/result.json" "$rc" <<'EOF' || fail "result.json does not match the exit code"
import json, sys
r = json.load(open(sys.argv[1])); rc = int(sys.argv[2])
assert r["schema"] == "attestlab.result/1" and r["kind"] == "demo"
cases = r["targets"][0]["cases"]
scenario = [c for c in cases if "/" in c["id"]]
conformance = [c for c in cases if "/" not in c["id"]]
assert len({c["profile"] for c in scenario}) >= 25, "scenarios missing"
assert conformance, "the conformance run is missing"
bad = [c["id"] + ": " + c["reason"] for c in cases if c["outcome"] in ("fail", "error")]
if bad:
    print("failed or errored:\n  " + "\n  ".join(bad), file=sys.stderr)
assert rc == (1 if bad else 0), f"exit {rc} but {len(bad)} failures"
assert not bad, "attestlab demo found failures"
EOF
grep -q '^load (device flow, ' "$W/demo.log" || fail "the summary has no load line: $(tail -5 "$W/demo.log")"
grep -q '<svg class="plot throughput"' "$W/latest/load.html" || fail "load.html has no throughput plot"
$PY - "$W/latest/load.json" <<'EOF' || fail "load.json is not a completed load"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema"] == "attestlab.result/1" and r["kind"] == "load", r["kind"]
load = r["targets"][0]["load"]
assert load["flow"] == "device", load["flow"]
completed = load["stats"]["counts"]["completed"]
assert completed > 0, "the demo's load completed nothing"
assert load["target_issued"] == completed, (load["target_issued"], completed)
EOF
[[ $rc == 0 ]] || fail "attestlab demo exited $rc"
pass "attestlab demo: $(grep '^demo finished' "$W/demo.log")"

# Lighter reports (issue 14): wire logs only for cases that did not pass (--wire-logs
# failures is the default), so a passing demo's report opens fast.
html_bytes=$(wc -c <"$W/latest/report.html")
json_bytes=$(wc -c <"$W/latest/result.json")
[ "$html_bytes" -lt 1048576 ] || fail "report.html is $html_bytes bytes, want < 1 MiB"
[ "$json_bytes" -lt 1048576 ] || fail "result.json is $json_bytes bytes, want < 1 MiB"
$PY - "$W/latest/result.json" <<'EOF2' || fail "passing cases kept their wire logs"
import json, sys
cases = json.load(open(sys.argv[1]))["targets"][0]["cases"]
kept = [c["id"] for c in cases if c["outcome"] in ("pass", "skip") and c.get("wire_log")]
assert not kept, kept[:5]
EOF2
if command -v chromium >/dev/null; then
  timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$W/profile" \
    --dump-dom "file://$W/latest/report.html" >"$W/dom.html" 2>"$W/chromium.log" \
    || fail "chromium could not load the demo report"
  grep -q 'fleet-rollout-100' "$W/dom.html" || fail "the demo report's DOM lacks the fleet scenario"
fi
pass "demo reports: report.html $html_bytes bytes, result.json $json_bytes bytes"
