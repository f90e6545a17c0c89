"""Gossip: decentralised SGD without a server (AD-PSGD, Lian et al. 2018), ``policy="gossip"``.

Every worker keeps a model of its own. It computes a gradient on it, then,
in one atomic exchange with a neighbour, both models become their average,
``x_i, x_j <- (x_i + x_j) / 2``, and the worker subtracts its own step (lr and
momentum, with a velocity of its own) from its model. That is AD-PSGD's
order: the gradient was computed before the average it is applied after.
Nothing else touches either model during an exchange (each backend says how
it guarantees that). The rules here are the same on every backend:

* **Neighbours** (``topology``). ``ring`` (the default): worker i alternates
  between its right neighbour (i + 1) mod N and its left one (i - 1) mod N,
  right first. ``complete``: each time a neighbour drawn uniformly from the
  N - 1 others, from the worker's own ``gossip`` stream
  (:mod:`asynclab.streams`; no other stream changes). One worker has no
  neighbour: gossip is then sequential SGD, bit for bit.
* **Messages**. An exchange sends each model to the other at once: one
  message on each of the two workers' links, which it holds for latency +
  S / bandwidth (the initiator's draw). A link carries one exchange at a
  time, first come first served: the initiator waits until both are free
  (queue), then for the exchange (push); its neighbour goes on computing
  while its link carries it (fetch, on the timeline's background lane).
* **What is reported**. The model whose loss and accuracy are reported is
  the average of the workers' models; ``Summary.consensus_distance`` is the
  workers' mean Euclidean distance from that average, averaged over the
  evaluation points after the start (:class:`Consensus`). The staleness of a
  gradient is the number of averagings its worker's model went through,
  made by neighbours, while the gradient was computed.
"""
from __future__ import annotations

import numpy as np

from .streams import generators

TOPOLOGIES = ("ring", "complete")


def neighbour_streams(seed, workers):
    """One generator per worker for its choice of neighbours (``complete``)."""
    return generators(seed, "gossip", workers)


class Neighbours:
    """Whom ``worker`` averages with next, on ``topology`` among ``workers``."""

    def __init__(self, worker, workers, topology, rng):
        self.worker, self.workers, self.topology, self.rng = worker, workers, topology, rng
        self._exchanges = 0

    def next(self) -> int | None:
        """The next neighbour; None if the worker is alone."""
        w, n = self.worker, self.workers
        if n == 1:
            return None
        if self.topology == "ring":
            self._exchanges += 1
            return (w + 1) % n if self._exchanges % 2 else (w - 1) % n
        other = int(self.rng.integers(n - 1))      # uniform over the others
        return other + (other >= w)


def exchange(models, versions, worker, neighbour, step, version_read) -> int:
    """The atomic part of one gossip step of ``worker``: average its model
    (row of ``models``) with ``neighbour``'s (None: alone), then subtract its
    ``step``. ``versions`` counts each row's changes. Returns the gradient's
    staleness: the averagings its model went through since it was read at
    ``version_read``."""
    staleness = int(versions[worker] - version_read)
    if neighbour is not None:
        mine, theirs = models[worker], models[neighbour]
        mine += theirs
        mine *= 0.5              # (x_i + x_j) / 2, exactly: a halving
        theirs[:] = mine
        versions[neighbour] += 1
        versions[worker] += 1
    models[worker] -= step
    versions[worker] += 1
    return staleness


class Consensus:
    """The workers' models seen as one: their average, which is evaluated, and
    their mean distance from it, recorded at every evaluation point.
    Called with the (N, d) models, it returns the average."""

    def __init__(self):
        self.distances = []

    def __call__(self, models):
        average = models.mean(axis=0)       # one worker: its model, bit for bit
        with np.errstate(over="ignore", invalid="ignore"):
            self.distances.append(float(np.linalg.norm(models - average, axis=1).mean()))
        return average

    @property
    def distance(self) -> float | None:
        """Mean over the evaluation points after the start (where all agree)."""
        later = self.distances[1:]
        return float(np.mean(later)) if later else None


class PairLinks:
    """Simulated time: every worker's link carries one exchange at a time, and an
    exchange holds both of its workers' links. Requests come in time order (the
    event loop makes them so), so taking the first moment both are free is
    first come, first served."""

    def __init__(self, workers):
        self.free_at = [0.0] * workers

    def reserve(self, worker, neighbour, ready, hold) -> float:
        """Hold both links for ``hold`` seconds from the first moment at or
        after ``ready`` that both are free; returns that moment."""
        start = max(ready, self.free_at[worker], self.free_at[neighbour])
        self.free_at[worker] = self.free_at[neighbour] = start + hold
        return start


def check(config):
    """ValueError (one line) for an option gossip does not support."""
    refused = [(name, why) for name, why, used in (
        ("overlap", "its exchange is part of each step, not sent in the background",
         config.overlap),
        ("staleness_aware", "no server counts the updates a gradient missed", config.staleness_aware),
        ("fail", "a lost worker's neighbours would keep averaging with its frozen model",
         bool(config.fail)),
        (f"compress={str(config.compress)!r}", "its exchanges carry whole models, not the "
         "updates compression applies to", config.compress.kind != "none"),
    ) if used]
    if refused:
        name, why = refused[0]
        raise ValueError(f"policy 'gossip' does not support {name}: {why}")
