#!/bin/sh
# Profiles the in-process server during one acme_bench request benchmark with
# `perf record --call-graph dwarf` and prints, for the server's threads only (every thread
# but the benchmark's client thread), the share of samples per library, the inclusive
# share of the request's parts (handler, JWS verify, nonce record, SQLite, JSON, TLS,
# kernel) and the top symbols, as Markdown for bench/RESULTS.md. Needs linux-perf (the
# Debian package) and a built acme_bench.
#
# Usage: bench/profile_request.sh [--build-dir DIR] [--seconds N] [--frequency HZ]
#                                 [--top N] [--out FILE] [BENCHMARK_FILTER]
#   --build-dir  the build tree (default build/release)
#   --seconds    benchmark min time (default 8)
#   --frequency  samples per second and thread (default 400; each keeps 16 KiB of stack)
#   --top        symbols listed (default 25)
#   --out        keep perf.data there (default: a temporary file, removed)
#   BENCHMARK_FILTER  default post_as_get (BM_ServerRequest/post_as_get_authz)
# Symbols of stripped libraries (libcrypto's internal functions) show as "(unresolved)"
# and are summed per library. Exit status 2 on bad usage or a missing tool.
set -eu

. "$(dirname "$0")/lib/options.sh"
take_options "$0" 18 "build-dir=build/release seconds=8 frequency=400 top=25 out=" "$@"
shift "$option_words"
filter=${1:-post_as_get}
bench=$build_dir/bench/acme_bench
command -v perf >/dev/null || { echo "profile_request.sh: perf not found (apt-get install linux-perf)" >&2; exit 2; }
[ -x "$bench" ] || { echo "profile_request.sh: $bench is not built" >&2; exit 2; }

data=${out:-$(mktemp "${TMPDIR:-/tmp}/attestlab-perf-XXXXXX")}
trap '[ -n "$out" ] || rm -f "$data" "$data.old"' EXIT

# DWARF unwinding: libcrypto, libsqlite3 and this build keep no frame pointers, so plain
# `perf record -g` cannot attribute their samples to the attestlab code that called them.
perf record --call-graph dwarf,16384 -F "$frequency" -o "$data" -- "$bench" \
  --benchmark_filter="$filter" --benchmark_min_time="$seconds" >&2

perf script --no-inline -i "$data" -F pid,tid,ip,sym,dso 2>/dev/null |
  /usr/bin/python3 "$(dirname "$0")/perf_breakdown.py" "$top"
