"""The momentum asynchrony adds: measured, not assumed.

With N asynchronous workers whose compute times are exponential, a
gradient's staleness is geometric (it is each worker's turn with probability
1/N), and in expectation asynchronous SGD *is* momentum SGD with momentum
1 - 1/N (Mitliagkas, Zhang, Hadjis and Re, "Asynchrony begets momentum",
2016). :func:`measure_implicit_momentum` measures it: it runs a policy on a
noise-free quadratic (:class:`Quadratic`), records every parameter vector,
and fits ``w[t+1] - w[t] = mu * (w[t] - w[t-1]) - eta * grad f(w[t])``.

This is an experiment on the simulated cluster, so it sits above the engine;
the optimiser itself is :class:`asynclab.momentum.HeavyBall`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backends.simulated import run
from .problems import LeastSquares


@dataclass(frozen=True)
class Quadratic(LeastSquares):
    """Least squares whose every gradient is the full-batch one: no sampling
    noise (and with ``noise=0`` an exact solution), so that staleness alone
    shapes the path. The setting of the implicit-momentum fit."""

    noise: float = 0.0

    name = "quadratic"

    def gradient(self, w, idx=None):
        X, y = self.data
        return X.T @ (X @ w - y) / self.examples


def fit_momentum(path, gradient, skip=0):
    """Least-squares fit of ``w[t+1] - w[t] = mu * (w[t] - w[t-1]) - eta * gradient(w[t])``
    over a parameter path (one row per update), all coordinates pooled, from
    update ``skip`` on. Returns ``(mu, eta)``."""
    path = np.asarray(path)
    steps = np.diff(path, axis=0)                                 # steps[t-1] = w[t] - w[t-1]
    grads = np.array([gradient(w) for w in path[1 + skip:-1]])   # at w[t], t = skip+1 .. T-1
    regressors = np.column_stack([steps[skip:-1].ravel(), -grads.ravel()])
    (mu, eta), *_ = np.linalg.lstsq(regressors, steps[skip + 1:].ravel(), rcond=None)
    return float(mu), float(eta)


def measure_implicit_momentum(config, seeds=range(200), skip=None):
    """The momentum a run behaves as if it had: ``(mu, eta)`` fitted on the
    mean, over ``seeds``, of the parameter paths of ``config`` (simulated).

    Use a :class:`Quadratic` problem: its gradient is linear and noise-free,
    so the mean path follows the expected update, which is what the theory
    describes. A fit on one path finds mu near 0: the previous step it
    regresses on is itself random, and that noise drags mu towards 0. The
    mean of finitely many paths keeps some of that noise, so mu comes out a
    little low (about 0.02-0.04 with 200 seeds at lr=0.1; see
    tests/test_momentum.py). The first ``skip`` updates (default: 4 per
    worker) are left out: a run starts with no stale gradients.
    """
    paths = [run(config.replace(seed=s), record_path=True).path for s in seeds]
    length = min(len(p) for p in paths)
    mean_path = np.mean([p[:length] for p in paths], axis=0)
    skip = 4 * config.workers if skip is None else skip
    problem = config.problem
    return fit_momentum(mean_path, lambda w: problem.gradient(w, None), skip)
