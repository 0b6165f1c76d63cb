#!/usr/bin/env bash
# Start Debian's PostgreSQL and Redis on loopback and create the test role and database. Idempotent.
set -euo pipefail
PGVER=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
if [ -n "$PGVER" ]; then
  PGBIN=/usr/lib/postgresql/$PGVER/bin
  PGDATA=${PGDATA_DIR:-/var/tmp/moderation-pg}
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA"
    su postgres -c "$PGBIN/initdb -D $PGDATA -A trust -U postgres" >/dev/null
  fi
  if ! su postgres -c "$PGBIN/pg_ctl -D $PGDATA status" >/dev/null 2>&1; then
    mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
    su postgres -c "$PGBIN/pg_ctl -D $PGDATA -l $PGDATA/server.log -w -o '-c listen_addresses=127.0.0.1 -p 5432 -c fsync=off -c max_connections=200' start" >/dev/null
  fi
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_roles WHERE rolname='moderation'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE ROLE moderation LOGIN SUPERUSER PASSWORD 'moderation'" >/dev/null
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='moderation_test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE moderation_test OWNER moderation" >/dev/null
  echo "postgresql $PGVER on 127.0.0.1:5432"
fi
if command -v redis-server >/dev/null 2>&1; then
  redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
  echo "redis on 127.0.0.1:6379"
fi
