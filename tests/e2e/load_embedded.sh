#!/usr/bin/env bash
# End-to-end: `attestlab load` against attestlab's own server, run as `attestlab serve`
# (its /metrics count the certificates it issued) and in-process (--embedded).
#   - bad arguments and bad targets (unreachable, not ACME, untrusted TLS) exit 2 with one
#     line, before any load;
#   - honest counts: the enrollments the generator completed are the certificates the
#     target issued during the run;
#   - thresholds set the exit status (0 pass, 1 fail) and are written with their values;
#   - two shards run concurrently merge (`attestlab report merge`) into exactly the
#     histogram of their per-enrollment latencies (from --jsonl);
#   - a target that stops answering mid-run is reported as such (exit 1), Ctrl-C stops
#     cleanly with a partial report (exit 130);
#   - --embedded runs the device and mix flows.
# No wall-clock performance assertions.
source "$(dirname "$0")/lib.sh"
command -v pebble-challtestsrv >/dev/null || fail "pebble-challtestsrv is not installed"

expect_exit() {  # code args...: exit code, exactly one line on stderr
  local want=$1; shift
  local rc=0
  "$ATTESTLAB_BIN" load --quiet "$@" >"$E2E_TMP/expect.out" 2>"$E2E_TMP/expect.err" || rc=$?
  [ $rc -eq "$want" ] || fail "load $* exited $rc, expected $want: $(cat "$E2E_TMP/expect.err")"
  [ "$(wc -l <"$E2E_TMP/expect.err")" -eq 1 ] || fail "load $*: stderr is not one line: $(cat "$E2E_TMP/expect.err")"
}

# --- bad arguments -------------------------------------------------------------------------
expect_exit 2                                           # no target
expect_exit 2 --embedded --threshold 'p99<300'          # a latency needs a unit
grep -q 'threshold "p99<300"' "$E2E_TMP/expect.err" || fail "bad threshold not named"
expect_exit 2 --embedded --threshold 'latency<3ms'
expect_exit 2 --embedded --rate 10/s --concurrency 2
expect_exit 2 --embedded --rate fast
expect_exit 2 --embedded --duration 5s --count 10
expect_exit 2 --embedded --shard 3/2
expect_exit 2 --embedded --flow device --challenge dns-01
pass "bad arguments exit 2 with one line"

# --- attestlab serve with fake DNS and an http-01 port ----------------------------------------
start_fake_dns
HTTP01=$(free_port)
start_server --dns-server "127.0.0.1:$DNS_PORT" --http01-port "$HTTP01"
TRUST="$DATA_DIR/tls/cert.pem"
cat >"$E2E_TMP/serve-profile.json" <<EOF
{"name": "serve", "directory_url": "$DIRECTORY_URL", "trust_ca": "$TRUST",
 "challenges": ["http-01", "dns-01"], "http01": {"listen": "127.0.0.1:$HTTP01"},
 "dns01": {"challtestsrv_management": "http://127.0.0.1:$DNS_MGMT_PORT"}}
EOF

# --- bad targets: one line, exit 2, no load ---------------------------------------------------
expect_exit 2 --target "https://127.0.0.1:$(free_port)/acme/directory" --http01-listen "127.0.0.1:$(free_port)"
grep -q 'is unreachable' "$E2E_TMP/expect.err" || fail "unreachable target: $(cat "$E2E_TMP/expect.err")"
expect_exit 2 --target "$DIRECTORY_URL" --http01-listen "127.0.0.1:$(free_port)"   # TLS not trusted
grep -q -- '--trust-ca' "$E2E_TMP/expect.err" || fail "TLS failure gives no --trust-ca hint: $(cat "$E2E_TMP/expect.err")"
expect_exit 2 --target "https://127.0.0.1:$SERVER_PORT/healthz" --trust-ca "$TRUST" --http01-listen "127.0.0.1:$(free_port)"
grep -q 'is not an ACME directory' "$E2E_TMP/expect.err" || fail "not-ACME target: $(cat "$E2E_TMP/expect.err")"
expect_exit 2 --target "$DIRECTORY_URL" --trust-ca "$TRUST"   # plain flow without a way to answer
pass "bad targets exit 2 with one line before any load"

issued() {
  curl -s --cacert "$TRUST" "https://127.0.0.1:$SERVER_PORT/metrics" |
    awk '$1 == "attestlab_certificates_issued_total" {print $2}'
}

# --- honest counts, thresholds -----------------------------------------------------------------
before=$(issued)
rc=0
"$ATTESTLAB_BIN" load --target-profile "$E2E_TMP/serve-profile.json" --rate 20/s --count 40 \
  --warmup 0.5s --server-pid "$SERVER_PID" --threshold 'p99<60s' --threshold 'errors<=0' \
  --report-dir "$E2E_TMP/run" --quiet >"$E2E_TMP/run.out" 2>"$E2E_TMP/run.log" || rc=$?
after=$(issued)
cat "$E2E_TMP/run.out"
[ $rc -eq 0 ] || fail "load against attestlab serve exited $rc: $(cat "$E2E_TMP/run.log")"
grep -q 'threshold p99<60s .* pass' "$E2E_TMP/run.out" || fail "threshold line missing"
/usr/bin/python3 - "$E2E_TMP/run/result.json" "$before" "$after" <<'PY' || fail "result.json check"
import json, sys
run = json.load(open(sys.argv[1]))
assert run["schema"] == "attestlab.result/1" and run["kind"] == "load", run["kind"]
[t] = run["targets"]
load = t["load"]
counts = load["stats"]["counts"]
issued = int(float(sys.argv[3])) - int(float(sys.argv[2]))
done = counts["completed"] + counts["warmup_completed"]
assert done == issued, f"generator completed {done}, the target issued {issued}"
assert counts["completed"] == 40 and counts["failed"] == 0, counts
assert load["scheduled"] == 40 and load["summary"]["unfinished"] == 0
assert load["stats"]["latency_us"]["count"] == 40
for step in ("directory", "nonce", "account", "order", "challenge", "validation", "finalize", "download"):
    assert step in load["summary"]["steps_ms"], step
assert load["cpu"]["server_ms"] is not None and load["summary"]["server_cpu_ms_per_enrollment"] > 0
assert [th["passed"] for th in load["thresholds"]] == [True, True], load["thresholds"]
print(f"honest counts: {done} completed (40 measured), {issued} issued by the target")
PY

rc=0
"$ATTESTLAB_BIN" load --target-profile "$E2E_TMP/serve-profile.json" --challenge dns-01 \
  --concurrency 2 --count 6 --threshold 'rate>100000/s' --report-dir "$E2E_TMP/fail" --quiet \
  >"$E2E_TMP/fail.out" 2>"$E2E_TMP/fail.log" || rc=$?
[ $rc -eq 1 ] || fail "a failing threshold exited $rc, expected 1: $(cat "$E2E_TMP/fail.log")"
grep -q 'threshold rate>100000/s .* FAIL' "$E2E_TMP/fail.out" || fail "failing threshold not printed"
grep -q '"passed": false' "$E2E_TMP/fail/result.json" || fail "failing threshold not in result.json"
grep -q '6 completed, 0 failed' "$E2E_TMP/fail.out" || fail "dns-01 run: $(cat "$E2E_TMP/fail.out")"
pass "thresholds set the exit status (0 pass, 1 fail) and are written with their values"

# --- the renewal storm through ARI (RFC 9773): every renewal names the certificate it replaces
replaced() {
  sqlite3 "$DATA_DIR/attestlab.db" \
    "SELECT count(*) FROM certificates WHERE coalesce(json_extract(json, '$.replaced_by'), '') != ''"
}
before=$(issued)
replaced_before=$(replaced)
rc=0
"$ATTESTLAB_BIN" load --target-profile "$E2E_TMP/serve-profile.json" --flow renewal --ari \
  --accounts 4 --concurrency 4 --count 12 --report-dir "$E2E_TMP/ari" --quiet \
  >"$E2E_TMP/ari.out" 2>"$E2E_TMP/ari.log" || rc=$?
after=$(issued)
[ $rc -eq 0 ] || fail "load --flow renewal --ari exited $rc: $(cat "$E2E_TMP/ari.log")"
grep -q '12 completed, 0 failed' "$E2E_TMP/ari.out" || fail "ARI renewal: $(cat "$E2E_TMP/ari.out")"
issued_now=$(( ${after%.*} - ${before%.*} ))
[ "$issued_now" -eq 16 ] || fail "ARI renewal: the target issued $issued_now certificates, expected 4 first + 12 renewals"
[ $(( $(replaced) - replaced_before )) -eq 12 ] || fail "ARI renewal: $(( $(replaced) - replaced_before )) certificates marked replaced, expected 12"
expect_exit 2 --embedded --flow plain --ari
pass "renewal storm through ARI: 12 renewals, each replacing its account's previous certificate"

# --- shards merge exactly ---------------------------------------------------------------------
# Two generators on one machine cannot both listen on the target's http-01 port: dns-01.
for i in 1 2; do
  "$ATTESTLAB_BIN" load --target-profile "$E2E_TMP/serve-profile.json" --challenge dns-01 --rate 20/s --count 30 \
    --shard "$i/2" --jsonl "$E2E_TMP/shard$i.jsonl" --report-dir "$E2E_TMP/shard$i" --quiet \
    --threshold 'errors<=0' >"$E2E_TMP/shard$i.out" 2>"$E2E_TMP/shard$i.log" &
  eval "SHARD$i=\$!"
done
wait "$SHARD1" || fail "shard 1/2 failed: $(cat "$E2E_TMP/shard1.log")"
wait "$SHARD2" || fail "shard 2/2 failed: $(cat "$E2E_TMP/shard2.log")"
"$ATTESTLAB_BIN" report merge "$E2E_TMP/shard1/result.json" "$E2E_TMP/shard2/result.json" \
  --out "$E2E_TMP/merged" >"$E2E_TMP/merge.out" || fail "report merge failed"
/usr/bin/python3 - "$E2E_TMP/merged/result.json" "$E2E_TMP/shard1.jsonl" "$E2E_TMP/shard2.jsonl" <<'PY' || fail "merged histogram check"
import json, sys
from collections import Counter

def bucket(v):  # bench/load/histogram.h: 256 exact buckets, then 128 per power of two
    if v < 256:
        return v
    msb = v.bit_length() - 1
    return 256 + (msb - 8) * 128 + ((v >> (msb - 7)) - 128)

run = json.load(open(sys.argv[1]))
[t] = run["targets"]
load = t["load"]
assert load["shards"] == [0, 1] and load["shard_count"] == 2, load["shards"]
lat = []
ks = set()
for path in sys.argv[2:]:
    for line in open(path):
        e = json.loads(line)
        if e["type"] != "enrollment":
            continue
        assert e["k"] not in ks, f"enrollment {e['k']} ran twice"
        ks.add(e["k"])
        if e["measured"] and e["outcome"] == "completed":
            lat.append(e["latency_us"])
assert ks == set(range(30)), sorted(ks)
h = load["stats"]["latency_us"]
assert h["count"] == len(lat) == 30, (h["count"], len(lat))
assert (h["min"], h["max"], h["sum"]) == (min(lat), max(lat), sum(lat)), "min/max/sum differ"
assert dict((b, c) for b, c in h["buckets"]) == dict(Counter(bucket(v) for v in lat)), "buckets differ"
assert load["scheduled"] == 30 and load["stats"]["counts"]["completed"] == 30
assert load["thresholds"] and load["thresholds"][0]["passed"]
print(f"merged 2 shards: {h['count']} latencies, histogram equals the one built from the JSONL")
PY
pass "shards merge into exactly the histogram of their samples"

# --- a target that stops answering mid-run ----------------------------------------------------
base=$(issued)
"$ATTESTLAB_BIN" load --target-profile "$E2E_TMP/serve-profile.json" --rate 10/s --duration 60s \
  --stall-timeout 2s --report-dir "$E2E_TMP/stall" --quiet >"$E2E_TMP/stall.out" 2>"$E2E_TMP/stall.log" &
LOAD_PID=$!
for _ in $(seq 100); do [ "$(issued)" -ge $((base + 10)) ] 2>/dev/null && break; sleep 0.1; done
stop_server
rc=0
wait "$LOAD_PID" || rc=$?
[ $rc -eq 1 ] || fail "load against a target that went away exited $rc: $(cat "$E2E_TMP/stall.log")"
grep -q 'stopped answering' "$E2E_TMP/stall.out" || fail "not reported: $(cat "$E2E_TMP/stall.out")"
grep -q 'stopped answering' "$E2E_TMP/stall/result.json" || fail "not in result.json"
pass "a target that stops answering mid-run is reported as such (exit 1)"

# --- --embedded: device and mix flows, Ctrl-C ---------------------------------------------------
rc=0
"$ATTESTLAB_BIN" load --embedded --flow device --rate 10/s --count 10 --report-dir "$E2E_TMP/device" \
  --quiet >"$E2E_TMP/device.out" 2>"$E2E_TMP/device.log" || rc=$?
[ $rc -eq 0 ] || fail "device flow exited $rc: $(cat "$E2E_TMP/device.log")"
grep -q '10 completed, 0 failed' "$E2E_TMP/device.out" || fail "device flow: $(cat "$E2E_TMP/device.out")"
grep -q 'the target reports 10 certificates issued' "$E2E_TMP/device.out" || fail "device flow: issued count"
"$ATTESTLAB_BIN" load --embedded --flow mix --fault-share 0.5 --rate 10/s --count 12 --quiet \
  >"$E2E_TMP/mix.out" 2>"$E2E_TMP/mix.log" || fail "mix flow failed: $(cat "$E2E_TMP/mix.log")"
grep -q 'errors: none' "$E2E_TMP/mix.out" || fail "mix: fault refusals counted as errors: $(cat "$E2E_TMP/mix.out")"
grep -q 'fault enrollments' "$E2E_TMP/mix.out" || fail "mix: no fault enrollments"
grep -q 'accepted  <-' "$E2E_TMP/mix.out" && fail "mix: the embedded server accepted a faulted enrollment"
pass "--embedded device and mix flows (fault refusals counted apart)"

"$ATTESTLAB_BIN" load --embedded --rate 5/s --duration 60s --report-dir "$E2E_TMP/int" \
  >"$E2E_TMP/int.out" 2>"$E2E_TMP/int.log" &
LOAD_PID=$!
for _ in $(seq 100); do grep -q 'done' "$E2E_TMP/int.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
kill -INT "$LOAD_PID"
rc=0
wait "$LOAD_PID" || rc=$?
[ $rc -eq 130 ] || fail "Ctrl-C exited $rc, expected 130: $(tail -3 "$E2E_TMP/int.log")"
/usr/bin/python3 - "$E2E_TMP/int/result.json" <<'PY' || fail "partial report check"
import json, sys
load = json.load(open(sys.argv[1]))["targets"][0]["load"]
assert load["interrupted"] is True
assert 0 < load["scheduled"] < 300, load["scheduled"]
print(f"interrupted after {load['scheduled']} offered, {load['stats']['counts']['completed']} completed")
PY
pass "Ctrl-C stops cleanly and writes the partial report (exit 130)"
