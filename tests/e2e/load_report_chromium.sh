#!/usr/bin/env bash
# The load report (report.html beside result.json) opens offline in a real browser
# (Debian chromium, headless): a short `attestlab load --embedded` device run writes it;
# Chromium's DOM has the four plots with drawn series, the summary figures of result.json
# and the threshold with its measured value; the page logs nothing to the console, fetches
# nothing, and its screenshot is not blank. `attestlab report render` of that result
# writes the same report again. No performance assertion (the threshold is 60 s).
source "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || fail "chromium is not installed (scripts/setup.sh installs it)"

"$ATTESTLAB_BIN" load --embedded --flow device --rate 10/s --duration 3s --quiet \
  --threshold 'p99<60s' --report-dir "$E2E_TMP/load" >"$E2E_TMP/load.log" 2>&1 \
  || fail "the load run failed: $(tail -5 "$E2E_TMP/load.log")"
for f in result.json summary.txt report.html; do [ -s "$E2E_TMP/load/$f" ] || fail "no $f"; done
if grep -Eq '<script|src=|href="https?:' "$E2E_TMP/load/report.html"; then
  fail "the report is not self-contained"
fi

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --enable-logging=stderr --v=0 --user-data-dir="$E2E_TMP/profile")
timeout 60 "${chrome[@]}" --dump-dom "file://$E2E_TMP/load/report.html" >"$E2E_TMP/dom.html" \
  2>"$E2E_TMP/chromium.log" || fail "chromium could not load the report"
if grep -E 'CONSOLE|Uncaught' "$E2E_TMP/chromium.log"; then fail "console messages while loading"; fi

/usr/bin/python3 - "$E2E_TMP/dom.html" "$E2E_TMP/load/result.json" <<'PY' || fail "the DOM lacks the plots or the figures"
import json, re, sys
dom = open(sys.argv[1]).read()
result = json.load(open(sys.argv[2]))
assert result["kind"] == "load", result["kind"]
load = result["targets"][0]["load"]
completed = load["stats"]["counts"]["completed"]
assert completed > 0, "nothing completed"
assert f'data-completed="{completed}"' in dom, "the section does not carry the completed count"
assert f"{completed} completed, " in dom, "the summary table lacks the completed count"
for plot in ("throughput", "latency-over-time", "latency-distribution", "steps"):
    assert dom.count(f'<svg class="plot {plot}"') == 1, f"no {plot} plot"
def path(series):
    m = re.search(r'data-series="%s" d="(M[^"]+)"' % re.escape(series), dom)
    assert m, f"series {series} has no drawn path"
    return m.group(1)
assert " L" in path("completed/s"), "the throughput line has a single point"
path("p50"); path("p99")
assert len(re.findall(r'<rect class="column"', dom)) >= 1, "the distribution has no column"
# device flow: directory, nonce, account, order, challenge, attest, validation, finalize, download
assert len(re.findall(r'<rect class="bar"', dom)) >= 2 * 8, "the step chart misses steps"
for step in ("validation wait", "finalize", "download", "attest (generator)"):
    assert f">{step}</text>" in dom, f"step {step} missing"
t = load["thresholds"][0]
assert t["passed"], t
assert f'<code>p99&lt;60s</code></td><td>{t["measured"]}</td><td>pass</td>' in dom, "threshold row"
PY

timeout 60 "${chrome[@]}" --window-size=1280,1600 --screenshot="$E2E_TMP/load.png" \
  "file://$E2E_TMP/load/report.html" >>"$E2E_TMP/chromium.log" 2>&1 || fail "screenshot failed"
assert_rendered_png "$E2E_TMP/load.png" 1280 1600
[ -z "${ATTESTLAB_SCREENSHOT_DIR:-}" ] || cp "$E2E_TMP/load.png" "$ATTESTLAB_SCREENSHOT_DIR/"

"$ATTESTLAB_BIN" report render "$E2E_TMP/load/result.json" --out "$E2E_TMP/again" >"$E2E_TMP/render.log" 2>&1 \
  || fail "report render of a load result failed: $(cat "$E2E_TMP/render.log")"
grep -q '<svg class="plot throughput"' "$E2E_TMP/again/report.html" || fail "report render wrote no plots"
pass "load report renders in Chromium with four plots, the figures and the thresholds"
