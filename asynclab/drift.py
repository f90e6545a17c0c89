"""Client drift: how far the workers' local models have moved apart when a round
of local:H or diloco:H ends, before the server averages them (Karimireddy et
al. 2020, SCAFFOLD). ``Summary.client_drift``.

A worker's update at the end of a round is the sum of its local gradients
(with momentum: its displacement in gradient units), so its local model is
the round's parameters minus ``lr * update``, and its distance from the
average of the local models is ``lr * |update - mean update|`` (Euclidean).
The figure is the mean over rounds of the workers' mean distance. On IID
data the local models drift apart only by their minibatch noise; when every
worker holds other labels (``partition="shards:2"``), each walks towards its
own optimum and the drift grows with the number of local steps.

Each round's squared distances are kept per worker, so that a server split
over several shards (Ray's ``shards``), each seeing a slice of every update,
adds its slices' squares up before the square root (:func:`combined`).
"""
from __future__ import annotations

import numpy as np


class ClientDrift:
    """The drift of one server (or one shard's slice of the parameters)."""

    def __init__(self):
        self._updates = []       # this round's updates, copied (a process's outbox is reused)
        self.rounds = []         # per round: each worker's squared distance (an array)

    def add(self, update):
        """One worker's update of the open round."""
        self._updates.append(np.array(update, dtype=float))

    def close(self, lr):
        """The round ends: its local models are about to be averaged."""
        if self._updates:
            updates = np.array(self._updates)
            deviations = updates - updates.mean(axis=0)
            self.rounds.append(lr * lr * np.einsum("ij,ij->i", deviations, deviations))
        self._updates = []

    @property
    def value(self) -> float | None:
        return combined([self])


def combined(meters) -> float | None:
    """The mean over rounds of the workers' mean distance, from the meters of
    every slice of the parameters (one meter: the whole vector); None if no
    round ended (a diverged run's is not finite)."""
    rounds = [sum(squares) for squares in zip(*(m.rounds for m in meters))]
    if not rounds:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.mean([np.sqrt(squares).mean() for squares in rounds]))
