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

# What a worker can be doing. A worker is in at most one of these at a time;
# time in none of them (before it starts, after it stops) counts as waiting.
# pull/push: its own messages on the wire while it waits for them (transfer);
# wait: blocked at a barrier or a staleness bound; queue: waiting for the
# server, or for the server's link, to take its message.
COMPUTE, PULL, PUSH, WAIT, QUEUE = "compute", "pull", "push", "wait", "queue"
# Under overlap a background sender carries a worker's messages while it
# computes: send (a push) and fetch (a pull of the newest parameters), from
# the moment their bytes start moving until they arrive. They may overlap
# the worker's own events (the timeline draws them on a thin second lane).
SEND, FETCH = "send", "fetch"
# What happens to a gradient at the server: used ("apply") or thrown away
# because its step had closed ("drop"). These records carry the staleness and
# are server time, so they may overlap the sending worker's next pull.
APPLY, DROP = "apply", "drop"
# A worker stopped for good (start = end = the moment it was lost).
FAIL = "fail"
COMMUNICATION = (PULL, PUSH)
BACKGROUND = (SEND, FETCH)
FOREGROUND = (COMPUTE, PULL, PUSH, WAIT, QUEUE)


@dataclass(frozen=True)
class Event:
    worker: int
    kind: str
    start: float
    end: float
    version: int = -1          # parameter version the worker had read
    staleness: int = -1        # for apply/drop: updates the gradient missed

    @property
    def duration(self) -> float:
        return self.end - self.start


class Trace:
    """A run's events. Recorded as tuples (cheap to append), read as Events."""

    def __init__(self, rows=None):
        self.rows = rows if rows is not None else []

    def record(self, worker, kind, start, end, version=-1, staleness=-1):
        self.rows.append((worker, kind, start, end, version, staleness))

    @property
    def events(self):
        return [Event(*row) for row in self.rows]

    def __len__(self):
        return len(self.rows)

    def of_kind(self, *kinds):
        return [Event(*row) for row in self.rows if row[1] in kinds]

    def staleness(self) -> np.ndarray:
        """Staleness of every applied gradient, in order of application."""
        return np.array([row[5] for row in self.rows if row[1] == APPLY], dtype=int)

    def busy_time(self, workers: int) -> dict:
        """Seconds each worker spent per kind: {kind: array of length workers}."""
        # Python floats add exactly as numpy's float64 do, in the same order, and
        # faster one at a time (this runs after every run, on every event).
        totals = {kind: [0.0] * workers for kind in FOREGROUND}
        for row in self.rows:
            per_worker = totals.get(row[1])
            if per_worker is not None and row[0] >= 0:
                per_worker[row[0]] += row[3] - row[2]
        return {kind: np.array(per_worker) for kind, per_worker in totals.items()}

    def hidden_time(self, workers: int) -> np.ndarray:
        """Seconds each worker's background messages (send, fetch) ran while it
        computed: communication hidden behind computation."""
        if not any(row[1] in BACKGROUND for row in self.rows):    # nothing sent in the background
            return np.zeros(workers)
        computing, sending = ([[] for _ in range(workers)] for _ in range(2))
        for worker, kind, start, end, *_ in self.rows:
            if 0 <= worker < workers and kind in BACKGROUND:
                sending[worker].append((start, end))
            elif 0 <= worker < workers and kind == COMPUTE:
                computing[worker].append((start, end))
        return np.array([_intersection(sorted(a), sorted(b))
                         for a, b in zip(computing, sending)], dtype=float)

    def to_list(self):
        return [dataclasses.asdict(e) for e in self.events]


METRICS = ("loss", "test_loss", "accuracy")   # what History records at each point


@dataclass
class History:
    """Metrics evaluated at a few moments during the run: ``loss`` on all the
    training data, and for classification problems ``test_loss`` and
    ``accuracy`` on the held-out test set (None for problems without one)."""

    time: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    gradients: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)

    def record(self, time, updates, gradients, loss, test_loss=None, accuracy=None):
        self.time.append(time)
        self.updates.append(updates)
        self.gradients.append(gradients)
        self.loss.append(loss)
        self.test_loss.append(test_loss)
        self.accuracy.append(accuracy)

    def reached(self, target, metric="loss"):
        """Index of the first point whose ``metric`` reached ``target``: at or
        below it for a loss, at or above it for accuracy (None if never)."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        higher_is_better = metric == "accuracy"
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
    final_accuracy: float | None      # held-out accuracy at the end (None: not a classifier)
    time_to_accuracy: float | None    # first time at config.target_accuracy (None: never)
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
    # Ray with ray_nodes: the workers on each worker node, and the nodes lost.
    nodes: tuple = ()
    lost_nodes: tuple = ()

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["failed_workers"] = list(self.failed_workers)
        if self.nodes:
            d["nodes"], d["lost_nodes"] = [list(n) for n in self.nodes], list(self.lost_nodes)
        else:                    # a run on one node says nothing of nodes
            del d["nodes"], d["lost_nodes"]
        return d


def _intersection(a, b):
    """Total length of the overlap of two lists of disjoint intervals, each sorted."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _clean(x):
    """JSON has no NaN or infinity: write them as None."""
    return None if isinstance(x, float) and not math.isfinite(x) else x


def summarize(config, trace, history, *, time, updates, gradients, diverged, failed,
              nodes=(), lost_nodes=()) -> Summary:
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
        time_to_accuracy=(history.time_to(target_accuracy, "accuracy")
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
        nodes=tuple(nodes), lost_nodes=tuple(lost_nodes),
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
        from .chrome_trace import write
        return write(self, path)

    def __repr__(self):
        s = self.summary
        return (f"<Result {s.policy} on {s.backend}, {s.workers} workers: "
                f"{s.gradients} gradients, {s.updates} updates in {s.time:.4g} s, "
                f"loss {s.initial_loss:.4g} -> {s.final_loss:.4g}"
                f"{', diverged' if s.diverged else ''}>")
