#!/usr/bin/env bash
# Restart slurmctld of a cluster started by slurm-start.sh.
#   slurm-restart-ctld.sh DIR          as an operator would: SIGTERM (slurmctld saves its
#                                      state), wait for it to exit, start it again
#   slurm-restart-ctld.sh DIR --crash  SIGKILL instead: a crash, losing what it had not saved;
#                                      then slurmd is restarted too, so that it registers at
#                                      once and slurmctld drops jobs that ended just before
#                                      the crash but were recovered as RUNNING (else they hold
#                                      their resources until a later registration)
# Never restarts with -c, which would clear the saved jobs. Running jobs keep running under
# slurmd meanwhile.
set -euo pipefail
D=${1:?usage: slurm-restart-ctld.sh DIR [--crash]}
SIGNAL=TERM
[ "${2:-}" = "--crash" ] && SIGNAL=KILL
export SLURM_CONF="$D/slurm.conf"
p=$(cat "$D/slurmctld.pid")
kill -s "$SIGNAL" "$p"
for _ in $(seq 1 100); do [ -d "/proc/$p" ] || break; sleep 0.1; done
[ -d "/proc/$p" ] && { echo "slurm-restart-ctld: slurmctld $p did not exit" >&2; exit 1; }
slurmctld
for _ in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.1; done
scontrol ping 2>/dev/null | grep -q 'is UP' || { echo "slurm-restart-ctld: slurmctld did not come back; see $D/log/slurmctld.log" >&2; exit 1; }
if [ "$SIGNAL" = KILL ]; then
  # slurmstepd processes of running jobs outlive slurmd; the new slurmd reports them.
  d=$(cat "$D/slurmd.pid")
  kill "$d"
  for _ in $(seq 1 100); do [ -d "/proc/$d" ] || break; sleep 0.1; done
  slurmd
  for _ in $(seq 1 100); do sinfo -h -o '%T' 2>/dev/null | grep -q -E '^(idle|mixed|allocated)$' && break; sleep 0.1; done
fi
echo "slurm-restart-ctld: slurmctld restarted after SIG$SIGNAL (pid $(cat "$D/slurmctld.pid"))"
