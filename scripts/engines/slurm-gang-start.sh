#!/usr/bin/env bash
# Start a throwaway Slurm 22.05 cluster of TWO nodes on this one host, for gangs
# (`num_nodes: 2`): two slurmd daemons (`slurmd -N gang1`, `-N gang2`) with their own ports,
# spool directories and addresses (127.0.0.1 and 127.0.0.2, both loopback), each with 4 fake
# H100 GPUs (GRES gpu:h100:4), one partition `batch` over both. A job with --nodes=2 runs one
# task on each, with SLURM_NODEID 0 and 1 and the node list gang[1-2], as on a real cluster.
#
#   scripts/engines/slurm-gang-start.sh DIR [CTLD_PORT]
#   export SLURM_CONF=DIR/slurm.conf
#
# slurmd of gang1 listens on CTLD_PORT+1, gang2 on CTLD_PORT+2. munged is shared with the
# other clusters (see slurm-start.sh); stop with slurm-stop.sh DIR. Needs root.
set -euo pipefail
D=${1:?usage: slurm-gang-start.sh DIR [CTLD_PORT]}
PORT=${2:-16837}
NAME=spillway-gang
D=$(mkdir -p "$D" && cd "$D" && pwd)
HOST=$(hostname -s)
export SLURM_CONF="$D/slurm.conf"

alive() { [ -f "$D/$1.pid" ] && kill -0 "$(cat "$D/$1.pid")" 2>/dev/null; }
ready() { [ "$(sinfo -h -N -o '%T' 2>/dev/null | grep -c -E '^(idle|mixed|allocated)')" = 2 ]; }
if alive slurmctld && alive slurmd-gang1 && alive slurmd-gang2 && ready; then
  echo "slurm-gang-start: cluster in $D already running"
  exit 0
fi
for bin in slurmctld slurmd sbatch srun munged; do
  command -v "$bin" >/dev/null || PATH=$PATH:/usr/sbin
  command -v "$bin" >/dev/null || { echo "slurm-gang-start: '$bin' not found: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge" >&2; exit 1; }
done
if ! alive slurmctld && ! alive slurmd-gang1 && ! alive slurmd-gang2; then rm -rf "$D/state" "$D/spool"; fi
mkdir -p "$D"/{state,spool/gang1,spool/gang2,log,fakegpu,work}
chmod 755 "$D"
chmod 1777 "$D/work"
for i in 0 1 2 3; do
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
# One spool directory, pid file and log per node (%n: the node's name).
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=0,default_queue_depth=1000,bf_interval=5,batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
GresTypes=gpu
ReturnToService=2
MinJobAge=600
KillWait=5
AuthInfo=cred_expire=15
SlurmdParameters=config_overrides
# Two nodes on one host: their own names, loopback addresses and ports.
NodeName=gang1 NodeHostname=gang1 NodeAddr=127.0.0.1 Port=$((PORT + 1)) CPUs=8 RealMemory=2000 Gres=gpu:h100:4 State=UNKNOWN
NodeName=gang2 NodeHostname=gang2 NodeAddr=127.0.0.2 Port=$((PORT + 2)) CPUs=8 RealMemory=2000 Gres=gpu:h100:4 State=UNKNOWN
PartitionName=batch Nodes=gang1,gang2 Default=YES MaxTime=INFINITE State=UP
CONF
cat > "$D/gres.conf" <<CONF
AutoDetect=off
NodeName=gang[1-2] Name=gpu Type=h100 File=$D/fakegpu/nvidia[0-3]
CONF
chmod 644 "$D/slurm.conf" "$D/gres.conf"

mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 40); do munge -n >/dev/null 2>&1 && break; sleep 0.25; done
  pgrep -n -x munged > "$D/munged.pid"
fi

alive slurmctld || slurmctld
alive slurmd-gang1 || slurmd -N gang1
alive slurmd-gang2 || slurmd -N gang2
for _ in $(seq 1 80); do ready && break; sleep 0.25; done
if ! ready; then
  echo "slurm-gang-start: cluster $NAME in $D did not become ready; see $D/log" >&2
  tail -n 20 "$D"/log/*.log >&2 || true
  exit 1
fi
echo "slurm-gang-start: cluster $NAME (2 nodes) ready on 127.0.0.1:$PORT; export SLURM_CONF=$SLURM_CONF"
sinfo -N -o '%N %o %G %T'
