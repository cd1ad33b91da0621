#!/usr/bin/env bash
# Server CPU per unmodified-lego enrollment (issue 12's "sequential lego" method): N lego runs,
# one after the other, each a new account + order + http-01 + finalize + download, against
# `attestlab serve` and against Pebble (PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=0) in the
# same invocation. The server's CPU is read just before the first and after the last run, so
# start-up is excluded, and divided by N: in nanoseconds from each thread's
# /proc/PID/task/TID/schedstat (exact, when the server kept its threads), and in clock ticks
# from /proc/PID/stat (utime+stime, 10 ms ticks; what earlier figures used).
#
#   bench/lego_cpu.sh [--runs N] [--only attestlab|pebble] [--perf FILE] [--threads]
#
# --threads: also print, for the attestlab server, its CPU per enrollment by thread name
# (/proc/PID/task/TID/comm and schedstat, threads alive through all runs).
#
# --perf FILE: also record the attestlab server with `perf record -g` during the runs
# (linux-perf), sampling at $PERF_FREQ per second (default 2000), and print its breakdown
# (bench/perf_breakdown.py) after the table.
#
# Prints one Markdown table row per server. Needs lego, pebble, pebble-challtestsrv,
# openssl and the attestlab binary ($ATTESTLAB_BIN, default build/release/attestlab).
# Loopback only; every loop is bounded.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ATTESTLAB_BIN:-$HERE/build/release/attestlab}
RUNS=30 ONLY="" PERF="" THREADS=""
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --perf) PERF=$2; shift 2 ;;
    --threads) THREADS=1; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--runs N] [--only attestlab|pebble] [--perf FILE] [--threads]" >&2; exit 2 ;;
  esac
done
for p in "$BIN" lego pebble pebble-challtestsrv openssl; do
  command -v "$p" >/dev/null || { echo "lego_cpu.sh: $p not found" >&2; exit 2; }
done
source "$HERE/bench/lib.sh"
# utime+stime of a process in clock ticks (10 ms here: ±0.33 ms per enrollment over 30 runs).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# The same in nanoseconds, summed over the threads' schedstat (sum_exec_runtime), and the
# thread ids it was summed over: exact when the server kept the same threads through the
# runs (a thread that ended takes its time out of the sum, so then the ticks are used).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'; }
thread_ids() { ls /proc/"$1"/task | sort -n | tr '\n' ' '; }
# Minor page faults of the server so far (a page touched for the first time, or again after
# the allocator gave it back: costly in a virtual machine).
min_faults() { awk '{ print $10 }' "/proc/$1/stat"; }
# Context switches of the server's threads so far (voluntary: a thread waited, e.g. a wake-up
# per request on a server idle between requests; involuntary: preempted).
ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s + 0 }'; }
# "TID NAME NANOSECONDS" per thread of a process (the name is one word: comm's spaces become _).
thread_cpu() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm" 2>/dev/null)" \
      "$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"
  done
}
TICKS=$(getconf CLK_TCK)

start_fake_dns

# measure NAME PID DIRECTORY CA-FILE HTTP01-PORT
measure() {
  local before after i perf_pid=""
  if [ -n "$PERF" ] && [ "$1" = attestlab ]; then
    perf record -q --call-graph dwarf,16384 -F ${PERF_FREQ:-2000} -p "$2" -o "$PERF" 2>"$TMP/perf.log" &
    perf_pid=$!
    sleep 1
  fi
  before=$(cpu_ticks "$2")
  local before_ns before_threads after_ns
  before_ns=$(cpu_ns "$2") before_threads=$(thread_ids "$2")
  local before_cs after_cs before_pf after_pf
  before_cs=$(ctx_switches "$2") before_pf=$(min_faults "$2")
  [ -z "$THREADS" ] || thread_cpu "$2" >"$TMP/threads-before"
  local t0=$SECONDS
  for i in $(seq "$RUNS"); do
    LEGO_CA_CERTIFICATES="$4" lego --accept-tos --server "$3" --email "bench@example.com" \
      --domains "n$i.bench.example" --http --http.port "127.0.0.1:$5" --path "$TMP/lego-$1-$i" \
      run >"$TMP/lego-$1-$i.log" 2>&1 || { echo "lego run $i against $1 failed:" >&2; tail -5 "$TMP/lego-$1-$i.log" >&2; exit 1; }
    [ -s "$TMP/lego-$1-$i/certificates/n$i.bench.example.crt" ] || { echo "no certificate from $1 run $i" >&2; exit 1; }
  done
  after=$(cpu_ticks "$2")
  after_ns=$(cpu_ns "$2")
  after_cs=$(ctx_switches "$2") after_pf=$(min_faults "$2")
  [ -z "$THREADS" ] || thread_cpu "$2" >"$TMP/threads-after"
  [ "$(thread_ids "$2")" = "$before_threads" ] || after_ns=""
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  awk -v n="$1" -v d=$((after - before)) -v runs="$RUNS" -v hz="$TICKS" -v s=$((SECONDS - t0)) \
    -v ns="${after_ns:+$((after_ns - before_ns))}" -v cs=$((after_cs - before_cs)) \
    -v pf=$((after_pf - before_pf)) \
    'BEGIN { exact = ns == "" ? "– (threads changed)" : sprintf("%.3f ms", ns / 1e6 / runs)
             printf "| %s | %d | %s | %.2f ms | %.0f | %.0f | %d s |\n", n, runs, exact,
                    1000 * d / hz / runs, cs / runs, pf / runs, s }'
  if [ -n "$THREADS" ] && [ "$1" = attestlab ]; then
    # Threads present before and after, summed by name; one that started or ended between
    # the two readings is left out and counted.
    awk -v runs="$RUNS" 'FNR == NR { name[$1] = $2; was[$1] = $3; next }
      ($1 in was) && name[$1] == $2 { cpu[$2] += $3 - was[$1]; count[$2]++; delete was[$1]; next }
      { changed++ }
      END { for (t in was) changed++
            for (n in cpu) printf "  thread %-16s x%d  %.3f ms per enrollment\n", n, count[n], cpu[n] / 1e6 / runs
            if (changed) printf "  (%d threads started or ended during the runs, not counted)\n", changed }' \
      "$TMP/threads-before" "$TMP/threads-after" | sort -k4 -n -r >&2
  fi
}

echo "| server | lego runs | server CPU per enrollment (schedstat) | (clock ticks) | context switches per enrollment | page faults per enrollment | wall time |"
echo "|---|---:|---:|---:|---:|---:|---:|"
if [ "$ONLY" != pebble ]; then
  start_attestlab
  measure attestlab "$A_PID" "$A_DIRECTORY" "$TMP/attestlab/tls/cert.pem" "$A_HTTP01"
  [ -z "${KEEP_LOG:-}" ] || cp "$TMP/serve.log" "$KEEP_LOG"
  kill "$A_PID"
fi
if [ "$ONLY" != attestlab ]; then
  start_pebble
  measure pebble "$P_PID" "$P_DIRECTORY" "$TMP/cert.pem" "$P_HTTP01"
fi
if [ -n "$PERF" ] && [ "$ONLY" != pebble ]; then
  echo
  perf script --no-inline -i "$PERF" -F pid,tid,ip,sym,dso 2>/dev/null |
    /usr/bin/python3 "$HERE/bench/perf_breakdown.py" 25 --all-threads
fi
