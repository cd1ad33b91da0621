#!/usr/bin/env bash
# Builds the fuzz preset (clang-14, libFuzzer, ASan+UBSan) and runs every fuzz target:
#   1. regression: each input of fixtures/fuzz/NAME once (fast; any crash fails);
#   2. fresh: -max_total_time=SECONDS from that corpus (new inputs go to a scratch copy,
#      never into the repository), with the target's dictionary, an RSS limit and a
#      per-input timeout; any crash, leak, UB report, timeout or OOM fails.
# A failing input is kept in build/fuzz/crashes/NAME/ (reproduce: build/fuzz/fuzz/fuzz_NAME
# FILE); fix it and add a unit test named after what it found.
#   scripts/fuzz.sh [--seconds N] [--no-build] [--merge] [NAME...]
#     --seconds N   fresh run per target (default 30; 0 = regression only)
#     --no-build    use build/fuzz as it is
#     --merge       after the fresh run, merge what it found into fixtures/fuzz/NAME
#                   (-merge=1 keeps only inputs that add coverage; for maintainers)
# Targets run in parallel, one per core. Prints one line a target: corpus size, executions per second (wall and CPU), new inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
build=1
merge=0
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift ;;
    --no-build) build=0 ;;
    --merge) merge=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1") ;;
  esac
  shift
done
if [ ${#names[@]} -eq 0 ]; then
  mapfile -t names < <(sed -n 's/^attestlab_fuzzer(\([a-z0-9_]*\) .*/\1/p' fuzz/CMakeLists.txt)
fi

if [ $build -eq 1 ]; then
  cmake --preset fuzz >/dev/null
  cmake --build build/fuzz -j "$(nproc)" --target "${names[@]/#/fuzz_}"
fi

work="build/fuzz/work"
rm -rf "$work"
mkdir -p "$work" build/fuzz/crashes
# Leaks are failures too; a report names the input that triggered it.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

dict_of() {
  case "$1" in
    jws|identifier|scenario|target_profile|client_responses) echo json ;;
    http_acme) echo http ;;
    x509_csr|p384_verify) echo asn1 ;;
    attestation) echo cbor ;;
    mdm_plist) echo plist ;;
  esac
}

# One target: regression, then the fresh run. Writes $work/NAME.summary; non-zero on
# any failure (the failing input is in build/fuzz/crashes/NAME/).
run_target() {
  local name=$1
  local bin="build/fuzz/fuzz/fuzz_$name" seeds="fixtures/fuzz/$name"
  local crashes="build/fuzz/crashes/$name" log="$work/$name.log"
  [ -x "$bin" ] || { echo "fuzz.sh: $bin is not built" >&2; return 1; }
  [ -d "$seeds" ] || { echo "fuzz.sh: no seed corpus $seeds" >&2; return 1; }
  mkdir -p "$crashes"
  local opts=(-rss_limit_mb=2048 -timeout=10 -artifact_prefix="$crashes/" -print_final_stats=1)
  local dict
  dict=$(dict_of "$name")
  [ -n "$dict" ] && opts+=(-dict="fuzz/dict/$dict.dict")

  # 1. Regression: every seed once (a directory argument with -runs=0 replays it).
  if ! "$bin" "${opts[@]}" -runs=0 "$seeds" >"$log" 2>&1; then
    { echo "FAIL $name: regression over $seeds (log: $log)"; tail -n 30 "$log"; } >&2
    return 1
  fi
  local seed_count
  seed_count=$(find "$seeds" -type f | wc -l)
  if [ "$seconds" -eq 0 ]; then
    printf '%-18s corpus %4d  regression ok\n' "$name" "$seed_count" >"$work/$name.summary"
    return 0
  fi

  # 2. Fresh run from the corpus; what it finds goes to a scratch directory.
  local fresh="$work/$name.corpus"
  mkdir -p "$fresh"
  if ! /usr/bin/time -f "cpu_seconds: %U %S" -a -o "$log.cpu" \
    "$bin" "${opts[@]}" -max_total_time="$seconds" "$fresh" "$seeds" >>"$log" 2>&1; then
    { echo "FAIL $name: fresh run found a failing input in $crashes (log: $log)"
      grep -m1 -A25 -E '^==[0-9]+==ERROR|runtime error|ERROR: libFuzzer' "$log" || tail -n 30 "$log"
    } >&2
    return 1
  fi
  local execs runs per_cpu found
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # Executions per CPU second as well: on a shared machine wall-clock exec/s says little.
  per_cpu=$(awk -v n="${runs:-0}" '/^cpu_seconds:/ {c = $2 + $3} END {printf "%d", (c > 0 ? n / c : 0)}' "$log.cpu")
  found=$(find "$fresh" -type f | wc -l)
  printf '%-18s corpus %4d  %6s exec/s  %6s exec/cpu-s  %4d new inputs in %ss\n' \
    "$name" "$seed_count" "${execs:-?}" "$per_cpu" "$found" "$seconds" >"$work/$name.summary"
  if [ "$merge" -eq 1 ] && [ "$found" -gt 0 ]; then
    "$bin" -merge=1 "$seeds" "$fresh" >>"$log" 2>&1
  fi
}

# Each target is one process: run as many at once as there are cores.
export work seconds merge
export -f run_target dict_of
rc=0
printf '%s\n' "${names[@]}" | xargs -P "$(nproc)" -I{} bash -c 'run_target "$1"' _ {} || rc=1
cat "$work"/*.summary 2>/dev/null || true
failed=()
for name in "${names[@]}"; do
  [ -f "$work/$name.summary" ] || failed+=("$name")
done
if [ $rc -ne 0 ] || [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failing targets: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#names[@]} targets, no crash"
