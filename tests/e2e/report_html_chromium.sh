#!/usr/bin/env bash
# The HTML report opens offline in a real browser (Debian chromium, headless): `attestlab
# report merge` of two targets renders the side-by-side matrix and a drill-down; we check
# the DOM Chromium built and take a screenshot.
source "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || fail "chromium is not installed (scripts/setup.sh installs it)"
data="$ATTESTLAB_SOURCE_DIR/tests/e2e/data"
set +e
"$ATTESTLAB_BIN" report merge "$data/result-a.json" "$data/result-b.json" --out "$E2E_TMP/r" >"$E2E_TMP/merge.log" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "merge of a run with a failure must exit 1, got $rc: $(cat "$E2E_TMP/merge.log")"
for f in result.json junit.xml summary.md report.html; do [ -s "$E2E_TMP/r/$f" ] || fail "no $f"; done

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --user-data-dir="$E2E_TMP/profile")
timeout 60 "${chrome[@]}" --dump-dom "file://$E2E_TMP/r/report.html" >"$E2E_TMP/dom.html" 2>"$E2E_TMP/chromium.log" \
  || fail "chromium could not load the report"
grep -q '<th>embedded</th><th>vendor-x</th>' "$E2E_TMP/dom.html" || fail "matrix has no column per target"
grep -q 'class="fail"><a href="#t1-rfc8555-6_4-url-mismatch">fail</a>' "$E2E_TMP/dom.html" \
  || fail "failing cell does not link to its drill-down"
grep -q 'id="t1-rfc8555-6' "$E2E_TMP/dom.html" || fail "no drill-down anchors"
grep -q 'urn:ietf:params:acme:error:badNonce' "$E2E_TMP/dom.html" || fail "wire log not in the drill-down"

timeout 60 "${chrome[@]}" --window-size=1280,1600 --screenshot="$E2E_TMP/report.png" \
  "file://$E2E_TMP/r/report.html" >>"$E2E_TMP/chromium.log" 2>&1 || fail "screenshot failed"
assert_rendered_png "$E2E_TMP/report.png" 1280 1600
[ -z "${ATTESTLAB_SCREENSHOT_DIR:-}" ] || cp "$E2E_TMP/report.png" "$ATTESTLAB_SCREENSHOT_DIR/"
pass "HTML report renders in Chromium with the matrix and drill-down"
