#!/usr/bin/env bash
# A throwaway PostgreSQL for tests: `source scripts/pg.sh && pg_start` runs one on a
# temporary directory and a free port (installing Debian's `postgresql` when the server
# binaries are missing and we are root), exports LOCALSPACES_TEST_PG_URL (and PG_BIN,
# PG_DATA, PG_PORT for tests that stop and restart it) and `pg_stop` removes it. fsync is
# off unless PG_FSYNC=on (benchmarks): test data need not survive a power cut. PG_OPTS adds
# server options (e.g. "-c synchronous_commit=off").

pg_bin_dir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  command -v pg_ctl >/dev/null && { dirname "$(command -v pg_ctl)"; return 0; }
  return 1
}

pg_start() {
  local bin
  if ! bin=$(pg_bin_dir); then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bin=$(pg_bin_dir) || { echo "postgresql installed but pg_ctl not found" >&2; return 1; }
    else
      echo "PostgreSQL server binaries are missing: install Debian's postgresql" >&2
      return 1
    fi
  fi
  PG_BIN=$bin
  PG_ROOT=$(mktemp -d /tmp/localspaces-pg.XXXXXX)
  PG_DATA=$PG_ROOT/data
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # initdb and postgres refuse to run as root: run them as the owner of the temp dir.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_ROOT"
    as=(runuser -u postgres --)
  fi
  PG_AS=("${as[@]}")
  "${as[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U localspaces --auth=trust -E UTF8 >"$PG_ROOT/initdb.log" 2>&1 \
    || { cat "$PG_ROOT/initdb.log" >&2; return 1; }
  pg_up || return 1
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U localspaces localspaces_test || return 1
  export PG_BIN PG_DATA PG_PORT PG_ROOT
  export LOCALSPACES_TEST_PG_URL="postgres://localspaces@127.0.0.1:$PG_PORT/localspaces_test"
  echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PG_PORT ($PG_DATA)"
}

# Starts (again) the server of pg_start's data directory.
pg_up() {
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_ROOT/server.log" -w -t 30 \
    -o "-p $PG_PORT -k $PG_ROOT -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${PG_FSYNC:-off} ${PG_OPTS:-}" start >/dev/null \
    || { cat "$PG_ROOT/server.log" >&2; return 1; }
}

pg_stop() {
  [ -n "${PG_DATA:-}" ] || return 0
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_ROOT"
  unset PG_DATA LOCALSPACES_TEST_PG_URL
}
