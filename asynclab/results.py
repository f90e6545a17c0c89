"""What a run produces, on every backend: a trace, a loss history and a summary.

All of it is plain data. Times are seconds: virtual seconds on the simulated
backend, wall-clock seconds elsewhere. ``Result.to_dict()`` gives JSON-ready
dicts and lists.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field

import numpy as np

from .chrome_trace import write as write_chrome_trace
from .trace import COMPUTE, DROP, PULL, PUSH, QUEUE, Trace

# What History records at each point.
METRICS = ("loss", "test_loss", "accuracy", "validation_loss", "validation_accuracy")


@dataclass
class History:
    """Metrics evaluated at a few moments during the run: ``loss`` on all the
    training data, and for classification problems ``test_loss`` and
    ``accuracy`` on the held-out test set, ``validation_loss`` and
    ``validation_accuracy`` on the validation set (None for problems
    without them). Targets and tuning read the validation set; the test
    set is for the final report."""

    time: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    gradients: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    validation_loss: list = field(default_factory=list)
    validation_accuracy: list = field(default_factory=list)

    def record(self, time, updates, gradients, loss, test=None, validation=None):
        """One point; ``test`` and ``validation`` are (loss, accuracy) or None."""
        test_loss, accuracy = test or (None, None)
        validation_loss, validation_accuracy = validation or (None, None)
        self.time.append(time)
        self.updates.append(updates)
        self.gradients.append(gradients)
        self.loss.append(loss)
        self.test_loss.append(test_loss)
        self.accuracy.append(accuracy)
        self.validation_loss.append(validation_loss)
        self.validation_accuracy.append(validation_accuracy)

    def reached(self, target, metric="loss"):
        """Index of the first point whose ``metric`` reached ``target``: at or
        below it for a loss, at or above it for an accuracy (None if never)."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        higher_is_better = metric.endswith("accuracy")
        return next((i for i, value in enumerate(getattr(self, metric)) if value is not None
                     and (value >= target if higher_is_better else value <= target)), None)

    def time_to(self, target, metric="loss"):
        """First time ``metric`` reached ``target`` (None if never)."""
        i = self.reached(target, metric)
        return None if i is None else self.time[i]

    def updates_to(self, target, metric="loss"):
        """Updates applied when ``metric`` first reached ``target`` (None if never)."""
        i = self.reached(target, metric)
        return None if i is None else self.updates[i]

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Summary:
    policy: str
    backend: str
    workers: int
    problem: str
    seed: int
    time: float
    updates: int
    gradients: int
    dropped: int
    initial_loss: float
    final_loss: float
    time_to_target: float | None
    final_accuracy: float | None      # test accuracy at the end (None: not a classifier)
    final_validation_accuracy: float | None   # validation accuracy at the end
    time_to_accuracy: float | None    # first time the validation accuracy reached
                                      # config.target_accuracy (None: never)
    mean_staleness: float
    max_staleness: int
    compute_fraction: float
    comm_fraction: float       # = transfer_fraction (kept for compatibility)
    idle_fraction: float       # = wait_fraction + queue_fraction
    gradients_per_second: float
    diverged: bool
    failed_workers: tuple
    per_worker: dict   # {"compute"|"comm"|"idle"|"wait"|"queue"|"overlap": [per worker]}
    # Where the time went: compute + wait + queue + transfer = 1 (means over workers).
    wait_fraction: float = 0.0       # blocked at a barrier or staleness bound, or nothing to do
    queue_fraction: float = 0.0      # waiting for the server or its link
    transfer_fraction: float = 0.0   # own messages on the wire, not hidden
    overlap_fraction: float = 0.0    # communication hidden behind computation (part of compute)
    # Bytes of every message on every link (asynclab.compression): pushed carries
    # updates (pushes, ring messages), pulled the parameters (pulls, fetches).
    bytes_sent: float = 0.0          # = bytes_pushed + bytes_pulled
    bytes_pushed: float = 0.0
    bytes_pulled: float = 0.0
    # Ray with ray_nodes: the workers on each worker node, and the nodes lost.
    nodes: tuple = ()
    lost_nodes: tuple = ()
    # local:H and diloco:H: the local models' mean distance from their average
    # before it is taken, over rounds (asynclab.drift); gossip: the workers' models'
    # mean distance from their average, over evaluation points (asynclab.gossip).
    client_drift: float | None = None
    consensus_distance: float | None = None

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["failed_workers"] = list(self.failed_workers)
        if self.nodes:
            d["nodes"], d["lost_nodes"] = [list(n) for n in self.nodes], list(self.lost_nodes)
        else:                    # a run on one node says nothing of nodes
            del d["nodes"], d["lost_nodes"]
        for name in ("client_drift", "consensus_distance"):
            if d[name] is None:  # only the policies that have them say so
                del d[name]
        return d


def _clean(x):
    """JSON has no NaN or infinity: write them as None."""
    return None if isinstance(x, float) and not math.isfinite(x) else x


def summarize(config, trace, history, *, time, updates, gradients, diverged, failed,
              bytes_pushed=0.0, bytes_pulled=0.0, nodes=(), lost_nodes=(), client_drift=None,
              consensus_distance=None) -> Summary:
    n = config.workers
    busy = trace.busy_time(n)
    total = time if time > 0 else 1.0
    compute = busy[COMPUTE] / total
    comm = (busy[PULL] + busy[PUSH]) / total
    idle = np.clip(1.0 - compute - comm, 0.0, 1.0)   # clip away rounding error
    queue = np.minimum(busy[QUEUE] / total, idle)
    wait = idle - queue                              # including time with nothing recorded
    overlap = trace.hidden_time(n) / total
    stale = trace.staleness()
    target, target_accuracy = config.target_loss, config.target_accuracy
    return Summary(
        policy=str(config.policy), backend=config.backend, workers=n,
        problem=getattr(config.problem, "name", str(config.problem)), seed=config.seed,
        time=time, updates=updates, gradients=gradients,
        dropped=sum(1 for row in trace.rows if row[1] == DROP),
        initial_loss=history.loss[0] if history.loss else math.nan,
        final_loss=history.loss[-1] if history.loss else math.nan,
        time_to_target=history.time_to(target) if target is not None else None,
        final_accuracy=history.accuracy[-1] if history.accuracy else None,
        final_validation_accuracy=(history.validation_accuracy[-1]
                                   if history.validation_accuracy else None),
        time_to_accuracy=(history.time_to(target_accuracy, "validation_accuracy")
                          if target_accuracy is not None else None),
        mean_staleness=float(stale.mean()) if len(stale) else 0.0,
        max_staleness=int(stale.max()) if len(stale) else 0,
        compute_fraction=float(compute.mean()), comm_fraction=float(comm.mean()),
        idle_fraction=float(idle.mean()),
        gradients_per_second=gradients / time if time > 0 else 0.0,
        diverged=diverged, failed_workers=tuple(failed),
        per_worker={"compute": compute.tolist(), "comm": comm.tolist(), "idle": idle.tolist(),
                    "wait": wait.tolist(), "queue": queue.tolist(), "overlap": overlap.tolist()},
        wait_fraction=float(wait.mean()), queue_fraction=float(queue.mean()),
        transfer_fraction=float(comm.mean()), overlap_fraction=float(overlap.mean()),
        bytes_sent=float(bytes_pushed + bytes_pulled), bytes_pushed=float(bytes_pushed),
        bytes_pulled=float(bytes_pulled),
        nodes=tuple(nodes), lost_nodes=tuple(lost_nodes),
        client_drift=client_drift, consensus_distance=consensus_distance,
    )


@dataclass
class Result:
    config: object
    summary: Summary
    history: History
    trace: Trace
    params: np.ndarray = field(repr=False, default=None)
    path: np.ndarray = field(repr=False, default=None)  # (updates + 1, dim): see simulated.run

    @property
    def failed_workers(self):
        return list(self.summary.failed_workers)

    def to_dict(self, trace=False):
        d = {"config": self.config.to_dict(),
             "summary": {k: _clean(v) for k, v in self.summary.to_dict().items()},
             "history": {k: [_clean(v) for v in vs] for k, vs in self.history.to_dict().items()}}
        if trace:
            d["trace"] = self.trace.to_list()
        return d

    def to_json(self, trace=False, **kwargs):
        return json.dumps(self.to_dict(trace=trace), **kwargs)

    def to_chrome_trace(self, path):
        """Write the trace for Perfetto / chrome://tracing (see asynclab.chrome_trace);
        returns the path. ValueError, naming it, if the path cannot be written."""
        return write_chrome_trace(self, path)

    def __repr__(self):
        s = self.summary
        return (f"<Result {s.policy} on {s.backend}, {s.workers} workers: "
                f"{s.gradients} gradients, {s.updates} updates in {s.time:.4g} s, "
                f"loss {s.initial_loss:.4g} -> {s.final_loss:.4g}"
                f"{', diverged' if s.diverged else ''}>")
