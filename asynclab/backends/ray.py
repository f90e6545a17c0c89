"""The Ray backend: the parameter server and the workers are Ray actors.

Each worker actor runs the loop a real worker runs: pull the parameters,
compute gradients on its own minibatch stream, push them, and wait when the
policy says so. One message carries ``ray_batch`` gradients (async and
ssp:S apply them one by one, so batching trades staleness for fewer
messages). The parameter server is a threaded actor holding the policy's
:class:`~asynclab.server.ParameterServer`; with ``shards > 1`` the parameters
are split over that coordinator (slice 0) and ``shards - 1`` more actors that
replay the coordinator's decisions in order on their slices, as in the
sharded servers of DistBelief (see :mod:`asynclab.backends.ray_actors`).

Time is wall-clock seconds since the workers started (Ray start-up and actor
creation excluded). The trace separates compute, communication (push: from
the worker serialising its gradients until the server handles them; pull:
from the server's reply until the worker holds the parameters) and waiting.
On a cluster, rows from different machines assume synchronised clocks.

A worker actor that dies, or that ``fail`` kills with ``ray.kill``, is
dropped from the policy (async goes on; sync stops with StalledError unless
backup workers cover it); a worker that raises fails the run with
WorkerError. Every actor asks Ray for one CPU and workers are spread over the
nodes (with ``ray_nodes``, round-robin over a local cluster's worker nodes,
one of which ``fail_node`` can lose: see :mod:`asynclab.backends.ray_nodes`).
Arrays out of Ray's object store are read-only: nothing here writes
into one in place (ParameterServer replaces its parameters, local SGD steps a
private copy).

``address=None`` starts a private local Ray for the run and shuts it down
afterwards, even on error or Ctrl-C, leaving nothing in the home directory or
the temporary one (see :mod:`asynclab.backends.ray_env`). ``address="auto"`` or
``"host:port"`` joins an existing cluster (shipping the asynclab package to
it) and leaves it running. A process already connected to Ray keeps its
connection: the run uses it and leaves it open.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time

import numpy as np

from ..drift import combined
from ..server import StalledError, WorkerError
from ..trace import COMPUTE, Trace
from .base import Evaluator, make_result, progress_bar, show_progress
from .ray_env import object_store_bytes, private_environment, reload_auth
from .ray_nodes import Placement, node_session

INSTALL_HINT = "the ray backend needs Ray: pip install 'ray>=2.9'"
ACTOR_START_TIMEOUT = 120.0      # seconds to wait for a cluster to place the actors
CONNECT_TIMEOUT = 5.0            # seconds to wait for a cluster's address to answer
ADDRESS_FORMS = "None (a local Ray), 'auto', 'HOST:PORT' or 'ray://HOST:PORT'"


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return ray


def check_config(config):
    """The checks only Ray needs (Config has checked the rest); ValueError if one fails."""
    shards, batch = config.shards, config.ray_batch
    if shards > config.problem.dim:
        raise ValueError(f"shards must be at most the {config.problem.dim} parameters, "
                         f"got {shards}")
    address = config.address
    if address is not None and not (address == "auto" or "://" in address
                                    or _host_port(address) is not None):
        raise ValueError(f"address must be {ADDRESS_FORMS}, got {address!r}")
    policy = config.policy
    unmodelled = [name for name, used in (
        ("overlap", config.overlap), ("server_bandwidth", config.server_bandwidth != float("inf")),
        (f"latency {config.latency}", not isinstance(config.latency, float)),
        ("policy 'allreduce'", policy.ring), ("policy 'gossip'", policy.gossip),
        (f"compress={str(config.compress)!r}", config.compress.kind != "none")) if used]
    if unmodelled:
        raise ValueError(f"the ray backend does not model {unmodelled[0]}; use the simulated "
                         "backend (or thread/process for overlap, allreduce, gossip, latency "
                         "laws and compress)")
    if policy.lock_free:
        raise ValueError(f"policy {policy.name!r} writes into shared memory without a server; "
                         "the ray backend allows sync, async, ssp:S, backup:B, local:H and "
                         "diloco:H")
    if batch > 1 and policy.aggregate:
        raise ValueError(f"ray_batch={batch} needs a policy that applies gradients one by one "
                         f"(async, ssp:S), not {policy.name!r}, which sends one update per step")


def run(config):
    """Run ``config`` on Ray and return its Result."""
    check_config(config)
    ray = _import_ray()
    if config.ray_nodes:
        with node_session(ray, config) as cluster:
            return RayRun(ray, config, cluster).run()
    actors = config.workers + config.shards
    with ray_session(ray, config.address, cpus=actors, nbytes=config.problem.nbytes * actors):
        return RayRun(ray, config).run()


# -- Ray's lifetime ----------------------------------------------------------------------
@contextlib.contextmanager
def ray_session(ray, address, *, cpus, nbytes):
    """Connected to Ray inside the block; afterwards exactly as before."""
    if ray.is_initialized():
        yield
        return
    if address is not None:
        import asynclab
        package = os.path.dirname(asynclab.__file__)   # shipped to the cluster's workers
        _check_reachable(address)
        reload_auth()
        try:
            ray.init(address=address, runtime_env={"py_modules": [package]},
                     log_to_driver=False, configure_logging=False)
        except ConnectionError as err:       # 'auto' with no cluster running
            raise ValueError(f"no Ray cluster found for address {address!r}: {err}") from None
        try:
            yield
        finally:
            ray.shutdown()                     # disconnects; the cluster goes on
        return
    with private_environment() as temp_dir:
        try:
            ray.init(address="local", num_cpus=max(os.cpu_count() or 1, cpus),
                     object_store_memory=object_store_bytes(nbytes),
                     include_dashboard=False, log_to_driver=False, configure_logging=False,
                     _temp_dir=temp_dir)
            yield
        finally:
            ray.shutdown()


def _host_port(address):
    host, _, port = address.rpartition(":")
    return (host.strip("[]"), int(port)) if host and port.isdigit() else None


def _check_reachable(address):
    """Fail fast on a HOST:PORT where nothing listens (Ray would retry for minutes)."""
    if address == "auto" or "://" in address:
        return                           # resolved by Ray
    try:
        socket.create_connection(_host_port(address), timeout=CONNECT_TIMEOUT).close()
    except OSError as err:
        raise ValueError(f"no Ray cluster answers at address {address!r} "
                         f"({err.strerror or err}); allowed: {ADDRESS_FORMS}") from None


# -- one run --------------------------------------------------------------------------------
class RayRun:
    """One run on a connected Ray: create the actors, drive them, build the Result.
    ``cluster``: the LocalCluster of a run with ``ray_nodes`` (it can lose nodes)."""

    def __init__(self, ray, config, cluster=None):
        from .ray_actors import Coordinator, Shard, Worker, server_options
        self.ray, self.config, self.cluster = ray, config, cluster
        self.placement = Placement(config.workers, config.ray_nodes)
        self.evaluator = Evaluator(config.problem, config.gradients, config.eval_points)
        self.initial = config.problem.initial_params()
        slices = np.array_split(self.initial, config.shards)
        rules = (config.policy, config.workers, config.lr, config.staleness_aware,
                 config.momentum, self.evaluator.every)
        server = {**server_options(config.workers), **self.placement.server}
        self.coordinator = ray.remote(Coordinator).options(**server).remote(
            slices[0], *rules, budget=config.gradients,
            grant=config.policy.local_steps * config.ray_batch,
            problem=config.problem if config.shards == 1 else None,
            alarm=config.fail_node[1] if config.fail_node else None)
        self.shards = [ray.remote(Shard).options(**server).remote(part, *rules)
                       for part in slices[1:]]
        worker = ray.remote(Worker)
        self.workers = [worker.options(num_cpus=1, **self.placement.worker(w)).remote(
            w, config, [len(s) for s in slices], self.coordinator, self.shards)
            for w in range(config.workers)]
        self.actors = [self.coordinator, *self.shards, *self.workers]

    def run(self):
        ray = self.ray
        try:
            self._wait_until_placed()
            t0 = time.time()
            ray.get(self.coordinator.start.remote(t0, self.workers, self.shards))
            self._drive({worker.run.remote(t0): w for w, worker in enumerate(self.workers)})
            try:
                outcome = ray.get(self.coordinator.finish.remote())
                parts = ray.get([a.result.remote() for a in (self.coordinator, *self.shards)])
            except ray.exceptions.RayActorError as err:
                raise RuntimeError(f"a parameter-server actor of the ray backend died: {err}")
            result = self._result(outcome, parts)
        finally:
            for actor in self.actors:
                ray.kill(actor, no_restart=True)
        if outcome["stopped"]:
            error = StalledError(outcome["stopped"])
            error.result = result
            raise error
        return result

    def _wait_until_placed(self):
        ray = self.ray
        pings = [actor.ready.remote() for actor in self.actors]
        ready, _ = ray.wait(pings, num_returns=len(pings), timeout=ACTOR_START_TIMEOUT)
        if len(ready) < len(pings):
            have = ray.cluster_resources().get("CPU", 0)
            raise RuntimeError(
                f"Ray placed only {len(ready)} of {len(pings)} actors in {ACTOR_START_TIMEOUT:g} s; "
                f"each asks for 1 CPU and the cluster has {have:g}")
        ray.get(ready)

    def _drive(self, running):
        """Wait for the workers; a dead worker actor is a failed worker. With
        ``fail_node``, lose that node when the coordinator's alarm goes off."""
        ray, progress = self.ray, progress_bar(self.config, "ray")
        alarm = [self.coordinator.alarm.remote()] if self.config.fail_node else []
        try:
            while running:
                ready, _ = ray.wait([*running, *alarm], num_returns=1, timeout=0.2)
                if ready and alarm and ready[0] == alarm[0]:
                    self.cluster.lose(self.config.fail_node[0])
                    alarm, ready = [], []
                for ref in ready:
                    worker = running.pop(ref)
                    try:
                        error = ray.get(ref)
                    except ray.exceptions.RayActorError:
                        ray.get(self.coordinator.fail.remote(worker, self._lost_with(worker)))
                        continue
                    if error is not None:
                        raise WorkerError(worker, error)
                if progress is not None:    # the count is a call to the coordinator
                    show_progress(progress, ray.get(self.coordinator.progress.remote()))
        finally:
            if progress is not None:
                progress.close()

    def _lost_with(self, worker):
        """Why a worker's actor died, if its node was lost; None otherwise."""
        node = self.placement.node_of(worker)
        lost = self.cluster.lost if self.cluster else ()
        return self.placement.loss(node) if node in lost else None

    def _result(self, outcome, parts):
        rows = sorted(outcome["rows"], key=lambda row: (row[2], row[3]))
        trace = Trace(rows)
        evaluator, version = self.evaluator, outcome["version"]
        gradients = sum(1 for row in rows if row[1] == COMPUTE)
        finals, snapshots, drifts = zip(*parts)
        params = np.concatenate(finals)
        evaluator.record(0.0, 0, 0, self.initial)
        for i, (when, updates, arrived) in enumerate(outcome["checkpoints"]):
            if evaluator.diverged:
                break
            evaluator.record(when, updates, arrived, np.concatenate([s[i] for s in snapshots]))
        end = max([row[3] for row in rows], default=0.0)
        evaluator.finish(end, version, gradients, params)
        return make_result(self.config, trace, evaluator, time=end, updates=version,
                           gradients=gradients, failed=outcome["failed"], params=params,
                           pulls=outcome["pulls"], pushes=outcome["pushes"],
                           client_drift=None if drifts[0] is None else combined(drifts),
                           nodes=self.placement.workers_on,
                           lost_nodes=tuple(self.cluster.lost) if self.cluster else ())

