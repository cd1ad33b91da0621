#!/bin/sh
# Runs the Google Benchmark micro-benchmarks (bench/*_bench.cpp) and prints a Markdown
# table for bench/RESULTS.md: each benchmark's CPU time per iteration, the minimum and the
# median of the repetitions, and the ratio of its minimum to that of its raw-OpenSSL twin
# (the benchmark named by its "twin=..." label, measured in the same binary). The minimum
# is the estimate to trust on a shared machine: a noisy neighbour only ever adds time.
# For whole-request benchmarks, which report a server_cpu counter, the CPU figure is the
# server's CPU per request (process CPU minus the client thread's), not the client's.
#
# Builds nothing: build first, e.g.
#   cmake --preset release && ninja -C build/release acme_bench store_bench jws_bench \
#     attestation_bench pki_bench nonce_bench
#
# Usage: bench/run_micro.sh [--build-dir DIR] [--out DIR] [--repetitions N]
#                           [--filter REGEX] [NAME_bench ...]
#        bench/run_micro.sh --from DIR [NAME_bench ...]   (table of an earlier run)
#   --build-dir  the build tree (default build/release); binaries are DIR/bench/*_bench
#   --out        where the JSON results go, one NAME_bench.json each (default: a new
#                temporary directory, printed)
#   --repetitions N  runs of each benchmark, interleaved (default 5)
#   --filter     passed to --benchmark_filter
#   --from       run nothing; print the table of the NAME_bench.json files in DIR
#   NAME_bench   only these binaries (default: every *_bench in the build tree, or with
#                --from every NAME_bench.json in DIR)
# Exit status: 0, or 1 when a binary fails or a benchmark reports an error (its row says
# which), 2 on bad usage.
set -eu

. "$(dirname "$0")/lib/options.sh"
take_options "$0" 26 "build-dir=build/release out= repetitions=5 filter= from=" "$@"
shift "$option_words"

case "$repetitions" in
  ''|*[!0-9]*) echo "run_micro.sh: --repetitions needs a positive number" >&2; exit 2 ;;
esac
[ "$repetitions" -ge 1 ] || { echo "run_micro.sh: --repetitions needs a positive number" >&2; exit 2; }

if [ -n "$from" ]; then
  [ -d "$from" ] || { echo "run_micro.sh: $from is not a directory" >&2; exit 2; }
  if [ $# -eq 0 ]; then
    set -- $(cd "$from" && ls -- *_bench.json 2>/dev/null | sed 's/\.json$//')
  fi
  [ $# -gt 0 ] || { echo "run_micro.sh: no *_bench.json in $from" >&2; exit 2; }
  out=$from
fi

bench_dir=$build_dir/bench
if [ -z "$from" ] && [ $# -eq 0 ]; then
  set -- $(cd "$bench_dir" 2>/dev/null && ls -- *_bench 2>/dev/null || true)
fi
if [ $# -eq 0 ]; then
  echo "run_micro.sh: no *_bench binaries in $bench_dir (build them first)" >&2
  exit 2
fi
status=0
if [ -z "$from" ]; then
  for name in "$@"; do
    [ -x "$bench_dir/$name" ] || { echo "run_micro.sh: $bench_dir/$name is not built" >&2; exit 2; }
  done
  if [ -z "$out" ]; then
    out=$(mktemp -d "${TMPDIR:-/tmp}/attestlab-micro-XXXXXX")
  fi
  mkdir -p "$out"
  echo "results: $out" >&2
  # Interleaved repetitions spread a noisy neighbour's bursts over every benchmark
  # instead of over whichever ran at that moment, which keeps the twin ratios fair.
  for name in "$@"; do
    echo "running $name ..." >&2
    if ! "$bench_dir/$name" --benchmark_format=json \
        --benchmark_repetitions="$repetitions" \
        --benchmark_enable_random_interleaving=true \
        ${filter:+--benchmark_filter="$filter"} >"$out/$name.json"; then
      echo "run_micro.sh: $name failed" >&2
      status=1
    fi
  done
fi

/usr/bin/python3 - "$out" "$@" <<'EOF' || status=1
import json
import re
import sys

out, names = sys.argv[1], sys.argv[2:]
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def fmt(seconds):
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def base_name(entry):
    # The run name without the suffixes options add ("/min_time:3.000", "/real_time").
    return re.sub(r"(/min_time:[0-9.]+|/real_time)+$", "", entry.get("run_name", entry["name"]))


def position(entry):
    # Registration order (interleaved repetitions come out shuffled).
    return (entry.get("family_index", 0), entry.get("per_family_instance_index", 0))


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


failed = False
rows = []
for name in names:
    try:
        with open(f"{out}/{name}.json") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        rows.append((name, "(no results)", f"error: {e}", "", "", "", ""))
        failed = True
        continue
    # Per benchmark: every repetition's cost (and real time), its twin, whether the cost
    # is the server's; aggregates are recomputed here, so Google Benchmark's are skipped.
    runs, order, errors = {}, [], {}
    for entry in sorted(report.get("benchmarks", []), key=position):
        if entry.get("run_type") == "aggregate":
            continue
        bench = base_name(entry)
        if bench not in order:
            order.append(bench)
        if entry.get("error_occurred"):
            errors[bench] = entry.get("error_message", "error")
            continue
        unit = UNIT[entry.get("time_unit", "ns")]
        cost, what = entry["cpu_time"] * unit, ""
        if "server_cpu" in entry:
            cost, what = entry["server_cpu"], " (server)"
        label = entry.get("label", "") or ""
        twin = label[len("twin="):] if label.startswith("twin=") else ""
        run = runs.setdefault(bench, {"costs": [], "reals": [], "twin": twin, "what": what})
        run["costs"].append(cost)
        run["reals"].append(entry["real_time"] * unit)
    for bench in order:
        if bench in errors or bench not in runs:
            rows.append((name, bench, "ERROR: " + errors.get(bench, "no runs"), "", "", "", ""))
            failed = True
            continue
        run = runs[bench]
        best = min(run["costs"])
        ratio = ""
        if run["twin"]:
            twin = runs.get(run["twin"])
            ratio = f"{best / min(twin['costs']):.2f}×" if twin else "twin missing"
        rows.append((name, bench, fmt(best) + run["what"], fmt(median(run["costs"])),
                     fmt(median(run["reals"])), run["twin"], ratio))

print("| binary | benchmark | CPU time (min) | CPU time (median) | real time (median) "
      "| raw twin | ratio to twin (min/min) |")
print("|---|---|---:|---:|---:|---|---:|")
for row in rows:
    print("| " + " | ".join(f"`{c}`" if i == 1 or (i == 5 and c) else c
                              for i, c in enumerate(row)) + " |")
sys.exit(1 if failed else 0)
EOF
exit $status
