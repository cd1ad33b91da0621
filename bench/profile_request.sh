#!/bin/sh
# Profiles the in-process server during one acme_bench request benchmark with
# `perf record -g` and prints, for the server's threads only (every thread but the
# benchmark's client thread), the share of samples per library and the top symbols, as
# Markdown for bench/RESULTS.md. Needs linux-perf (Debian package) and a built acme_bench.
#
# Usage: bench/profile_request.sh [--build-dir DIR] [--seconds N] [--top N] [--out FILE]
#                                 [BENCHMARK_FILTER]
#   --build-dir  the build tree (default build/release)
#   --seconds    benchmark min time (default 8)
#   --top        symbols listed (default 25)
#   --out        keep perf.data there (default: a temporary file, removed)
#   BENCHMARK_FILTER  default post_as_get (BM_ServerRequest/post_as_get_authz)
# Symbols of stripped libraries (libcrypto's internal functions) show as addresses and
# are also summed per library. Exit status 2 on bad usage or a missing tool.
set -eu

build_dir=build/release
seconds=8
top=25
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "profile_request.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
filter=${1:-post_as_get}
bench=$build_dir/bench/acme_bench
command -v perf >/dev/null || { echo "profile_request.sh: perf not found (apt-get install linux-perf)" >&2; exit 2; }
[ -x "$bench" ] || { echo "profile_request.sh: $bench is not built" >&2; exit 2; }

data=${out:-$(mktemp "${TMPDIR:-/tmp}/attestlab-perf-XXXXXX")}
trap '[ -n "$out" ] || rm -f "$data" "$data.old"' EXIT

perf record -g -F 2000 -o "$data" -- "$bench" --benchmark_filter="$filter" \
  --benchmark_min_time="$seconds" >&2

# The benchmark's main thread is the client: its tid is the process id.
perf script -i "$data" -F pid,tid,ip,sym,dso -G 2>/dev/null | /usr/bin/python3 -c '
import collections
import re
import sys

top = int(sys.argv[1])
by_lib, by_sym, total = collections.Counter(), collections.Counter(), 0
line_re = re.compile(r"^\s*(\d+)/(\d+)\s+[0-9a-f]+\s*(.*?)\s*\(([^()]*)\)\s*$")
for line in sys.stdin:
    m = line_re.match(line)
    if not m or m.group(1) == m.group(2):
        continue  # unparsable, or the client thread
    sym, dso = m.group(3) or "[unknown]", m.group(4).rsplit("/", 1)[-1]
    # Template arguments make C++ names unreadable in a table; keep the qualified name.
    while True:
        shorter = re.sub(r"<[^<>]*>", "", sym)
        if shorter == sym:
            break
        sym = shorter
    if re.fullmatch(r"[0-9a-fx]+|\[unknown\]", sym):
        sym = "(unresolved)"
    by_lib[dso] += 1
    by_sym[(sym, dso)] += 1
    total += 1
if total == 0:
    sys.exit("profile_request.sh: no server samples")
print(f"Server threads: {total} samples.\n")
print("| library | share |\n|---|---:|")
for lib, n in by_lib.most_common():
    if n * 1000 >= total:
        print(f"| {lib} | {100 * n / total:.1f} % |")
print(f"\n| top symbols (self) | library | share |\n|---|---|---:|")
for (sym, lib), n in by_sym.most_common(top):
    print(f"| `{sym[:90]}` | {lib} | {100 * n / total:.1f} % |")
' "$top"
