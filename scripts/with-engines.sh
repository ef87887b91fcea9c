#!/usr/bin/env bash
# Runs a command against throwaway PostgreSQL and Redis instances on loopback: installs Debian's packages when missing,
# starts both in a temporary directory (PostgreSQL as the unprivileged postgres user when run as root), exports
# AIRLOCK_TEST_DATABASE_URL and AIRLOCK_TEST_REDIS_URL, runs "$@", and always stops both and removes the directory.
#   bash scripts/with-engines.sh npm run test:integration
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

pg_bin() {
  # Debian keeps initdb and pg_ctl out of PATH, under /usr/lib/postgresql/<major>/bin.
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}

if [ -z "$(pg_bin)" ] || ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL or Redis is missing and this is not root: apt-get install postgresql redis-server" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends postgresql redis-server
fi
PG_BIN=$(pg_bin)

free_port() {
  node -e "const s=require('node:net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();})"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/airlock-engines.XXXXXX")
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)

# initdb refuses to run as root, so the cluster belongs to postgres when we are root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  local status=$?
  as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  if [ -f "$WORK/redis.pid" ]; then kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" -eq 0 ]; then chown postgres "$WORK"; fi
chmod 755 "$WORK"
as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; exit 1; }
# Durability is pointless for a throwaway cluster; fsync off makes CREATE DATABASE per test cheap.
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$WORK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$WORK/pg.log" >&2; exit 1; }

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$WORK" --pidfile "$WORK/redis.pid" \
  --logfile "$WORK/redis.log" --save '' --appendonly no
for _ in $(seq 1 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done

export AIRLOCK_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export AIRLOCK_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
echo "engines: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on $PG_PORT, Redis $(redis-server --version | awk '{print $3}' | tr -d 'v=') on $REDIS_PORT"
"$@"
