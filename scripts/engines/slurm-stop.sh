#!/usr/bin/env bash
# Stop a cluster started by slurm-start.sh, by its recorded pids only (and munged if this
# cluster started it). Jobs still running are killed with slurmd's job steps gone.
set -uo pipefail
D=${1:?usage: slurm-stop.sh DIR}
pids=""
# slurmd-<node>.pid: the daemons of a cluster of several nodes on one host (slurm-gang-start.sh).
for f in slurmd $(cd "$D" 2>/dev/null && ls slurmd-*.pid 2>/dev/null | sed 's/\.pid$//') slurmctld munged; do
  if [ -f "$D/$f.pid" ]; then
    p=$(cat "$D/$f.pid")
    if [ -n "$p" ] && kill "$p" 2>/dev/null; then pids="$pids $p"; fi
    rm -f "$D/$f.pid"
  fi
done
for _ in $(seq 1 40); do
  alive=0
  for p in $pids; do [ -d "/proc/$p" ] && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.25
done
echo "slurm-stop: stopped${pids:- nothing} in $D"
