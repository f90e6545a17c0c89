"""Ray across nodes: a head node and K worker nodes on this machine, and losing one.

``ray_nodes=K`` runs on a local multi-node Ray started with
``ray.cluster_utils.Cluster``: every node has its own raylet, object store and
worker processes, as K + 1 machines would. The head node holds the driver and
the parameter-server actors; worker ``w`` runs on worker node ``w % K``
(round-robin), placed there by a custom resource that only that node has
(``asynclab_node_<k>``; the head's is ``asynclab_head``).

``fail_node=(k, n)`` removes worker node k, not gracefully (its raylet and
every process of the node are killed), once the parameter server has received
n gradients. Fast health checks make Ray notice within about a second and
report each of its actors dead ("The actor died because its node has died");
the run then drops them like any failed worker.

A run starts its own cluster and stops it afterwards, even on error or Ctrl-C,
in a private temporary directory (see :mod:`asynclab.backends.ray_env`).
Starting one takes 10-20 s, so :func:`local_cluster` keeps one open for
several runs: inside its block, runs with ``ray_nodes=K`` use it, and a node
that a run lost is replaced when that run ends.
"""
from __future__ import annotations

import contextlib
import signal
import threading

import psutil

from .ray_env import object_store_bytes, private_environment

HEAD = "asynclab_head"
# Ray's own node-failure tests check health this often; Ray's defaults
# (every 3 s, 5 misses) take 15 s to declare a lost node dead. A killed raylet
# refuses the check at once; a slow one still has Ray's 10 s timeout to answer.
HEALTH_CHECKS = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 250,
                 "health_check_failure_threshold": 4}
# What the driver prints about a lost node, on stdout, from Ray's error channel.
NODE_DEATH_MESSAGES = ("Raylet is terminated", "The node with node id")

_held = None      # the LocalCluster of an open local_cluster block


def node_resource(node):
    return f"asynclab_node_{node}"


class Placement:
    """Which node each actor of a run goes to, as Ray options."""

    def __init__(self, workers, nodes=None):
        self.nodes = nodes
        # workers_on[k]: the workers on worker node k, round-robin (empty: one node)
        self.workers_on = tuple(tuple(range(k, workers, nodes)) for k in range(nodes or 0))
        self.server = {"resources": {HEAD: 1}} if nodes else {}

    def node_of(self, w):
        return w % self.nodes if self.nodes else None

    def worker(self, w):
        if not self.nodes:
            return {"scheduling_strategy": "SPREAD"}    # over the nodes of a real cluster
        return {"resources": {node_resource(self.node_of(w)): 1}}

    def loss(self, node):
        """How the loss of ``node`` reads in an error."""
        workers = self.workers_on[node]
        return (f"node {node} was lost with worker{'s' if len(workers) > 1 else ''} "
                f"{', '.join(map(str, workers))}")


class LocalCluster:
    """A head node and ``nodes`` worker nodes on this machine, with one CPU per
    actor: room for ``workers`` workers (round-robin) and ``shards`` servers."""

    def __init__(self, nodes, workers, shards, nbytes, temp_dir):
        from ray.cluster_utils import Cluster
        self.nodes, self.workers, self.shards = nodes, workers, shards
        self.lost = []              # worker nodes lost since the last restore, in order
        self._room = Placement(workers, nodes).workers_on
        self._options = dict(object_store_memory=object_store_bytes(nbytes), temp_dir=temp_dir)
        # With fate sharing, the nodes' processes die with this one even if it is
        # killed; Ray then also installs a SIGTERM handler, which needs the main thread.
        self._cluster = Cluster(shutdown_at_exit=threading.current_thread()
                                is threading.main_thread())
        self._nodes = [None] * nodes
        try:     # the head first, so that a failed start can still be shut down
            self._cluster.add_node(num_cpus=shards, resources={HEAD: shards},
                                   include_dashboard=False, **self._options,
                                   _system_config=dict(HEALTH_CHECKS))   # Ray adds to it
            self._add(range(nodes))
        except BaseException:
            self.shutdown()
            raise

    @property
    def address(self):
        return self._cluster.address

    def _add(self, nodes):
        for k in nodes:            # started side by side, then waited for
            room = len(self._room[k])
            self._nodes[k] = self._cluster.add_node(
                wait=False, num_cpus=room, resources={node_resource(k): room}, **self._options)
        self._cluster.wait_for_nodes()

    def lose(self, node):
        """Remove worker node ``node`` the hard way, as if its machine died: its
        raylet is killed, then every process the raylet started (the actors'
        workers, which would otherwise run on until they notice, up to a second)."""
        started = _started_by([self._nodes[node]])
        self._cluster.remove_node(self._nodes[node], allow_graceful=False)
        _kill(started)
        self._nodes[node] = None
        self.lost.append(node)

    def restore(self):
        """Replace the nodes lost since the last restore."""
        lost, self.lost = self.lost, []
        self._add(lost)

    def check_room(self, config):
        if config.ray_nodes != self.nodes:
            raise ValueError(f"ray_nodes={config.ray_nodes}, but the local cluster held open "
                             f"has {self.nodes} worker nodes")
        if config.workers > self.workers or config.shards > self.shards:
            raise ValueError(f"the local cluster held open has room for {self.workers} workers "
                             f"and {self.shards} shards; this run needs {config.workers} and "
                             f"{config.shards}")

    def shutdown(self):
        """Stop every node. Their raylets stop the processes they started, but
        not at once: those still running are killed, so that none writes into
        the temporary directory once it is removed."""
        started = _started_by(self._cluster.list_all_nodes())
        self._cluster.shutdown()
        _kill(started)


@contextlib.contextmanager
def local_cluster(ray, nodes, *, workers, shards=1, nbytes=0):
    """This process connected to a new local cluster inside the block (runs with
    ``ray_nodes=nodes`` use it); afterwards nothing of it is left."""
    global _held
    if ray.is_initialized():
        raise ValueError(f"ray_nodes={nodes} starts a local cluster, but this process is "
                         "already connected to Ray; disconnect first (ray.shutdown())")
    with private_environment(ray_tmpdir=True) as temp_dir, _sigterm_kept(), \
            _node_deaths_unprinted():
        cluster = LocalCluster(nodes, workers, shards, nbytes, temp_dir)
        try:
            ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
            _held = cluster
            yield cluster
        finally:
            _held = None
            ray.shutdown()
            cluster.shutdown()


@contextlib.contextmanager
def node_session(ray, config):
    """The cluster of a run with ``ray_nodes``: the one a local_cluster block holds
    open (its lost nodes replaced after the run), or one of its own."""
    held = _held
    if held is None:
        actors = config.workers + config.shards
        with local_cluster(ray, config.ray_nodes, workers=config.workers, shards=config.shards,
                           nbytes=config.problem.nbytes * actors) as cluster:
            yield cluster
        return
    held.check_room(config)
    try:
        yield held
    finally:
        held.restore()


def _started_by(ray_nodes):
    """The processes that the processes of ``ray_nodes`` (Ray's Node objects) started."""
    found = []
    for node in ray_nodes:
        for infos in node.all_processes.values():
            for info in infos:
                with contextlib.suppress(psutil.NoSuchProcess):
                    found += psutil.Process(info.process.pid).children(recursive=True)
    return found


def _kill(processes):
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=5)


@contextlib.contextmanager
def _sigterm_kept():
    """Ray's nodes install a SIGTERM handler for themselves; put back the one before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextlib.contextmanager
def _node_deaths_unprinted():
    """Ray's driver prints the cluster's error messages on stdout, among them a
    lost node's (its raylet's last 20 log lines, then "marked dead because the
    detector has missed too many heartbeats"). A run reports the nodes it lost
    itself, and stdout may carry JSON: while the cluster is up those messages
    are dropped, and Ray's other cluster errors go to stderr."""
    try:
        from ray._private import worker
        original = worker.print_to_stdstream
    except (ImportError, AttributeError):       # another Ray: it prints them
        yield
        return

    def printed(data, ignore_prefix):
        if data.get("pid") == "raylet":            # Ray's error channel
            if any(line.startswith(NODE_DEATH_MESSAGES) for line in data["lines"]):
                return
            data = {**data, "is_err": True}
        original(data, ignore_prefix)

    worker.print_to_stdstream = printed
    try:
        yield
    finally:
        worker.print_to_stdstream = original
