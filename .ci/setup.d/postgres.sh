#!/usr/bin/env bash
# Starts Debian's PostgreSQL cluster and makes the role the trust-center tests use. Each test then
# creates a database of its own (CREATEDB), so tests run in parallel without sharing state.
# The URL the tests read is fixed: postgres://iotassure:iotassure@127.0.0.1:5432/postgres
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$ver main"; then
  $SUDO pg_createcluster "$ver" main >/dev/null
fi
if ! pg_lsclusters -h | grep "^$ver main" | grep -q online; then
  $SUDO pg_ctlcluster "$ver" main start
fi
for _ in $(seq 1 30); do
  if $SUDO -u postgres psql -qAtc "SELECT 1" >/dev/null 2>&1 || su postgres -c "psql -qAtc 'SELECT 1'" >/dev/null 2>&1; then break; fi
  sleep 1
done
as_postgres() { if [ -z "$SUDO" ]; then su postgres -c "$*"; else sudo -u postgres sh -c "$*"; fi; }
# The SQL goes through standard input, so no shell expands its dollar quotes.
as_postgres "psql -qAt -v ON_ERROR_STOP=1" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'iotassure') THEN
    CREATE ROLE iotassure LOGIN PASSWORD 'iotassure' CREATEDB;
  END IF;
END $$;
SQL
psql "postgres://iotassure:iotassure@127.0.0.1:5432/postgres" -qAtc "SELECT 'postgres ready: ' || version()"
