#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for scripts/run, scripts/test and the tests themselves.
#
#   scripts/lib/pg.sh init DIR [--fast]   create a cluster in DIR (owned by an unprivileged user)
#   scripts/lib/pg.sh start DIR PORT      start it on 127.0.0.1:PORT and wait until it answers
#   scripts/lib/pg.sh stop DIR            fast shutdown
#   scripts/lib/pg.sh restart DIR PORT
#   scripts/lib/pg.sh free-port           print a free TCP port
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user
# (created if missing). The superuser inside the cluster is `afx`, with trust auth on loopback.
set -euo pipefail

pg_bindir() {
  local dir
  for dir in "${AFX_PG_BINDIR:-}" /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return 0; fi
  return 1
}

ensure_postgres() {
  if pg_bindir >/dev/null; then return 0; fi
  echo "pg.sh: PostgreSQL server binaries not found; installing with apt-get" >&2
  if [ "$(id -u)" -ne 0 ]; then echo "pg.sh: run as root or install postgresql-15" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  pg_bindir >/dev/null
}

pg_owner() {
  if [ "$(id -u)" -ne 0 ]; then id -un; return; fi
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres >&2
  fi
  echo postgres
}

as_owner() {
  local owner; owner=$(pg_owner)
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

# The server outlives this script: it must not inherit descriptors the caller is watching for EOF
# (Foundation's Process on Linux learns a child has exited from exactly such a descriptor).
close_inherited_fds() {
  local fd
  for fd in $(ls /proc/$$/fd); do
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

cmd=${1:-}; shift || true
case "$cmd" in
  init)
    dir=$1; fast=${2:-}
    ensure_postgres
    bindir=$(pg_bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    owner=$(pg_owner)
    [ "$(id -u)" -eq 0 ] && chown "$owner" "$dir"
    if ! as_owner test -x "$dir"; then
      echo "pg.sh: user $owner cannot reach $dir; put clusters under a world-traversable folder such as .data/" >&2
      exit 1
    fi
    as_owner "$bindir/initdb" -D "$dir/data" -U afx --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "unix_socket_directories = '$dir'"
      echo "max_connections = 400"
      echo "shared_buffers = 256MB"
      echo "log_min_messages = warning"
      # The jobs table churns thousands of rows a second under load. Vacuumed at most once a
      # minute (the default), it bloats, and each claim then reads the dead rows: at 800 msg/s
      # claims averaged 0.41-0.91 ms instead of 0.34-0.41. Its per-table thresholds are in the jobs
      # migration.
      echo "autovacuum_naptime = 1s"
      if [ "$fast" = "--fast" ]; then
        # Test clusters trade durability for speed; benchmarks and scripts/run keep the defaults.
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
      fi
    } | as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
    ;;
  start)
    dir=$(cd "$1" && pwd); port=$2
    close_inherited_fds
    as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    dir=$(cd "$1" && pwd)
    as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    ;;
  restart)
    dir=$(cd "$1" && pwd); port=$2
    close_inherited_fds
    as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -m fast -w -t 60 restart >/dev/null
    ;;
  free-port)
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
    ;;
  *)
    sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
