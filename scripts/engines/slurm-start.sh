#!/usr/bin/env bash
# Start a throwaway one-host Slurm 22.05 cluster (Debian packages slurmctld, slurmd,
# slurm-client, munge) with fake typed GPUs and two partitions:
#   batch  (default, preemptible: a preempted job is requeued)
#   urgent (higher priority tier: preempts batch jobs by requeue)
# Several clusters can run side by side: give each its own DIR, port pair and name.
#
#   scripts/engines/slurm-start.sh DIR [CTLD_PORT] [CLUSTER_NAME]
#   export SLURM_CONF=DIR/slurm.conf
#
# slurmd listens on CTLD_PORT+1. munged is shared by all clusters on the host (one key,
# one socket under /run/munge); the cluster that started it records its pid and stops it.
# Needs root (slurmd runs jobs as the submitting user; mknod for the fake GPUs).
set -euo pipefail
D=${1:?usage: slurm-start.sh DIR [CTLD_PORT] [CLUSTER_NAME]}
PORT=${2:-16817}
NAME=${3:-spillway}
D=$(mkdir -p "$D" && cd "$D" && pwd)
HOST=$(hostname -s)
export SLURM_CONF="$D/slurm.conf"

alive() { [ -f "$D/$1.pid" ] && kill -0 "$(cat "$D/$1.pid")" 2>/dev/null; }
if alive slurmctld && alive slurmd && sinfo -h -o '%T' 2>/dev/null | grep -q -E '^(idle|mixed|allocated)'; then
  echo "slurm-start: cluster in $D already running (slurmctld pid $(cat "$D/slurmctld.pid"))"
  exit 0
fi
for bin in slurmctld slurmd sbatch munged; do
  command -v "$bin" >/dev/null || PATH=$PATH:/usr/sbin
  command -v "$bin" >/dev/null || { echo "slurm-start: '$bin' not found: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge" >&2; exit 1; }
done

# A throwaway cluster starts empty: jobs saved by an earlier run (whose processes are gone)
# would otherwise be recovered. Kept when a daemon still runs (a half-running cluster).
if ! alive slurmctld && ! alive slurmd; then rm -rf "$D/state" "$D/spool"; fi
mkdir -p "$D"/{state,spool,log,fakegpu,work}
chmod 755 "$D"
chmod 1777 "$D/work"

# Fake GPUs: gres.conf File= must name character or block devices (regular files are
# rejected), and AutoDetect=off keeps slurmd from looking for NVML.
for i in 0 1 2 3 4 5 6 7; do
  [ -e "$D/fakegpu/nvidia$i" ] || mknod "$D/fakegpu/nvidia$i" c 195 "$i"
done

cat > "$D/slurm.conf" <<CONF
ClusterName=$NAME
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
# No cgroup control in containers and CI sandboxes.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
# batch_sched_delay=0: start batch jobs at the next scheduling pass (about 1 s) instead of
# up to 3 s later.
SchedulerParameters=sched_min_interval=0,default_queue_depth=1000,bf_interval=5,batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default, every job takes the node's whole memory and jobs run one at a time.
DefMemPerCPU=100
PriorityType=priority/multifactor
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
GresTypes=gpu
ReturnToService=2
# Without accounting (slurmdbd), a finished job is visible only while slurmctld keeps it:
# MinJobAge seconds after it ends.
MinJobAge=600
KillWait=5
# A requeued job (preemption by the urgent partition) may start again only cred_expire seconds
# after its requeue (default 120 s): longer than the tests wait. 15 s keeps step credentials
# valid on a busy CI machine (Slurm's minimum is 5).
AuthInfo=cred_expire=15
# Advertise 32 CPUs whatever the host has, so that many short jobs run at once.
SlurmdParameters=config_overrides
# The node is also a TPU slice by feature, for --constraint=tpu-v5p-8 (pools of TPU slices).
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=32 RealMemory=8000 Gres=gpu:a100:4,gpu:h100:4 Feature=tpu-v5p-8 State=UNKNOWN
PartitionName=batch  Nodes=$HOST Default=YES PriorityTier=1  PreemptMode=REQUEUE MaxTime=INFINITE State=UP
PartitionName=urgent Nodes=$HOST PriorityTier=10 PreemptMode=OFF MaxTime=INFINITE State=UP
CONF
cat > "$D/gres.conf" <<CONF
AutoDetect=off
NodeName=$HOST Name=gpu Type=a100 File=$D/fakegpu/nvidia[0-3]
NodeName=$HOST Name=gpu Type=h100 File=$D/fakegpu/nvidia[4-7]
CONF
chmod 644 "$D/slurm.conf" "$D/gres.conf"

# munge: one daemon for the host; start it only when none answers.
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 40); do munge -n >/dev/null 2>&1 && break; sleep 0.25; done
  pgrep -n -x munged > "$D/munged.pid"
fi

# Start whichever daemon is not running (a half-running cluster is completed, not doubled).
alive slurmctld || slurmctld
alive slurmd || slurmd
for _ in $(seq 1 80); do
  sinfo -h -o '%T' 2>/dev/null | grep -q -E '^(idle|mixed|allocated)' && break
  sleep 0.25
done
if ! sinfo -h -o '%T' 2>/dev/null | grep -q -E '^(idle|mixed|allocated)'; then
  echo "slurm-start: cluster $NAME in $D did not become ready; see $D/log/slurmctld.log and $D/log/slurmd.log" >&2
  tail -n 20 "$D/log/slurmctld.log" "$D/log/slurmd.log" >&2 || true
  exit 1
fi
echo "slurm-start: cluster $NAME ready on 127.0.0.1:$PORT; export SLURM_CONF=$SLURM_CONF"
sinfo -o '%P %N %c %G %T'
