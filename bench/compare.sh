#!/usr/bin/env bash
# The same plain ACME load (http-01 validated for real through pebble-challtestsrv's DNS)
# against `attestlab serve` and against Pebble (PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=0,
# so both servers do the same work), one after the other on this machine, loopback only.
# Prints throughput, latency, CPU per enrollment and the crypto floor (bench/load/
# crypto_floor.h, timed in each run) side by side with the ratio, and
# leaves both result.json files and their merge under OUT (default ./compare-out).
#
#   bench/compare.sh [--rate 20/s] [--duration 20s] [--warmup 2s] [--out DIR]
#
# Needs: the attestlab binary ($ATTESTLAB_BIN, default build/release/attestlab), pebble,
# pebble-challtestsrv, openssl, curl, /usr/bin/python3.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ATTESTLAB_BIN:-$HERE/build/release/attestlab}
RATE=20/s DURATION=20s WARMUP=2s OUT=compare-out
while [ $# -gt 0 ]; do
  case $1 in
    --rate) RATE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--rate R] [--duration D] [--warmup W] [--out DIR]" >&2; exit 2 ;;
  esac
done
for p in "$BIN" pebble pebble-challtestsrv openssl curl; do
  command -v "$p" >/dev/null || { echo "compare.sh: $p not found" >&2; exit 2; }
done
source "$HERE/bench/lib.sh"

start_fake_dns

run_load() {  # name profile server-pid
  echo "== $1: plain load $RATE for $DURATION after $WARMUP warm-up" >&2
  "$BIN" load --target-profile "$2" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" \
    --server-pid "$3" --report-dir "$OUT/$1" --quiet | tee "$OUT/$1.txt" >&2
}

start_attestlab
run_load attestlab "$(attestlab_profile)" "$A_PID"
kill "$A_PID"

start_pebble
run_load pebble "$(pebble_profile)" "$P_PID"

"$BIN" report merge "$OUT/attestlab/result.json" "$OUT/pebble/result.json" --out "$OUT/merged" >/dev/null
/usr/bin/python3 - "$OUT/attestlab/result.json" "$OUT/pebble/result.json" <<'PY'
import json, sys
def figures(path):
    load = json.load(open(path))["targets"][0]["load"]
    s = load["summary"]
    return {
        "completed": load["stats"]["counts"]["completed"],
        "errors %": 100 * s["error_share"],
        "throughput /s": s["throughput_per_s"],
        "p50 ms": s["latency_ms"]["p50"],
        "p99 ms": s["latency_ms"]["p99"],
        "server CPU ms/enr": s["server_cpu_ms_per_enrollment"],
        "generator CPU ms/enr": s["generator_cpu_ms_per_enrollment"],
        "crypto floor ms/enr": s.get("floor_cpu_ms_per_enrollment"),
    }
a, p = figures(sys.argv[1]), figures(sys.argv[2])
print(f"{'':22}{'attestlab':>12}{'pebble':>12}{'ratio':>8}")
for key in a:
    va, vp = a[key], p[key]
    ratio = f"{va / vp:.2f}" if isinstance(va, (int, float)) and isinstance(vp, (int, float)) and vp else "-"
    fmt = lambda v: "-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
    print(f"{key:22}{fmt(va):>12}{fmt(vp):>12}{ratio:>8}")
PY
echo "results in $OUT/{attestlab,pebble,merged}" >&2
