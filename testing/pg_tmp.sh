#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks (used by testing/pg_server.h, the
# multi-process e2e test and bench/multiprocess.sh).
#   testing/pg_tmp.sh start DIR        initdb in DIR (created; must not exist or be empty),
#                                      start on a free 127.0.0.1 port with its unix socket
#                                      in DIR/sock, create database "attestlab"; prints its
#                                      URL (postgresql://attestlab@127.0.0.1:PORT/attestlab)
#   testing/pg_tmp.sh createdb DIR NAME  another database on it; prints its URL
#   testing/pg_tmp.sh stop DIR         stop the server and delete DIR
# Run as root, the server runs as the unprivileged user attestlab-pg (created if missing;
# PostgreSQL refuses to run as root), so DIR's parents must be searchable by others (a
# fresh `mktemp -d /tmp/...` is; a directory inside another mktemp directory is not). PG_TMP_DURABLE=1 keeps PostgreSQL's durable defaults
# (fsync, synchronous_commit); without it the server skips fsync (tests, not durability).
# Exit 3 with one line when the PostgreSQL server binaries are missing: callers fail on it.
set -euo pipefail

die() { echo "pg_tmp: $1" >&2; exit "${2:-1}"; }

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then echo "$PG_BINDIR"; return; fi
  local initdb
  if initdb=$(command -v initdb 2>/dev/null); then
    local dir
    dir=$(dirname "$(readlink -f "$initdb")")
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
  fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$newest" ] && [ -x "$newest/initdb" ] && [ -x "$newest/pg_ctl" ] && { echo "$newest"; return; }
  die "PostgreSQL server binaries (initdb, pg_ctl) not found: install the postgresql package (scripts/setup.sh) or set PG_BINDIR" 3
}

PG_USER=attestlab-pg
as_server_user() {  # command...: as attestlab-pg when root, else as ourselves
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

ensure_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  local i
  for i in $(seq 50); do  # several tests may race to create it
    id -u "$PG_USER" >/dev/null 2>&1 && return 0
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER" >/dev/null 2>&1 || sleep 0.1
  done
  id -u "$PG_USER" >/dev/null 2>&1 || die "cannot create the user $PG_USER"
}

# initdb once per machine, user and PostgreSQL version (it is most of a start's time);
# every start copies the result. Built under a lock, marked complete by a file "ready".
ensure_template() {
  local t
  t="/tmp/attestlab-pg-template-$(basename "$(dirname "$bindir")")-$(id -u)"
  if [ ! -f "$t/ready" ]; then
    exec 9>"$t.lock"
    flock 9
    if [ ! -f "$t/ready" ]; then
      rm -rf "$t"
      mkdir -p "$t"
      [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$t"
      as_server_user "$bindir/initdb" -D "$t/data" -U attestlab -A trust -E UTF8 --locale=C \
        --no-sync >"$t/initdb.log" 2>&1 || die "initdb failed: $(tail -n 5 "$t/initdb.log")"
      touch "$t/ready"
    fi
    flock -u 9
    exec 9>&-
  fi
  echo "$t"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

url_of() {  # dir name
  echo "postgresql://attestlab@127.0.0.1:$(cat "$1/port")/$2"
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pg_tmp.sh start|createdb|stop DIR [NAME]" 2
bindir=$(find_bindir)

case "$cmd" in
  start)
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    dir=$(cd "$dir" && pwd)
    ensure_user
    mkdir -p "$dir/sock"
    if [ "$(id -u)" -eq 0 ]; then
      chown -R "$PG_USER" "$dir"
      runuser -u "$PG_USER" -- test -w "$dir" \
        || die "$PG_USER cannot reach $dir: its parent directories must be searchable (o+x)"
    fi
    template=$(ensure_template)
    cp -a "$template/data" "$dir/data" || die "cannot copy $template/data"
    durable=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    [ -n "${PG_TMP_DURABLE:-}" ] && durable=()
    started=0
    for _ in 1 2 3 4 5; do  # a free port may be taken before the server binds it
      port=$(free_port)
      if as_server_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir/sock -c max_connections=300 ${durable[*]}" \
        start >"$dir/pg_ctl.log" 2>&1; then
        started=1
        break
      fi
    done
    [ $started -eq 1 ] || die "postgres did not start: $(tail -n 5 "$dir/postgres.log" 2>/dev/null)"
    echo "$port" >"$dir/port"
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U attestlab attestlab \
      || die "createdb attestlab failed"
    url_of "$dir" attestlab
    ;;
  createdb)
    name=${3:?database name}
    "$bindir/createdb" -h 127.0.0.1 -p "$(cat "$dir/port")" -U attestlab "$name" \
      || die "createdb $name failed"
    url_of "$dir" "$name"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_server_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 \
        || as_server_user "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) die "unknown command $cmd" 2 ;;
esac
