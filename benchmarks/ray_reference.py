"""Ray's own parameter-server example, written directly against Ray, for comparison.

The pattern of the example in Ray's documentation: one parameter-server
actor, worker actors that turn parameters into a gradient, and a driver loop
that passes object refs between them. Synchronous: ask every worker for a
gradient at the same parameters, then apply their mean. Asynchronous:
``ray.wait`` for the first gradient, apply it, and send that worker the new
parameters. It keeps no trace: it only counts gradients and measures the time.
"""
from __future__ import annotations

import time

import numpy as np
import ray

from asynclab.backends.base import worker_streams


@ray.remote(num_cpus=1)
class ParameterServer:
    def __init__(self, dim, lr):
        self.params = np.zeros(dim)
        self.lr = lr

    def apply_gradients(self, *gradients):
        self.params = self.params - self.lr * np.mean(gradients, axis=0)
        return self.params

    def get_params(self):
        return self.params


@ray.remote(num_cpus=1)
class DataWorker:
    def __init__(self, problem, batch, rng):
        self.problem, self.batch, self.rng = problem, batch, rng
        problem.data                       # build the data before the clock starts

    def compute_gradients(self, params):
        return self.problem.gradient(params, self.problem.sample(self.rng, self.batch))


def run(problem, *, workers, gradients, lr=0.1, batch=32, seed=0, synchronous=False):
    """Train with the example's loop; returns (seconds, final parameters)."""
    rngs, _ = worker_streams(seed, workers)
    ps = ParameterServer.remote(problem.dim, lr)
    actors = [DataWorker.remote(problem, batch, rngs[w]) for w in range(workers)]
    ray.get([a.compute_gradients.remote(ps.get_params.remote()) for a in actors])  # warm up
    try:
        start = time.perf_counter()
        params = ps.get_params.remote()
        if synchronous:
            for _ in range(gradients // workers):
                params = ps.apply_gradients.remote(
                    *[a.compute_gradients.remote(params) for a in actors])
        else:
            pending = {a.compute_gradients.remote(params): a for a in actors}
            for _ in range(gradients - workers):
                [ready], _ = ray.wait(list(pending))
                worker = pending.pop(ready)
                params = ps.apply_gradients.remote(ready)
                pending[worker.compute_gradients.remote(params)] = worker
            for ref in pending:                 # the last gradient of each worker
                params = ps.apply_gradients.remote(ref)
        final = ray.get(params)
        return time.perf_counter() - start, final
    finally:
        for actor in (ps, *actors):
            ray.kill(actor)
