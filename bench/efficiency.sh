#!/usr/bin/env bash
# Issue 12's throughput, scaling and scale figures, one invocation, loopback only:
#   saturation  the plain flow (new account, order, http-01 validated for real through
#               pebble-challtestsrv's DNS, finalize, download) in the closed model with
#               --concurrency enrollments in flight, against `attestlab serve` on both cores,
#               `attestlab serve` pinned to one core (taskset -c 0; the generator then runs on
#               core 1) and Pebble (PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0) on both cores;
#               with --sweep 8,12,16,20 instead: both servers at each of those concurrencies
#               (both cores), then each one's best throughput of the runs that did not stop
#               early and their ratio. A server bound by its latency (Pebble validates
#               asynchronously: each enrollment waits out the generator's polls) is not at its
#               saturation at a concurrency where another one is; only the best of each is.
#               A best not shown to be saturation (a run at more in flight stopped early, or
#               the best is at the most in flight that finished) is called a lower bound,
#               and the ratio says which way that bounds it;
#   same rate   both servers at one offered rate both can carry (--rate, open model, latency
#               from each enrollment's intended start): p50/p99;
#   scale       with --seeded DIR (a data directory filled by bench/seed_store): attestlab serve
#               on it and on an empty one at --rate: p99 and server CPU per enrollment.
# Prints Markdown rows. The generator shares the two cores with the server under test (there
# is no third core here): figures compare servers measured the same way in one run.
#
#   bench/efficiency.sh [--concurrency 32] [--sweep C1,C2,...] [--duration 15s] [--warmup 3s]
#                       [--rate 40/s] [--seeded DATA_DIR] [--only saturation|rate|scale]
#                       [--out DIR]
# Each run's result.json, report.html and summary are kept in OUT/<run> (default ./efficiency-out).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ATTESTLAB_BIN:-$HERE/build/release/attestlab}
. "$HERE/bench/lib/options.sh"
take_options "$0" 26 "concurrency=32 sweep= duration=15s warmup=3s rate=40/s seeded= only= out=efficiency-out" "$@"
[ "$option_words" -eq $# ] || { echo "efficiency.sh: unexpected argument ${*:option_words+1:1}" >&2; exit 2; }
CONC=$concurrency SWEEP=$sweep DURATION=$duration WARMUP=$warmup RATE=$rate SEEDED=$seeded ONLY=$only OUT=$out
for p in "$BIN" pebble pebble-challtestsrv openssl taskset /usr/bin/python3; do
  command -v "$p" >/dev/null || { echo "efficiency.sh: $p not found" >&2; exit 2; }
done
[ -z "$SWEEP" ] || [[ $SWEEP =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  { echo "efficiency.sh: --sweep takes concurrencies like 8,12,16" >&2; exit 2; }
[ -z "$SEEDED" ] || [ -f "$SEEDED/attestlab.db" ] || { echo "efficiency.sh: no $SEEDED/attestlab.db" >&2; exit 2; }
source "$HERE/bench/lib.sh"
start_fake_dns

# run NAME GEN_WRAP SERVER_PID PROFILE load-args... → one Markdown row; also appends
# "NAME<TAB>throughput<TAB>stopped (0/1)" to $TMP/throughputs.
run() {
  local name=$1 wrap=$2 pid=$3 profile=$4; shift 4
  local dir="$OUT/$(tr -c 'a-z0-9\n' '-' <<<"$name")"
  $wrap "$BIN" load --target-profile "$profile" --server-pid "$pid" --duration "$DURATION" \
    --warmup "$WARMUP" --report-dir "$dir" --quiet "$@" >"$dir.txt" 2>&1 || true
  /usr/bin/python3 - "$dir/result.json" "$name" "$TMP/throughputs" <<'PY'
import json, sys
try:
    load = json.load(open(sys.argv[1]))["targets"][0]["load"]
except Exception as e:
    print(f"| {sys.argv[2]} | run failed: {e} |"); sys.exit(0)
s = load["summary"]; c = load["stats"]["counts"]
def f(v, digits):
    return "–" if v is None else f"{v:.{digits}f}"
lat = s.get("latency_ms") or {}
row = (f"| {sys.argv[2]} | {c['completed']} | {f(100 * s['error_share'], 2)} % | {f(s['throughput_per_s'], 1)} | "
       f"{f(lat.get('p50'), 1)} | {f(lat.get('p99'), 1)} | {f(s.get('server_cpu_ms_per_enrollment'), 2)} | "
       f"{f(s.get('generator_cpu_ms_per_enrollment'), 2)} |")
stopped = load.get("stopped") or s.get("stopped")
print(row + (f" stopped early: {stopped}" if stopped else ""))
with open(sys.argv[3], "a") as out:
    out.write(f"{sys.argv[2]}\t{s['throughput_per_s'] or 0}\t{1 if stopped else 0}\n")
PY
}
stop_attestlab() { kill "$A_PID"; wait "$A_PID" 2>/dev/null || true; unset A_DATA A_WRAP; }

header() {
  echo
  echo "$1"
  echo
  echo "| run | completed | errors | throughput (/s) | p50 (ms) | p99 (ms) | server CPU/enr (ms) | generator CPU/enr (ms) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); attestlab $(git -C "$HERE" rev-parse --short HEAD); load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -n "$SWEEP" ] && { [ -z "$ONLY" ] || [ "$ONLY" = saturation ]; }; then
  header "Saturation sweep: closed model at $SWEEP in flight, both cores, $DURATION after $WARMUP warm-up"
  : >"$TMP/throughputs"
  for c in ${SWEEP//,/ }; do
    start_attestlab
    run "attestlab serve, $c in flight" "" "$A_PID" "$(attestlab_profile)" --concurrency "$c"
    stop_attestlab
    start_pebble
    run "pebble, $c in flight" "" "$P_PID" "$(pebble_profile)" --concurrency "$c"
    kill "$P_PID"
  done
  /usr/bin/python3 - "$TMP/throughputs" <<'PY'
import re, sys
best = {}
finished = {}  # server -> [(in flight, rate)] of the runs that finished
stopped_at = {}  # server -> [in flight] of the runs that stopped early
for line in open(sys.argv[1]):
    name, rate, stopped = line.rstrip("\n").split("\t")
    server = name.split(",")[0]
    m = re.search(r"(\d+) in flight", name)
    flight = int(m.group(1)) if m else 0
    if stopped == "1" or float(rate) <= 0:
        stopped_at.setdefault(server, []).append(flight)
        continue
    finished.setdefault(server, []).append((flight, float(rate)))
    if float(rate) > best.get(server, (0.0, ""))[0]:
        best[server] = (float(rate), name, flight)
print()
# A best that is not that server's saturation: a run at more in flight stopped early, or its
# best is its most in flight (its throughput may still grow with concurrency).
lower_bound = {}
for server, (rate, name, flight) in best.items():
    higher_stopped = sorted(c for c in stopped_at.get(server, []) if c > flight)
    reasons = []
    if higher_stopped:
        reasons.append("its runs at " + ", ".join(map(str, higher_stopped)) + " in flight stopped early")
    if len(finished[server]) > 1 and flight == max(c for c, _ in finished[server]):
        reasons.append("its best is at the most in flight it finished")
    note = "; a lower bound on its saturation: " + " and ".join(reasons) if reasons else ""
    if reasons:
        lower_bound[server] = True
    print(f"best of {server}: {rate:.1f}/s ({name}; runs that stopped early not counted{note})")
if "attestlab serve" in best and "pebble" in best:
    ratio = best["attestlab serve"][0] / best["pebble"][0]
    caveat = []
    if lower_bound.get("pebble"):
        caveat.append("an upper bound: Pebble's best is a lower bound")
    if lower_bound.get("attestlab serve"):
        caveat.append("a lower bound: attestlab's best is a lower bound")
    print(f"ratio, best against best: {ratio:.2f}x" + (f" ({'; '.join(caveat)})" if caveat else ""))
else:
    print("ratio: not measured (a server finished no run)")
PY
elif [ -z "$ONLY" ] || [ "$ONLY" = saturation ]; then
  header "Saturation: closed model, $CONC in flight, $DURATION after $WARMUP warm-up"
  start_attestlab
  run "attestlab serve, 2 cores" "" "$A_PID" "$(attestlab_profile)" --concurrency "$CONC"
  stop_attestlab
  A_WRAP="taskset -c 0" start_attestlab
  run "attestlab serve, 1 core (generator on the other)" "taskset -c 1" "$A_PID" "$(attestlab_profile)" --concurrency "$CONC"
  stop_attestlab
  start_pebble
  run "pebble, 2 cores" "" "$P_PID" "$(pebble_profile)" --concurrency "$CONC"
  kill "$P_PID"
fi
if [ -z "$ONLY" ] || [ "$ONLY" = rate ]; then
  header "Same offered rate: open model, $RATE, $DURATION after $WARMUP warm-up"
  start_attestlab
  run "attestlab serve" "" "$A_PID" "$(attestlab_profile)" --rate "$RATE"
  stop_attestlab
  start_pebble
  run "pebble" "" "$P_PID" "$(pebble_profile)" --rate "$RATE"
  kill "$P_PID"
fi
if [ -n "$SEEDED" ] && { [ -z "$ONLY" ] || [ "$ONLY" = scale ]; }; then
  stored=$(/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from certificates").fetchone()[0])' "$SEEDED/attestlab.db")
  header "Scale: open model, $RATE, $DURATION after $WARMUP warm-up; empty store vs $stored stored enrollments"
  start_attestlab
  run "attestlab serve, empty store" "" "$A_PID" "$(attestlab_profile)" --rate "$RATE"
  stop_attestlab
  A_DATA=$SEEDED
  start_attestlab
  run "attestlab serve, $stored stored" "" "$A_PID" "$(attestlab_profile)" --rate "$RATE"
  echo
  echo "resident memory of the seeded server after the run: $(awk '/VmRSS/ {print $2, $3}' /proc/$A_PID/status)"
  stop_attestlab
fi
