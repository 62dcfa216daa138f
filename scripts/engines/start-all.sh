#!/usr/bin/env bash
# Install (when missing) and start the engines the engine tests run against (and install the
# headless Chromium of the dashboard's browser tests):
#   - two one-host Slurm 22.05 clusters (A on 127.0.0.1:16817, B on 127.0.0.1:16827), and a
#     cluster of two nodes on this host for gangs (127.0.0.1:16837, slurm-gang-start.sh),
#   - a Ray head (Jobs API on http://127.0.0.1:8265) from a venv,
#   - a private PostgreSQL 15 cluster on 127.0.0.1:55432,
# and write their addresses to an env file (default target/engines.env), which the tests
# read. Idempotent: engines already running are left as they are. Needs root (apt-get,
# slurmd, mknod). Exits non-zero, naming the engine, if any fails to install or start.
#
# Settings (environment): SPILLWAY_ENGINES="slurm ray postgres" (which to start),
# SPILLWAY_ENGINES_DIR (state, default /tmp/spillway-engines), SPILLWAY_ENGINES_ENV (the env
# file), SPILLWAY_RAY_VENV (default ~/.cache/spillway/ray-venv), SPILLWAY_RAY_VERSION, and the
# ports SPILLWAY_SLURM_A_PORT (slurmd uses the next one), SPILLWAY_SLURM_B_PORT, SPILLWAY_SLURM_GANG_PORT,
# SPILLWAY_RAY_PORT, SPILLWAY_RAY_GCS_PORT, SPILLWAY_PG_PORT.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ENGINES=${SPILLWAY_ENGINES:-slurm ray postgres}
DIR=${SPILLWAY_ENGINES_DIR:-/tmp/spillway-engines}
ENV_FILE=${SPILLWAY_ENGINES_ENV:-$ROOT/target/engines.env}
VENV=${SPILLWAY_RAY_VENV:-$HOME/.cache/spillway/ray-venv}
RAY_VERSION=${SPILLWAY_RAY_VERSION:-2.60.0}
SLURM_A_PORT=${SPILLWAY_SLURM_A_PORT:-16817}
SLURM_B_PORT=${SPILLWAY_SLURM_B_PORT:-16827}
SLURM_GANG_PORT=${SPILLWAY_SLURM_GANG_PORT:-16837}
RAY_PORT=${SPILLWAY_RAY_PORT:-8265}
RAY_GCS_PORT=${SPILLWAY_RAY_GCS_PORT:-6380}
PG_PORT=${SPILLWAY_PG_PORT:-55432}
export DEBIAN_FRONTEND=noninteractive
PATH=$PATH:/usr/sbin:/sbin

START=$(date +%s)
failed=()
lines=("# Written by scripts/engines/start-all.sh at $(date -u +%FT%TZ); read by the engine tests.")
step() { printf '\n=== engines: %s (%ss)\n' "$*" "$(( $(date +%s) - START ))"; }
wants() { [[ " $ENGINES " == *" $1 "* ]]; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq || return 1; apt_updated=1; fi
  apt-get install -y -qq --no-install-recommends "$@" > "$DIR/apt.log" 2>&1 \
    || { tail -n 20 "$DIR/apt.log" >&2; return 1; }
}

mkdir -p "$DIR" "$(dirname "$ENV_FILE")"
command -v curl >/dev/null || { step "installing curl"; apt_install curl ca-certificates || failed+=("curl (apt-get install curl)"); }
# The dashboard's browser tests (crates/server/tests/dashboard) drive a headless Chromium.
{ command -v chromium >/dev/null && command -v chromedriver >/dev/null; } || { step "installing chromium"; apt_install chromium chromium-driver fonts-dejavu-core || failed+=("browser: apt-get install chromium chromium-driver failed"); }

if wants slurm; then
  step "slurm"
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
     || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurmctld slurmd slurm-client munge (Debian packages)"
    apt_install slurmctld slurmd slurm-client munge || failed+=("slurm: apt-get install failed")
  fi
  if command -v slurmctld >/dev/null; then
    if "$HERE/slurm-start.sh" "$DIR/slurm-a" "$SLURM_A_PORT" spillway-a \
       && "$HERE/slurm-start.sh" "$DIR/slurm-b" "$SLURM_B_PORT" spillway-b; then
      lines+=("SPILLWAY_SLURM_CONF=$DIR/slurm-a/slurm.conf" "SPILLWAY_SLURM_DIR=$DIR/slurm-a"
              "SPILLWAY_SLURM_B_CONF=$DIR/slurm-b/slurm.conf" "SPILLWAY_SLURM_B_DIR=$DIR/slurm-b")
    else
      failed+=("slurm: a cluster did not start (logs in $DIR/slurm-a/log, $DIR/slurm-b/log)")
    fi
    # A cluster of two nodes on this host, for gangs (num_nodes: 2).
    if "$HERE/slurm-gang-start.sh" "$DIR/slurm-gang" "$SLURM_GANG_PORT"; then
      lines+=("SPILLWAY_SLURM_GANG_CONF=$DIR/slurm-gang/slurm.conf")
    else
      failed+=("slurm: the two-node cluster did not start (logs in $DIR/slurm-gang/log)")
    fi
  fi
fi

if wants ray; then
  step "ray"
  if [ ! -x "$VENV/bin/ray" ]; then
    python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null \
      || apt_install python3-venv || failed+=("ray: apt-get install python3-venv failed")
    echo "installing ray[default]==$RAY_VERSION into $VENV (PyPI, about 400 MB)"
    { rm -rf "$VENV" && python3 -m venv "$VENV" \
      && "$VENV/bin/pip" install -q --disable-pip-version-check "ray[default]==$RAY_VERSION"; } \
      || failed+=("ray: could not install ray[default]==$RAY_VERSION into $VENV")
  fi
  if [ -x "$VENV/bin/ray" ]; then
    if "$HERE/ray-start.sh" "$VENV" "$DIR/ray" "$RAY_PORT" "$RAY_GCS_PORT"; then
      lines+=("SPILLWAY_RAY_ADDRESS=http://127.0.0.1:$RAY_PORT" "SPILLWAY_RAY_DIR=$DIR/ray"
              "SPILLWAY_RAY_PYTHON=$VENV/bin/python")
    else
      failed+=("ray: the head did not start (log in $DIR/ray/ray.log)")
    fi
  fi
fi

if wants postgres; then
  step "postgres"
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing postgresql (Debian package)"
    apt_install postgresql || failed+=("postgres: apt-get install postgresql failed")
  fi
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if out=$("$HERE/postgres-start.sh" "$DIR/postgres" "$PG_PORT"); then
      echo "$out"
      lines+=("SPILLWAY_TEST_DATABASE_URL=${out##* }")
    else
      failed+=("postgres: the server did not start (log in $DIR/postgres/server.log)")
    fi
  fi
fi

printf '%s\n' "${lines[@]}" > "$ENV_FILE"
step "done; addresses in $ENV_FILE"
cat "$ENV_FILE"
if [ "${#failed[@]}" -gt 0 ]; then
  printf '\nengines: FAILED to provide:\n' >&2
  printf '  - %s\n' "${failed[@]}" >&2
  exit 1
fi
