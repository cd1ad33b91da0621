#!/usr/bin/env bash
# Regenerates the "Load generator" section of bench/RESULTS.md from one run on this machine:
#   1. bench/compare.sh: the plain flow (http-01, validated for real) against
#      `attestlab serve` and Pebble (PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0) at the
#      same offered rate, with each server's CPU (--server-pid), the generator's, and the
#      crypto floor;
#   2. the device flow (device-attest-01 with the mock Apple CA) against `attestlab serve`
#      at the same rate.
# Then writes the section (machine, date, commands, figures) into bench/RESULTS.md,
# replacing the previous one (everything from "## Load generator" to the next "## "), or
# only prints it with --print.
#
#   bench/results_load.sh [--rate 20/s] [--duration 15s] [--warmup 2s] [--out DIR] [--print]
#
# Needs what bench/compare.sh needs. Loopback only; every server it starts is stopped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ATTESTLAB_BIN:-$HERE/build/release/attestlab}
RATE=20/s DURATION=15s WARMUP=2s OUT=/tmp/attestlab-results-load PRINT=0
while [ $# -gt 0 ]; do
  case $1 in
    --rate) RATE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --print) PRINT=1; shift ;;
    *) echo "usage: $0 [--rate R] [--duration D] [--warmup W] [--out DIR] [--print]" >&2; exit 2 ;;
  esac
done
source "$HERE/bench/lib.sh"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')

# 1. plain: attestlab serve vs pebble.
ATTESTLAB_BIN=$BIN "$HERE/bench/compare.sh" --rate "$RATE" --duration "$DURATION" \
  --warmup "$WARMUP" --out "$OUT/plain" >"$OUT/plain-table.txt"

# 2. device flow against attestlab serve, trusting a fresh mock Apple CA.
"$BIN" ca init --dir "$TMP/ca" >/dev/null
D_PORT=$(port)
"$BIN" serve --listen "127.0.0.1:$D_PORT" --data-dir "$TMP/device-serve" \
  --attestation-roots "$TMP/ca/root.pem" >"$TMP/serve.log" 2>&1 &
D_PID=$!
PIDS+=($D_PID)
for _ in $(seq 300); do grep -q '^ready ' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready ' "$TMP/serve.log" || { echo "results_load.sh: serve did not start" >&2; exit 3; }
echo "== attestlab: device load $RATE for $DURATION after $WARMUP warm-up" >&2
"$BIN" load --target "https://127.0.0.1:$D_PORT/acme/directory" \
  --trust-ca "$TMP/device-serve/tls/cert.pem" --attestation-ca "$TMP/ca" --flow device \
  --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" --server-pid "$D_PID" \
  --report-dir "$OUT/device" --quiet | tee "$OUT/device.txt" >&2
kill "$D_PID"

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
CPU_MODEL=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
PEBBLE_VERSION=$(dpkg-query -W -f='${Version}' pebble 2>/dev/null || echo unknown)
COMMIT=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo unknown)

/usr/bin/python3 - "$OUT" "$HERE/bench/RESULTS.md" "$PRINT" <<PY
import json, sys
out, results_md, only_print = sys.argv[1], sys.argv[2], sys.argv[3] == "1"

def load(path):
    return json.load(open(path))["targets"][0]["load"]

runs = {"attestlab": load(f"{out}/plain/attestlab/result.json"),
        "pebble": load(f"{out}/plain/pebble/result.json"),
        "device": load(f"{out}/device/result.json")}

def figures(l):
    s, c = l["summary"], l["stats"]["counts"]
    server, floor = s["server_cpu_ms_per_enrollment"], s.get("floor_cpu_ms_per_enrollment")
    return [
        ("offered rate (/s)", l["plan"]["rate"]),
        ("completed", c["completed"]),
        ("errors (%)", 100 * s["error_share"]),
        ("throughput (/s)", s["throughput_per_s"]),
        ("p50 latency (ms)", s["latency_ms"]["p50"]),
        ("p99 latency (ms)", s["latency_ms"]["p99"]),
        ("server CPU / enrollment (ms)", server),
        ("generator CPU / enrollment (ms)", s["generator_cpu_ms_per_enrollment"]),
        ("crypto floor / enrollment (ms)", floor),
        ("server CPU / floor", server / floor if server and floor else None),
    ]

def fmt(v):
    if v is None:
        return "–"
    return str(v) if isinstance(v, int) else f"{v:.2f}"

a, p, d = (figures(runs[k]) for k in ("attestlab", "pebble", "device"))
rows = []
for (key, va), (_, vp), (_, vd) in zip(a, p, d):
    ratio = va / vp if isinstance(va, (int, float)) and isinstance(vp, (int, float)) and vp else None
    if key.startswith("crypto floor"):
        ratio = None  # the same operations timed twice: a ratio would only show noise
    rows.append(f"| {key} | {fmt(va)} | {fmt(vp)} | {fmt(ratio)} | {fmt(vd)} |")

notes = []
for name, l in (("attestlab plain", runs["attestlab"]), ("pebble plain", runs["pebble"]),
                ("attestlab device", runs["device"])):
    offered, got = l["plan"]["rate"], l["summary"]["throughput_per_s"]
    if got < 0.95 * offered:
        notes.append(f"- {name}: {got:.2f}/s of {offered:g}/s offered: the machine did not keep up "
                     "during this run (the latency then is mostly queueing behind other "
                     "processes for a CPU; CPU per enrollment stays meaningful).")
class Figures(dict):  # a missing figure (no CPU reading) prints as "–"
    def __getitem__(self, key):
        v = dict.get(self, key)
        return v if v is not None else float("nan")
A, P, D = (Figures(f) for f in (a, p, d))
words = (f"In words: at {A['offered rate (/s)']:g}/s offered, attestlab serve completed the plain "
         f"flow at {A['throughput (/s)']:.2f}/s with p99 {A['p99 latency (ms)']:.0f} ms, Pebble at "
         f"{P['throughput (/s)']:.2f}/s with p99 {P['p99 latency (ms)']:.0f} ms; attestlab spent "
         f"{A['server CPU / enrollment (ms)']:.2f} ms of server CPU per enrollment, Pebble "
         f"{P['server CPU / enrollment (ms)']:.2f} ms, and attestlab was "
         f"{A['server CPU / floor']:.1f}x its crypto floor on the plain flow and "
         f"{D['server CPU / floor']:.1f}x on the device flow "
         f"({D['server CPU / enrollment (ms)']:.2f} ms per device enrollment, p99 "
         f"{D['p99 latency (ms)']:.0f} ms). The two plain floors are the same operations "
         "timed in each run: their difference is the machine's noise.")
notes_text = ("\n**Observations.**\n\n" + "\n".join(notes) + "\n") if notes else ""
floor = runs["device"]["cpu"]["floor"]
t = floor["timings_us"]
plain_floor = runs["attestlab"]["cpu"]["floor"]
section = f"""## Load generator

\`attestlab load\` (issue 11): the plain flow against \`attestlab serve\` and Pebble at the
same offered rate (open model, latency from each enrollment's intended start), and the
device flow against \`attestlab serve\`. Both servers do the same work: real http-01
validation through pebble-challtestsrv's DNS, Pebble with \`PEBBLE_VA_NOSLEEP=1
PEBBLE_WFE_NONCEREJECT=0\` (no artificial sleep, no random badNonce). Server CPU is
utime+stime from \`/proc/PID/stat\` over the measured window (\`--server-pid\`); the
generator's is its own process's. The crypto floor is raw OpenSSL timings taken in the
same run times the operations the flow needs at the least (\`bench/load/crypto_floor.h\`:
plain {plain_floor['counts']['es256_verify']} ES256 JWS verifies + a P-256 CSR verify + the
P-256 issuance signature; device 6 ES256 + the P-384 attestation-leaf verify + a P-384 CSR
verify + the issuance signature). It is attestlab's floor; Pebble signs with its own CA
key, so its floor may differ.

**Machine.** $(nproc) vCPUs (\`nproc\`), CPU model \`$CPU_MODEL\` (\`/proc/cpuinfo\`),
$(uname -sr), pebble $PEBBLE_VERSION, attestlab at $COMMIT (release preset). Measured
$STARTED. **The machine is shared and noisy**: other sessions built and tested on the same
cores during the run (load average $LOAD_BEFORE at the start, $LOAD_AFTER at the end), so
absolute figures move between runs; one short run each ($DURATION after $WARMUP warm-up).

**Commands.**

\`\`\`sh
ninja -C build/release -j2 attestlab
bench/results_load.sh --rate $RATE --duration $DURATION --warmup $WARMUP   # rewrites this section
# which runs:
bench/compare.sh --rate $RATE --duration $DURATION --warmup $WARMUP        # plain: attestlab serve vs pebble
attestlab ca init --dir CA && attestlab serve --attestation-roots CA/root.pem ... &
attestlab load --target URL --trust-ca TLS --attestation-ca CA --flow device \\\\
  --rate $RATE --duration $DURATION --warmup $WARMUP --server-pid PID
\`\`\`

| | attestlab plain | pebble plain | attestlab / pebble | attestlab device |
|---|---:|---:|---:|---:|
{chr(10).join(rows)}

{words}
{notes_text}
Crypto timings of the device run (µs of CPU per operation, best of 3 batches of
{t['iterations']}): ES256 verify {t['es256_verify']:.1f}, P-256 CSR verify
{t['csr_p256_verify']:.1f}, P-256 issuance signature {t['issue_sign']:.1f}, P-384 leaf verify
{t['p384_leaf_verify']:.1f}, P-384 CSR verify {t['csr_p384_verify']:.1f}.
"""

if only_print:
    print(section)
    sys.exit(0)
text = open(results_md).read()
start = text.find("## Load generator")
if start < 0:
    text = text.rstrip("\n") + "\n\n" + section
else:
    end = text.find("\n## ", start + 3)
    text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
open(results_md, "w").write(text)
print(section)
PY
