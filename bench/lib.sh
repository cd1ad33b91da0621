# Shared by the bench scripts that start servers (sourced; bench/compare.sh,
# bench/results_load.sh): OUT made absolute, a temporary directory TMP, the PIDS of what
# the script started (stopped on exit, with TMP removed), and port helpers. Loopback only.
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d /tmp/attestlab-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
# A TCP port nobody listens on right now, and a wait (20 s at most) until one listens.
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "nothing on :$1" >&2; exit 3; }
