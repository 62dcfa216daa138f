#!/usr/bin/env bash
# Stop what start-all.sh started (by recorded pids and pg_ctl), and remove the env file so
# later test runs do not look for engines that are gone. The gang cluster and cluster B go first: cluster A
# may own the shared munged.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${SPILLWAY_ENGINES_DIR:-/tmp/spillway-engines}
ENV_FILE=${SPILLWAY_ENGINES_ENV:-$ROOT/target/engines.env}
[ -d "$DIR/slurm-gang" ] && "$HERE/slurm-stop.sh" "$DIR/slurm-gang"
[ -d "$DIR/slurm-b" ] && "$HERE/slurm-stop.sh" "$DIR/slurm-b"
[ -d "$DIR/slurm-a" ] && "$HERE/slurm-stop.sh" "$DIR/slurm-a"
[ -d "$DIR/ray" ] && "$HERE/ray-stop.sh" "$DIR/ray"
[ -d "$DIR/postgres" ] && "$HERE/postgres-stop.sh" "$DIR/postgres"
rm -f "$ENV_FILE"
exit 0
