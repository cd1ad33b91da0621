#!/usr/bin/env bash
# Throughput of 1, 2 and 4 `attestlab serve` processes on one PostgreSQL against one
# process on SQLite (issue 15), all driven by the same `attestlab load` (closed model,
# plain flow, http-01). Prints a Markdown table for bench/RESULTS.md.
#   ATTESTLAB_BIN=build/release/attestlab bench/multiprocess.sh [DURATION] [CONCURRENCY]
# Defaults: 15s measured after a 3s warm-up, concurrency 8. PostgreSQL (its own server from
# testing/pg_tmp.sh) keeps its durable defaults (fsync, synchronous_commit=on) unless
# PG_DURABLE=0; SERVE_THREADS sets every process's --threads (default: serve's own).
# Each configuration gets a fresh database and data dirs.
set -euo pipefail
: "${ATTESTLAB_BIN:?ATTESTLAB_BIN must point at the attestlab binary}"
ATTESTLAB_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${1:-15s}
CONCURRENCY=${2:-8}
source "$ATTESTLAB_SOURCE_DIR/tests/e2e/lib.sh"
command -v pebble-challtestsrv >/dev/null || fail "pebble-challtestsrv is not installed"

PG_TMP="$ATTESTLAB_SOURCE_DIR/testing/pg_tmp.sh"
PG_DIR=$(mktemp -d /tmp/attestlab-bench-pg.XXXXXX)
trap 'rc=$?; bash "$PG_TMP" stop "$PG_DIR" >/dev/null 2>&1 || true; (exit $rc); cleanup' EXIT
if [ "${PG_DURABLE:-1}" = 1 ]; then export PG_TMP_DURABLE=1; fi
bash "$PG_TMP" start "$PG_DIR" >/dev/null || fail "cannot start PostgreSQL"
SERVE_EXTRA=()
[ -n "${SERVE_THREADS:-}" ] && SERVE_EXTRA=(--threads "$SERVE_THREADS")

start_fake_dns
HTTP01=$(free_port)

# Starts n processes on store spec (a PostgreSQL URL, or "" for each its own SQLite),
# runs the load, stops them; prints one table row.
measure() {  # label n store
  local label=$1 n=$2 store=$3
  local base="$E2E_TMP/$label" pids=() targets=() i
  for ((i = 1; i <= n; i++)); do
    DATA_DIR="$base/data$i"
    if [ "$i" -gt 1 ]; then
      mkdir -p "$DATA_DIR"
      cp -a "$base/data1/ca" "$base/data1/tls" "$DATA_DIR/"
    fi
    unset SERVER_PORT
    local store_args=()
    [ -n "$store" ] && store_args=(--store "$store")
    start_server "${store_args[@]}" "${SERVE_EXTRA[@]}" --dns-server "127.0.0.1:$DNS_PORT" --http01-port "$HTTP01"
    pids+=("$SERVER_PID")
    targets+=(--target "$DIRECTORY_URL")
  done
  "$ATTESTLAB_BIN" load "${targets[@]}" --trust-ca "$base/data1/tls/cert.pem" \
    --http01-listen "127.0.0.1:$HTTP01" --concurrency "$CONCURRENCY" --duration "$DURATION" \
    --warmup 3s --report-dir "$base/report" --quiet >"$base.out" 2>"$base.log" \
    || fail "$label: load failed: $(tail -3 "$base.log")"
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  /usr/bin/python3 - "$base/report/result.json" "$label" "$n" <<'PY'
import json, sys
load = json.load(open(sys.argv[1]))["targets"][0]["load"]
s, c = load["summary"], load["stats"]["counts"]
lat = s["latency_ms"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {s['throughput_per_s']:.1f} | {c['completed']} | "
      f"{c['failed']} | {lat['p50']:.0f} | {lat['p99']:.0f} |")
PY
}

echo "| store | processes | enrollments/s | completed | failed | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|"
measure sqlite 1 ""
for n in 1 2 4; do
  url=$(bash "$PG_TMP" createdb "$PG_DIR" "bench$n")
  measure "postgresql-$n" "$n" "$url"
done
