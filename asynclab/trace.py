"""What each worker did, and when: the event vocabulary and a run's Trace.

Every backend records the same kinds of event (compute, pull, push, wait,
queue, send, fetch, apply, drop, fail) as plain tuples; a Trace reads them
back as frozen :class:`Event` records and adds them up per worker. Times are
seconds: virtual on the simulated backend, wall-clock elsewhere.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

# What a worker can be doing. A worker is in at most one of these at a time;
# time in none of them (before it starts, after it stops) counts as waiting.
# pull/push: its own messages on the wire while it waits for them (transfer);
# wait: blocked at a barrier or a staleness bound; queue: waiting for the
# server, or for the server's link, to take its message.
COMPUTE, PULL, PUSH, WAIT, QUEUE = "compute", "pull", "push", "wait", "queue"
# Under overlap a background sender carries a worker's messages while it
# computes: send (a push, or one bucket of a gradient; a bucket's ring
# reduce-scatter under allreduce) and fetch (a pull of the newest parameters;
# a bucket's all-gather), from the moment their bytes start moving until they
# arrive. They may overlap the worker's own events (the timeline draws them on
# a thin second lane).
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


def time_per_slice(worker, start, end, workers, edges) -> np.ndarray:
    """Seconds each worker spent in the spans ``(start, end)`` (arrays, one entry a
    span; ``worker`` says whose) within each slice of time between consecutive
    ``edges``: an array of shape (workers, len(edges) - 1). A span that crosses
    an edge counts in both slices for its part in each."""
    edges = np.asarray(edges, dtype=float)
    out = np.zeros((workers, len(edges) - 1))
    for w in range(workers):
        mine = worker == w
        starts, ends = np.sort(start[mine]), np.sort(end[mine])
        # Time covered before each edge e: the sum over spans of clip(e - start, 0,
        # end - start), that is (e - start) over spans begun by e, less (e - end)
        # over spans ended by e.
        begun, ended = np.searchsorted(starts, edges), np.searchsorted(ends, edges)
        covered = (begun * edges - np.concatenate([[0.0], np.cumsum(starts)])[begun]
                   - ended * edges + np.concatenate([[0.0], np.cumsum(ends)])[ended])
        out[w] = np.diff(covered)
    return out


def split(start, end, marked, rest):
    """The pieces of ``[start, end]`` as ``(start, end, kind)`` in time order:
    inside the intervals ``marked`` (``(start, end, kind)``, disjoint) with
    their kind, the rest as ``rest``. Used where a worker waits for something
    running in the background (its sender, its buckets) and must record what
    that time was: waiting at a bound, queueing for the server, or its own
    messages on the wire."""
    pieces, at = [], start
    for a, b, kind in sorted(marked):
        a, b = max(a, at), min(b, end)
        if b > a:
            if a > at:
                pieces.append((at, a, rest))
            pieces.append((a, b, kind))
            at = b
    if end > at:
        pieces.append((at, end, rest))
    return pieces


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
