#!/usr/bin/env bash
# Stop the Ray head started by ray-start.sh: SIGTERM to its `ray start --block` process,
# which tears down the GCS, raylet, dashboard and workers.
set -uo pipefail
D=${1:?usage: ray-stop.sh DIR}
[ -f "$D/ray.pid" ] || { echo "ray-stop: nothing recorded in $D"; exit 0; }
p=$(cat "$D/ray.pid")
kill "$p" 2>/dev/null
for _ in $(seq 1 80); do [ -d "/proc/$p" ] || break; sleep 0.25; done
[ -d "/proc/$p" ] && kill -9 "$p" 2>/dev/null
rm -f "$D/ray.pid"
echo "ray-stop: stopped $p"
