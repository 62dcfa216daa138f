#!/usr/bin/env bash
# Start a private PostgreSQL cluster (Debian package postgresql, version 15) under DIR,
# listening on 127.0.0.1:PORT only, with a database and user for tests. Prints its URL.
#
#   scripts/engines/postgres-start.sh DIR [PORT] [NAME]
#   -> postgres://NAME:NAME@127.0.0.1:PORT/NAME
#
# The server runs as the system user "postgres" (initdb refuses root); the data directory
# and the unix socket stay inside DIR, so it never touches the distribution's own cluster.
set -euo pipefail
D=${1:?usage: postgres-start.sh DIR [PORT] [NAME]}
PORT=${2:-55432}
NAME=${3:-spillway}
mkdir -p "$D"
D=$(cd "$D" && pwd)
URL="postgres://$NAME:$NAME@127.0.0.1:$PORT/$NAME"

BIN=""
for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/initdb" ] && BIN=$candidate; done
[ -n "$BIN" ] || { echo "postgres-start: no initdb found: apt-get install -y postgresql" >&2; exit 1; }
id postgres >/dev/null 2>&1 || { echo "postgres-start: no 'postgres' user: apt-get install -y postgresql" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }

chown postgres:postgres "$D"
if [ ! -f "$D/data/PG_VERSION" ]; then
  as_pg "$BIN/initdb" -D "$D/data" --auth-local=trust --auth-host=scram-sha-256 \
    --username=postgres --encoding=UTF8 --no-instructions > "$D/initdb.log"
fi
if ! as_pg "$BIN/pg_ctl" -D "$D/data" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$D/data" -l "$D/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $D -c fsync=off" start > /dev/null \
    || { echo "postgres-start: the server did not start; see $D/server.log:" >&2; tail -n 20 "$D/server.log" >&2; exit 1; }
fi
psql_pg() { as_pg psql -h "$D" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname = '$NAME'")" != 1 ]; then
  psql_pg -c "CREATE ROLE $NAME LOGIN PASSWORD '$NAME' CREATEDB"
fi
if [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname = '$NAME'")" != 1 ]; then
  psql_pg -c "CREATE DATABASE $NAME OWNER $NAME"
fi
PGPASSWORD=$NAME psql "$URL" -qtA -c 'SELECT 1' > /dev/null \
  || { echo "postgres-start: cannot connect to $URL" >&2; exit 1; }
echo "postgres-start: PostgreSQL $(cat "$D/data/PG_VERSION") ready at $URL"
