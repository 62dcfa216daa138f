# The driver of a gang on Ray (`num_nodes` > 1), run by the Jobs API as the job's entrypoint:
# one placement group of one bundle per node (the node's accelerators and CPUs), the
# wrapper run once in each bundle with its rank and all the nodes' addresses, as SkyPilot runs
# a task on every node of its cluster. Settings come from the job's environment (set by
# executor/ray_gang.rs); the wrapper arrives base64-encoded in SPILLWAY_GANG_WRAPPER_B64.
import base64
import json
import logging
import os
import signal
import subprocess
import sys

try:
    import ray
    from ray.util.placement_group import placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy
except ImportError:
    sys.stderr.write(
        "spillway: %s has no ray module: set ray_python in the pool to the Python that runs Ray\n"
        % sys.executable
    )
    sys.exit(2)

nodes = int(os.environ["SKYPILOT_NUM_NODES"])
bundle = json.loads(os.environ.get("SPILLWAY_GANG_BUNDLE") or "{}")
strategy = os.environ.get("SPILLWAY_GANG_STRATEGY") or "SPREAD"
admission_s = float(os.environ.get("SPILLWAY_GANG_ADMISSION_S") or "300")
wrapper = base64.b64decode(os.environ["SPILLWAY_GANG_WRAPPER_B64"]).decode()
# How long a stopped node's wrapper has to end after SIGTERM before SIGKILL.
STOP_GRACE_S = 2

# Lines of each node come to the job's log as "(node pid=...) ...", without colour codes.
os.environ.setdefault("RAY_COLOR_PREFIX", "0")
ray.init(log_to_driver=True, logging_level=logging.WARNING)
pg = placement_group([dict(bundle) for _ in range(nodes)], strategy=strategy)
try:
    ray.get(pg.ready(), timeout=admission_s)
except ray.exceptions.GetTimeoutError:
    sys.stderr.write(
        "spillway: the cluster did not place %d bundles of %s (%s) within %gs\n"
        % (nodes, json.dumps(bundle), strategy, admission_s)
    )
    sys.exit(75)


def at(rank):
    return PlacementGroupSchedulingStrategy(
        placement_group=pg, placement_group_bundle_index=rank
    )


@ray.remote(num_cpus=0)
def address():
    return ray.util.get_node_ip_address()


ips = ray.get([address.options(scheduling_strategy=at(i)).remote() for i in range(nodes)])


@ray.remote(num_cpus=0)
class Stop:
    """The driver's word to the nodes that the gang is over (one node failed, or the job is
    stopped): `ray.cancel` does not interrupt a running node without force (Ray 2.60), and
    with force kills its worker and the worker's children with SIGKILL."""

    def __init__(self):
        self.stopped = False

    def set(self):
        self.stopped = True

    def is_set(self):
        return self.stopped


stop = Stop.remote()


def end(p):
    """Stops a wrapper as Slurm does: SIGTERM to it and its commands (its process group),
    SIGKILL after the grace time. The wrapper removes its git checkout when it ends."""
    os.killpg(p.pid, signal.SIGTERM)
    try:
        return p.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        return p.wait()


@ray.remote
def node(rank):
    env = dict(os.environ)
    for name in ("SPILLWAY_RUN", "SPILLWAY_SETUP"):
        encoded = env.pop(name + "_B64", None)
        if encoded:
            env[name] = base64.b64decode(encoded).decode()
    env["SPILLWAY_NODE_RANK"] = str(rank)
    env["SPILLWAY_NODE_IPS"] = "\n".join(ips)
    # The wrapper and its commands in a process group of their own, so that a stopped node
    # can stop them all.
    p = subprocess.Popen(["bash", "-c", wrapper], env=env, start_new_session=True)
    try:
        while True:
            try:
                return p.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if ray.get(stop.is_set.remote()):
                    return end(p)
    except BaseException:
        # Ray ends the worker (SystemExit on its SIGTERM).
        end(p)
        raise

gpus = bundle.get("GPU", 0)
custom = {k: v for k, v in bundle.items() if k not in ("CPU", "GPU")}
pending = [
    node.options(
        num_cpus=bundle.get("CPU", 1),
        num_gpus=gpus,
        resources=custom,
        scheduling_strategy=at(i),
    ).remote(i)
    for i in range(nodes)
]


# One node failed, or `ray job stop` sent SIGTERM to the driver (which has 3 s before Ray's
# SIGKILL): the driver tells the nodes still running to stop (`Stop`), waits for them to have
# stopped their wrappers, and exits. The handler only notes the signal: an exception raised
# inside Ray's wait comes out as a SystemError.
stopping = []
signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
code = 0
while pending and not stopping:
    # In short waits, so that a SIGTERM is seen between them.
    done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
    if not done:
        continue
    code = ray.get(done[0])
    if code:
        # The gang fails, as on Slurm with --kill-on-bad-exit.
        break
if pending:
    ray.get(stop.set.remote())
    ray.wait(pending, num_returns=len(pending), timeout=STOP_GRACE_S + 1)
if stopping:
    code = 128 + stopping[0]
sys.exit(code)
