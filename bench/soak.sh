#!/usr/bin/env bash
# Resident memory of `attestlab serve` over a long plain load (issue 12: flat, within ±10 %,
# over 10 minutes at 70 % of saturation): the open model at --rate for --duration, VmRSS of
# the server sampled every --every seconds; prints the samples, then the first sample after
# the warm-up, the last before the load's end, min, max and the spread relative to the
# first (--duration and --warmup in seconds: 600s), and the load's summary. Enrollments use a pool of --accounts accounts: 180/s with a new account each
# would pass the server's default quota of 10,000 new accounts per client IP per hour
# within a minute (429 rateLimited, as it should). Loopback only; bounded by --duration.
#
#   bench/soak.sh [--rate 180/s] [--duration 600s] [--warmup 30s] [--every 30] [--accounts 100]
#   A_SERVE_ARGS="--heap-trim-seconds 0" bench/soak.sh ...   # extra `serve` arguments
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ATTESTLAB_BIN:-$HERE/build/release/attestlab}
. "$HERE/bench/lib/options.sh"
take_options "$0" 10 "rate=180/s duration=600s warmup=30s every=30 accounts=100" "$@"
[ "$option_words" -eq $# ] || { echo "soak.sh: unexpected argument ${*:option_words+1:1}" >&2; exit 2; }
RATE=$rate DURATION=$duration WARMUP=$warmup EVERY=$every ACCOUNTS=$accounts
source "$HERE/bench/lib.sh"
start_fake_dns
start_attestlab
"$BIN" load --target-profile "$(attestlab_profile)" --rate "$RATE" --duration "$DURATION" \
  --warmup "$WARMUP" --accounts "$ACCOUNTS" --server-pid "$A_PID" --quiet >"$TMP/load.txt" 2>&1 &
LOAD=$!
# VmRSS splits into anonymous memory (the heap), file pages (the binary, libraries, SQLite's
# -shm index) and shared memory; the split tells a heap that grows from a mapping that does.
# From the server's /metrics: the allocator's bytes in use and free-but-kept (kB), and the
# open connections, which tell live memory from memory a busier moment left behind; the heap
# trims so far and the milliseconds they took (what trimming cost the request threads at most).
echo "| seconds | VmRSS (kB) | RssAnon | RssFile | RssShmem | heap in use | heap free | connections | trims | trim ms |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
t0=$SECONDS
samples=()
while kill -0 "$LOAD" 2>/dev/null; do
  read -r rss anon file shmem < <(awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2}
    /^RssShmem/ {s=$2} END {print r, a, f, s}' "/proc/$A_PID/status")
  read -r used free conns trims trim_ms < <(curl -s --max-time 5 --cacert "$A_DATA/tls/cert.pem" \
    "https://127.0.0.1:$A_PORT/metrics" | awk '/^attestlab_process_heap_bytes\{state="in_use"\}/ {u=int($2/1024)}
    /^attestlab_process_heap_bytes\{state="free"\}/ {f=int($2/1024)} /^attestlab_http_connections / {c=$2}
    /^attestlab_heap_trims_total / {n=$2} /^attestlab_heap_trim_seconds_total / {ms=sprintf("%.1f", $2 * 1000)}
    END {print (u == "" ? "-" : u), (f == "" ? "-" : f), (c == "" ? "-" : c), (n == "" ? "-" : n), (ms == "" ? "-" : ms)}')
  echo "| $((SECONDS - t0)) | $rss | $anon | $file | $shmem | $used | $free | $conns | $trims | $trim_ms |"
  samples+=("$((SECONDS - t0)):$rss")
  sleep "$EVERY"
done
wait "$LOAD" || true
warm=${WARMUP%s}
# Judged: the samples from the end of the warm-up to the end of the load. A sample taken
# after that (the load process still runs: it closes its connections, then times the crypto
# floor) shows the heap the connections left, before the trimmer's next round: listed, not
# judged.
/usr/bin/python3 - "$warm" "${DURATION%s}" "${samples[@]}" <<'PY'
import sys
warm, duration = float(sys.argv[1]), float(sys.argv[2])
pts = [tuple(map(int, s.split(":"))) for s in sys.argv[3:]]
after = [r for t, r in pts if warm <= t < warm + duration]
if after:
    first = after[0]
    print(f"\nfrom the end of the load's warm-up to the end of the load: first {first} kB, last {after[-1]} kB, min {min(after)} kB, max {max(after)} kB, "
          f"spread {100 * (max(after) - min(after)) / first:.1f} % of the first, last/first {after[-1] / first:.3f}")
late = [(t, r) for t, r in pts if t >= warm + duration]
if late:
    print("after the load ended (not judged): " + ", ".join(f"{r} kB at {t} s" for t, r in late))
PY
grep -E -A4 'enrollments:|latency from|CPU per|errors' "$TMP/load.txt" | head -24
