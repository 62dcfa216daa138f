#!/usr/bin/env bash
# Restart slurmctld of a cluster started by slurm-start.sh, as an operator would during
# maintenance: SIGTERM (slurmctld saves its state), wait for it to exit, start it again
# (never with -c, which would clear the saved jobs). Running jobs keep running under slurmd.
set -euo pipefail
D=${1:?usage: slurm-restart-ctld.sh DIR}
export SLURM_CONF="$D/slurm.conf"
p=$(cat "$D/slurmctld.pid")
kill "$p"
for _ in $(seq 1 80); do [ -d "/proc/$p" ] || break; sleep 0.1; done
[ -d "/proc/$p" ] && { echo "slurm-restart-ctld: slurmctld $p did not exit" >&2; exit 1; }
slurmctld
for _ in $(seq 1 80); do scontrol ping >/dev/null 2>&1 && break; sleep 0.1; done
scontrol ping >/dev/null 2>&1 || { echo "slurm-restart-ctld: slurmctld did not come back; see $D/log/slurmctld.log" >&2; exit 1; }
echo "slurm-restart-ctld: slurmctld restarted (pid $(cat "$D/slurmctld.pid"))"
