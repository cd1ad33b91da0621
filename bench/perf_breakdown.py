#!/usr/bin/python3
"""Reads `perf script --no-inline -F pid,tid,ip,sym,dso` of a `perf record --call-graph dwarf`
profile of attestlab's server on stdin and prints, as Markdown for bench/RESULTS.md, the share
of samples per library, the inclusive share of the request's parts and the top symbols.

Usage: perf_breakdown.py TOP [--all-threads]
  TOP            number of symbols listed
  --all-threads  count every thread (a server process of its own); without it the main
                 thread (tid == pid: the benchmark's client) is left out
"""
import collections
import re
import sys

top = int(sys.argv[1])
all_threads = len(sys.argv) > 2 and sys.argv[2] == "--all-threads"
# Inclusive shares: a sample counts once when any frame of its stack matches.
INCLUSIVE = [
    ("request handler (AcmeServer::Impl::handle)", r"AcmeServer::Impl::handle\b"),
    ("authenticate: JWS, account, nonce", r"attestlab::server::authenticate\b"),
    ("jose::verify (the ES256 verify)", r"attestlab::jose::verify\b"),
    ("jose::parse_flattened", r"attestlab::jose::parse_flattened\b"),
    ("NonceService::consume (records the use)", r"NonceService::consume\b"),
    ("NonceService::issue (Replay-Nonce)", r"NonceService::issue\b"),
    ("newAccount handler", r"attestlab::server::handle_new_account\b"),
    ("newOrder handler", r"attestlab::server::handle_new_order\b"),
    ("finalize handler", r"attestlab::server::handle_finalize\b"),
    ("authz handler (POST-as-GET)", r"attestlab::server::handle_authz\b"),
    ("challenge handler", r"attestlab::server::handle_challenge\b"),
    # The worker thread's loop: validate_challenge is file-local and inlined into the job.
    ("challenge validation (worker thread)", r"attestlab::server::ValidationPool::run\b"),
    ("finalize: certificate transaction (put_certificate_superseding)",
     r"Store::put_certificate_superseding\b"),
    ("HTTP client (http-01 fetch)", r"attestlab::http::Client::"),
    ("request log line", r"attestlab::server::Logger::"),
    ("SqliteStore::authz_by_id", r"SqliteStore::authz_by_id\b"),
    ("SQLite, all calls", r"^dso:libsqlite3"),
    # The frame's own function, not any symbol that merely names a JSON type in its arguments.
    ("JSON (nlohmann)", r"^nlohmann::"),
    # Handshakes and records alike: libssl's own functions are unresolved here (no symbols), so
    # the handshake cannot be told apart from the records in a profile.
    ("TLS: handshake and records (asio ssl engine)", r"asio::ssl::detail::engine::perform\b"),
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
        frames, server = [], all_threads or head.group(1) != head.group(2)
        continue
    frame = frame_re.match(line)
    if frame:
        frames.append((frame.group(1), frame.group(2).rsplit("/", 1)[-1]))
if server:
    count(frames)
if total == 0:
    sys.exit("perf_breakdown.py: no server samples")


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
