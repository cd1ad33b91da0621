# Sourced by the scripts that start peers on ports given to them beforehand (Pebble,
# pebble-challtestsrv: neither can report a port it picked itself): tests/e2e/lib.sh,
# bench/lib.sh, scripts/pebble.sh. A port picked free may be taken before the peer binds it,
# and then the port answers for someone else, so answering is not enough: the listening
# socket on host:port must be one of the peer's own descriptors.

# True when process PID holds the socket listening on IPv4 host:port (/proc/net/tcp, the
# socket's inode among the links in /proc/PID/fd).
pid_listens_on() {  # pid host port
  /usr/bin/python3 - "$@" <<'PY'
import os, socket, struct, sys
pid, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = "%08X:%04X" % (struct.unpack("=I", socket.inet_aton(host))[0], port)
inodes = set()
with open("/proc/net/tcp") as f:
    next(f)
    for line in f:
        field = line.split()
        if field[1] == want and field[3] == "0A":  # 0A: LISTEN
            inodes.add("socket:[%s]" % field[9])
try:
    fds = os.listdir("/proc/%s/fd" % pid)
except OSError:
    sys.exit(1)
for fd in fds:
    try:
        if os.readlink("/proc/%s/fd/%s" % (pid, fd)) in inodes:
            sys.exit(0)
    except OSError:
        pass
sys.exit(1)
PY
}

# True once PID listens on host:port as itself (pid_listens_on). False when it exits, its
# log shows a failed bind (Pebble exits on one, pebble-challtestsrv only logs it and runs
# on), or it does not listen within PEER_WAIT_SECONDS (default 20).
peer_listening() {  # pid log host port
  local deadline=$((SECONDS + ${PEER_WAIT_SECONDS:-20}))
  until pid_listens_on "$1" "$3" "$4"; do
    kill -0 "$1" 2>/dev/null || return 1
    ! grep -q 'address already in use' "$2" || return 1
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
  ! grep -q 'address already in use' "$2"
}

# Starts a peer given its ports beforehand, on new ports again when one was taken: up to
# three times, LAUNCH ATTEMPT ARG... (the caller's function) picks the ports, starts the peer
# in the background and sets PEER_PID, PEER_LOG and PEER_PORT (the port it must listen on);
# the peer is up once peer_listening says so. A failed try is killed and reported on stderr
# as "NAME: attempt N failed: <why>": its log's line about a port already in use, else its
# last line (pebble-challtestsrv may log another line after the failed bind's).
# Returns 1 after three failed tries.
start_peer() {  # name launch [arg...]
  local name=$1 launch=$2 attempt
  shift 2
  for attempt in 1 2 3; do
    "$launch" "$attempt" "$@"
    peer_listening "$PEER_PID" "$PEER_LOG" 127.0.0.1 "$PEER_PORT" && return 0
    kill "$PEER_PID" 2>/dev/null || true
    echo "$name: attempt $attempt failed: $(grep -m1 'address already in use' "$PEER_LOG" ||
      tail -1 "$PEER_LOG")" >&2
  done
  return 1
}
