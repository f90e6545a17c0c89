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
# time in none of them (before it starts, after it stops) counts as idle.
COMPUTE, PULL, PUSH, WAIT = "compute", "pull", "push", "wait"
# What happens to a gradient at the server: used ("apply") or thrown away
# because its step had closed ("drop"). These records carry the staleness and
# are server time, so they may overlap the sending worker's next pull.
APPLY, DROP = "apply", "drop"
# A worker stopped for good (start = end = the moment it was lost).
FAIL = "fail"
COMMUNICATION = (PULL, PUSH)


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
        totals = {}
        for worker, kind, start, end, *_ in self.rows:
            if worker >= 0 and kind in (COMPUTE, PULL, PUSH, WAIT):
                totals.setdefault(kind, np.zeros(workers))[worker] += end - start
        return {k: totals.get(k, np.zeros(workers)) for k in (COMPUTE, PULL, PUSH, WAIT)}

    def to_list(self):
        return [dataclasses.asdict(e) for e in self.events]


@dataclass
class History:
    """Loss evaluated on all the data at a few moments during the run."""

    time: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    gradients: list = field(default_factory=list)
    loss: list = field(default_factory=list)

    def record(self, time, updates, gradients, loss):
        self.time.append(time)
        self.updates.append(updates)
        self.gradients.append(gradients)
        self.loss.append(loss)

    def reached(self, target):
        """Index of the first point whose loss is at or below ``target`` (None if never)."""
        return next((i for i, loss in enumerate(self.loss) if loss <= target), None)

    def time_to(self, target):
        """First time the loss was at or below ``target`` (None if never)."""
        i = self.reached(target)
        return None if i is None else self.time[i]

    def updates_to(self, target):
        """Updates applied when the loss was first at or below ``target`` (None if never)."""
        i = self.reached(target)
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
    mean_staleness: float
    max_staleness: int
    compute_fraction: float
    comm_fraction: float
    idle_fraction: float
    gradients_per_second: float
    diverged: bool
    failed_workers: tuple
    per_worker: dict   # {"compute"|"comm"|"idle": [fraction per worker]}

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["failed_workers"] = list(self.failed_workers)
        return d


def _clean(x):
    """JSON has no NaN or infinity: write them as None."""
    return None if isinstance(x, float) and not math.isfinite(x) else x


def summarize(config, trace, history, *, time, updates, gradients, diverged, failed) -> Summary:
    n = config.workers
    busy = trace.busy_time(n)
    total = time if time > 0 else 1.0
    compute = busy[COMPUTE] / total
    comm = (busy[PULL] + busy[PUSH]) / total
    idle = np.clip(1.0 - compute - comm, 0.0, 1.0)   # clip away rounding error
    stale = trace.staleness()
    target = config.target_loss
    return Summary(
        policy=str(config.policy), backend=config.backend, workers=n,
        problem=getattr(config.problem, "name", str(config.problem)), seed=config.seed,
        time=time, updates=updates, gradients=gradients,
        dropped=sum(1 for row in trace.rows if row[1] == DROP),
        initial_loss=history.loss[0] if history.loss else math.nan,
        final_loss=history.loss[-1] if history.loss else math.nan,
        time_to_target=history.time_to(target) if target is not None else None,
        mean_staleness=float(stale.mean()) if len(stale) else 0.0,
        max_staleness=int(stale.max()) if len(stale) else 0,
        compute_fraction=float(compute.mean()), comm_fraction=float(comm.mean()),
        idle_fraction=float(idle.mean()),
        gradients_per_second=gradients / time if time > 0 else 0.0,
        diverged=diverged, failed_workers=tuple(failed),
        per_worker={"compute": compute.tolist(), "comm": comm.tolist(), "idle": idle.tolist()},
    )


@dataclass
class Result:
    config: object
    summary: Summary
    history: History
    trace: Trace
    params: np.ndarray = field(repr=False, default=None)

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
