#!/usr/bin/env bash
# Start a throwaway local Ray head (from a venv with 'ray[default]') whose Jobs REST API
# listens on 127.0.0.1:DASHBOARD_PORT. It advertises 4 fake GPUs and 8 units of the "TPU"
# resource: Ray only counts them, which is all scheduling tests need (Ray checks "TPU"
# requests against slice sizes 1, 2, 4, 8).
#
#   scripts/engines/ray-start.sh VENV DIR [DASHBOARD_PORT] [GCS_PORT]
#
# The head runs as one `ray start --block` process (pid in DIR/ray.pid) that owns the GCS,
# raylet and dashboard; SIGTERM to it stops them all (ray-stop.sh).
set -euo pipefail
VENV=${1:?usage: ray-start.sh VENV DIR [DASHBOARD_PORT] [GCS_PORT]}
D=${2:?usage: ray-start.sh VENV DIR [DASHBOARD_PORT] [GCS_PORT]}
DASH_PORT=${3:-8265}
GCS_PORT=${4:-6380}
mkdir -p "$D"
# Absolute paths: the head runs from DIR (below).
D=$(cd "$D" && pwd)
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
URL="http://127.0.0.1:$DASH_PORT"
answers() { curl -s -o /dev/null -w '%{http_code}' "$URL/api/version" 2>/dev/null | grep -q 200; }

# A head still running is reused only if it is healthy. One started from a working directory
# that is gone since (a CI clone deleted under it) answers /api/version but fails every job
# submission with "FileNotFoundError" (Python's os.getcwd()): stop it and start afresh.
if [ -f "$D/ray.pid" ] && kill -0 "$(cat "$D/ray.pid")" 2>/dev/null && answers; then
  cwd=$(readlink "/proc/$(cat "$D/ray.pid")/cwd" 2>/dev/null || true)
  if [ -n "$cwd" ] && [ -d "$cwd" ] && [[ "$cwd" != *" (deleted)" ]]; then
    echo "ray-start: head already running (pid $(cat "$D/ray.pid")) at $URL"
    exit 0
  fi
  echo "ray-start: the running head (pid $(cat "$D/ray.pid")) lost its working directory ($cwd): restarting it"
  "$(dirname "$0")/ray-stop.sh" "$D"
fi
[ -x "$VENV/bin/ray" ] || { echo "ray-start: no ray in $VENV: python3 -m venv $VENV && $VENV/bin/pip install 'ray[default]'" >&2; exit 1; }

export RAY_USAGE_STATS_ENABLED=0
# A job whose entrypoint resources no node has stays PENDING, and POST .../stop cannot end
# it (its supervisor actor never starts to receive the stop). Ray fails such a job after
# RAY_JOB_START_TIMEOUT_SECONDS (15 min by default); keep that short here so that tests
# which abandon a pending job see it settle. Set it at least as long as the broker's
# admission timeout.
export RAY_JOB_START_TIMEOUT_SECONDS=${RAY_JOB_START_TIMEOUT_SECONDS:-10}
# Ray's unix sockets live under the temp dir; keep its path short (sockets are limited to
# 107 bytes), hence a dir of its own rather than one deep in a build tree. The head runs from
# that dir too, so that no checkout it was started from can be deleted under it.
cd "$D"
setsid "$VENV/bin/ray" start --head --block \
  --node-ip-address 127.0.0.1 --dashboard-host 127.0.0.1 --dashboard-port "$DASH_PORT" \
  --port "$GCS_PORT" --num-cpus 4 --num-gpus 4 --resources '{"TPU": 8}' \
  --disable-usage-stats --temp-dir "$D/tmp" \
  > "$D/ray.log" 2>&1 < /dev/null &
echo $! > "$D/ray.pid"
for _ in $(seq 1 240); do
  answers && break
  kill -0 "$(cat "$D/ray.pid")" 2>/dev/null || break
  sleep 0.25
done
if ! answers; then
  echo "ray-start: the Ray head did not answer at $URL; see $D/ray.log:" >&2
  tail -n 30 "$D/ray.log" >&2 || true
  exit 1
fi
echo "ray-start: Ray head ready, Jobs API at $URL ($(curl -s "$URL/api/version"))"
