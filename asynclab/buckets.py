"""Gradient buckets: a synchronous step's communication overlapped with its backward pass.

PyTorch's DistributedDataParallel (Li et al., VLDB 2020) and "wait-free
backpropagation" send a gradient in parts as the backward pass produces
them, so that most of the communication runs while the rest of the gradient
is still being computed. Under ``overlap=True`` the policies with a step
(sync, backup:B, local:H, allreduce) do the same, on every backend but Ray:

* A gradient's compute time c is a forward pass f = (1 - β)c, then a backward
  pass b = βc (β = ``backward_fraction``, default 2/3: the backward pass costs
  about twice the forward pass).
* The gradient is sent in K = ``buckets`` equal parts of S/K bytes. Part k
  (k = 1..K) is ready at f + b·k/K after the computation began (the last one
  when it ends), and goes as soon as it is ready and the part before it has
  gone (:func:`send_times`).
* A part's message takes m = latency + S/(K·bandwidth) on the worker's link
  (through the server, sync), or τ = 2(N-1)(latency + S/(K·N·bandwidth)) as
  its own ring all-reduce. With constant times the last part has gone
  ``f + max(b + m, b/K + K·m)`` after the computation began
  (:meth:`Buckets.step_time`): only the last part is exposed while m ≤ b/K;
  beyond, the link sets the pace and more buckets add latency.

The parts carry the same numbers as the whole gradient: overlap changes when
things happen, never the parameters.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .network import ring_chunks

DEFAULT_BACKWARD = 2 / 3


@dataclass(frozen=True)
class Buckets:
    count: int = 1                      # K: parts a gradient is sent in
    backward: float = DEFAULT_BACKWARD  # β: the backward pass's share of a gradient's time

    def ready(self, seconds) -> list:
        """When each part of a gradient that takes ``seconds`` to compute is
        ready, in seconds after its computation began: f + b·k/K for k = 1..K,
        the last exactly ``seconds`` (the end of the backward pass)."""
        b, k = self.backward * seconds, self.count
        return [seconds - b * (k - i) / k for i in range(1, k + 1)]

    def nbytes(self, total) -> float:
        """Bytes of one part of a message of ``total`` bytes."""
        return total / self.count

    def step_time(self, seconds, part_seconds) -> float:
        """With constant times: seconds from the start of a gradient's
        computation until its last part has gone, each part taking
        ``part_seconds``: f + max(b + m, b/K + K·m)."""
        b, k = self.backward * seconds, self.count
        return seconds - b + max(b + part_seconds, b / k + k * part_seconds)

    def ring_parts(self, dim, workers) -> list:
        """For a ring all-reduce of a ``dim``-vector among ``workers``: the
        coordinates each part reduces, as one slice per ring chunk (part k holds
        the k-th of K pieces of every chunk of :func:`~asynclab.network.ring_chunks`).
        Every coordinate stays in its chunk, so it is added up in the same order
        as by the whole vector's ring: the same bits."""
        parts = [[] for _ in range(self.count)]
        for chunk in ring_chunks(dim, workers):
            bounds = np.linspace(chunk.start, chunk.stop, self.count + 1).astype(int)
            for part, (a, b) in zip(parts, zip(bounds[:-1], bounds[1:])):
                part.append(slice(int(a), int(b)))
        return parts


def send_times(ready, seconds) -> list:
    """``(start, end)`` of each part, ready at ``ready[k]`` and taking
    ``seconds[k]`` on one link: it goes as soon as it is ready and the part
    before it has gone."""
    times, free = [], -math.inf
    for at, took in zip(ready, seconds):
        start = max(at, free)
        free = start + took
        times.append((start, free))
    return times
