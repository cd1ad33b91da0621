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

perf script --no-inline -i "$data" -F pid,tid,ip,sym,dso 2>/dev/null | /usr/bin/python3 -c '
import collections
import re
import sys

top = int(sys.argv[1])
# Inclusive shares: a sample counts once when any frame of its stack matches.
INCLUSIVE = [
    ("request handler (AcmeServer::Impl::handle)", r"AcmeServer::Impl::handle\b"),
    ("authenticate: JWS, account, nonce", r"attestlab::server::authenticate\b"),
    ("jose::verify (the ES256 verify)", r"attestlab::jose::verify\b"),
    ("jose::parse_flattened", r"attestlab::jose::parse_flattened\b"),
    ("NonceService::consume (records the use)", r"NonceService::consume\b"),
    ("NonceService::issue (Replay-Nonce)", r"NonceService::issue\b"),
    ("SqliteStore::authz_by_id", r"SqliteStore::authz_by_id\b"),
    ("SQLite, all calls", r"^dso:libsqlite3"),
    ("JSON (nlohmann)", r"nlohmann::"),
    ("TLS records (asio ssl engine)", r"asio::ssl::detail::engine::perform\b"),
    ("HTTP parser and serializer (Beast)", r"boost::beast::http::(basic_parser|serializer)"),
    ("kernel: TCP send and receive", r"^(tcp_sendmsg|tcp_recvmsg)$"),
    ("kernel: file write, lock, sync",
     r"^(__x64_sys_pwrite64|__x64_sys_fcntl|__x64_sys_fdatasync)$"),
    ("epoll_wait and timerfd", r"^(epoll_wait|timerfd_settime)$"),
    ("malloc and free", r"^(malloc|_int_malloc|free|cfree@GLIBC_2.2.5|_int_free)$"),
]
patterns = [(label, re.compile(rx)) for label, rx in INCLUSIVE]
head_re = re.compile(r"^\s*(\d+)/(\d+)\s*$")
frame_re = re.compile(r"^\s*[0-9a-f]+\s+(.*?)\s*\(([^()]*)\)\s*$")


def short(sym):
    # Template arguments make C++ names unreadable in a table; keep the qualified name.
    while True:
        shorter = re.sub(r"<[^<>]*>", "", sym)
        if shorter == sym:
            break
        sym = shorter
    return "(unresolved)" if re.fullmatch(r"[0-9a-fx]*|\[unknown\]", sym) else sym


by_lib, by_sym, inclusive = collections.Counter(), collections.Counter(), collections.Counter()
total = 0


def count(frames):
    global total
    total += 1
    sym, lib = frames[0] if frames else ("[unknown]", "[unknown]")
    by_lib[lib] += 1
    by_sym[(short(sym), lib)] += 1
    for label, rx in patterns:
        if any(rx.search(f) or rx.search("dso:" + l) for f, l in frames):
            inclusive[label] += 1


frames, server = [], False
for line in sys.stdin:
    head = head_re.match(line)
    if head:
        if server:
            count(frames)
        # The client (benchmark) thread is the main thread: its tid is the pid.
        frames, server = [], head.group(1) != head.group(2)
        continue
    frame = frame_re.match(line)
    if frame:
        frames.append((frame.group(1), frame.group(2).rsplit("/", 1)[-1]))
if server:
    count(frames)
if total == 0:
    sys.exit("profile_request.sh: no server samples")


def share(n):
    return f"{100 * n / total:.1f} %"


print(f"Server threads: {total} samples.\n")
print("| library (self) | share |\n|---|---:|")
for lib, n in by_lib.most_common():
    if n * 1000 >= total:
        print(f"| {lib} | {share(n)} |")
print("\n| inclusive (any frame of the stack) | share |\n|---|---:|")
for label, _ in INCLUSIVE:
    print(f"| {label} | {share(inclusive[label])} |")
print("\n| top symbols (self) | library | share |\n|---|---|---:|")
for (sym, lib), n in by_sym.most_common(top):
    print(f"| `{sym[:90]}` | {lib} | {share(n)} |")
' "$top"
