#!/usr/bin/env bash
# Stop the private PostgreSQL cluster started by postgres-start.sh (fast shutdown).
set -uo pipefail
D=${1:?usage: postgres-stop.sh DIR}
BIN=""
for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/pg_ctl" ] && BIN=$candidate; done
if [ -n "$BIN" ] && [ -f "$D/data/postmaster.pid" ]; then
  runuser -u postgres -- "$BIN/pg_ctl" -D "$D/data" -m fast -w stop > /dev/null && echo "postgres-stop: stopped $D"
else
  echo "postgres-stop: nothing running in $D"
fi
