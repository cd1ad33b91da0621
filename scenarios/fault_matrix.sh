#!/usr/bin/env bash
# Which scenarios catch which server check: for every server::ServerFaults knob
# (server/faults.h) start `attestlab serve --fault KNOB`, configured only from
# `attestlab scenario prepare` output, run the whole scenario library against it and list
# the checks that failed. A knob no scenario catches is printed as "(not caught)".
#
#   scenarios/fault_matrix.sh BIN [OUT.md]
#
# BIN must be built with -DATTESTLAB_FAULTS=ON. Takes a few seconds per knob. Not a ctest
# (it needs the faults build); run it after changing scenarios or server checks.
set -euo pipefail
BIN=${1:?usage: fault_matrix.sh ATTESTLAB_BIN [OUT.md]}
OUT=${2:-/dev/stdout}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=$(mktemp -d /tmp/attestlab-fault-matrix.XXXXXX)
SERVER_PID=
trap '[[ -n $SERVER_PID ]] && kill $SERVER_PID 2>/dev/null; rm -rf "$W"' EXIT

"$BIN" ca init --dir "$W/ca" >/dev/null
"$BIN" scenario prepare all --seed 1 --inventory-out "$W/inventory.json" --policy-out "$W/policy.json"
knobs=$(sed -n 's/^ *bool \([a-z0-9_]*\) = false;.*/\1/p' "$SRC/server/faults.h")

run_against() {  # KNOB ("" = none) → $W/reports-KNOB/result.json
  local knob=$1 data directory
  data="$W/data-${knob:-none}"
  # Port 0: the server binds a port the system picks and its ready line names it (a port
  # picked free here and bound by the server later could be taken in between).
  local args=(serve --listen "127.0.0.1:0" --data-dir "$data" --attestation-roots "$W/ca/root.pem"
              --inventory "$W/inventory.json" --policy "$W/policy.json" --log-level quiet)
  [[ -n $knob ]] && args+=(--fault "$knob")
  "$BIN" "${args[@]}" >"$W/serve.out" 2>"$W/serve.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q '^ready ' "$W/serve.out" && break; sleep 0.1; done
  grep -q '^ready ' "$W/serve.out" || { echo "serve --fault $knob did not start: $(cat "$W/serve.err")" >&2; exit 3; }
  directory=$(sed -n 's/^ready //p' "$W/serve.out")
  "$BIN" scenario run all --target "$directory" --trust-ca "$data/tls/cert.pem" \
    --attestation-ca "$W/ca" --seed 1 --target-inventory --target-policy --quiet \
    --report-dir "$W/reports-${knob:-none}" >/dev/null 2>&1 || true
  kill $SERVER_PID; wait $SERVER_PID 2>/dev/null || true
  SERVER_PID=
}

run_against ""
for knob in $knobs; do run_against "$knob"; done

/usr/bin/python3 - "$W" $knobs >"$OUT" <<'EOF'
import json, os, sys
w, knobs = sys.argv[1], sys.argv[2:]
def failing(name):
    r = json.load(open(os.path.join(w, f"reports-{name}", "result.json")))
    return {c["id"]: c["reason"] for c in r["targets"][0]["cases"] if c["outcome"] in ("fail", "error")}
baseline = failing("none")
print("| ServerFaults knob | scenario checks that fail with it |")
print("|---|---|")
if baseline:
    print(f"| (none: baseline) | {', '.join(sorted(baseline))} |")
for k in knobs:
    caught = sorted(set(failing(k)) - set(baseline))
    print(f"| `{k}` | {', '.join(caught) if caught else '(not caught)'} |")
EOF
