#!/usr/bin/env bash
# What `attestlab serve` does when offered more than it can carry: the plain flow (http-01
# validated for real through pebble-challtestsrv's DNS) in the open model at --rate, above
# this machine's saturation (~400/s on the 2-vCPU guest of bench/RESULTS.md), for
# --duration. Prints the load's figures (goodput, latency, server CPU per enrollment) and
# the failures grouped by type, step and detail: whether the excess is refused at the first
# request (the server keeps its goodput) or enrollments fail midway (it collapses), and the
# server's own count of connections refused at accept, by reason (behind, busy, full).
#
#   bench/overload.sh [--rate 500/s] [--duration 30s] [--warmup 2s] [--accounts 100]
#
# --accounts: a pool of accounts (a new account per enrollment would pass the server's
# default quota of new accounts per client IP). A_SERVE_ARGS passes extra `serve`
# arguments (bench/lib.sh). Loopback only; the load ends by itself after its duration
# and drain, and every process started is stopped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ATTESTLAB_BIN:-$HERE/build/release/attestlab}
. "$HERE/bench/lib/options.sh"
take_options "$0" 13 "rate=500/s duration=30s warmup=2s accounts=100" "$@"
[ "$option_words" -eq $# ] || { echo "overload.sh: unexpected argument ${*:option_words+1:1}" >&2; exit 2; }
for p in "$BIN" pebble-challtestsrv curl /usr/bin/python3; do
  command -v "$p" >/dev/null || { echo "overload.sh: $p not found" >&2; exit 2; }
done
source "$HERE/bench/lib.sh"
start_fake_dns
start_attestlab
echo "== attestlab serve offered $rate for $duration (after $warmup warm-up), $accounts accounts" >&2
"$BIN" load --target-profile "$(attestlab_profile)" --rate "$rate" --duration "$duration" \
  --warmup "$warmup" --accounts "$accounts" --server-pid "$A_PID" --report-dir "$TMP/report" \
  --quiet >"$TMP/load.txt" 2>&1 || true
[ -f "$TMP/report/result.json" ] || { cat "$TMP/load.txt" >&2; echo "overload.sh: the load wrote no result" >&2; exit 3; }
/usr/bin/python3 - "$TMP/report/result.json" "$rate" <<'PY'
import json, sys
load = json.load(open(sys.argv[1]))["targets"][0]["load"]
s, counts = load["summary"], load["stats"]["counts"]
print(f"| offered | completed | failed | goodput (/s) | p50 (ms) | p99 (ms) | server CPU/enr (ms) |")
print(f"|---|---:|---:|---:|---:|---:|---:|")
print(f"| {sys.argv[2]} | {counts.get('completed', 0)} | {counts.get('failed', 0)} | "
      f"{s['throughput_per_s']:.1f} | {s['latency_ms']['p50']:.0f} | {s['latency_ms']['p99']:.0f} | "
      f"{s['server_cpu_ms_per_enrollment']:.2f} |")
errors = load["stats"].get("errors", [])
if errors:
    print("\n| failures | type | step | example |")
    print("|---:|---|---|---|")
    for e in sorted(errors, key=lambda e: -e["count"]):
        print(f"| {e['count']} | {e.get('type', '')} | {e.get('step', '')} | {e.get('example', '')} |")
else:
    print("\nno failures")
PY
# The server's own count of the connections it refused at accept, by reason (/metrics).
echo
curl -s --max-time 5 --cacert "$A_DATA/tls/cert.pem" "https://127.0.0.1:$A_PORT/metrics" |
  awk '/^attestlab_http_connections_refused_total\{/ {sub(/.*reason="/, "", $1); sub(/"}/, "", $1); r = r " " $1 " " $2}
       END {print "refused at accept by the server (warm-up included):" (r == "" ? " (no metrics)" : r)}'
