"""Momentum, explicit and implicit.

*Explicit*: heavy-ball momentum (Polyak 1964), ``Config(momentum=0.9)``. Each
update moves the parameters by a step that remembers the previous one::

    step = momentum * previous_step + lr * update
    params = params - step

The parameter server applies it to the updates it applies (sync: to the
averaged step); a local-SGD worker applies it to its local steps; a lock-free
Hogwild! worker keeps its own velocity, as each process of PyTorch's
mnist_hogwild keeps its own optimizer. ``momentum=0`` performs exactly the
floating-point operations of plain SGD.

*Implicit*: with N asynchronous workers whose compute times are exponential,
a gradient's staleness is geometric (it is each worker's turn with
probability 1/N), and in expectation asynchronous SGD *is* momentum SGD with
momentum 1 - 1/N (Mitliagkas, Zhang, Hadjis and Re, "Asynchrony begets
momentum", 2016). :func:`measure_implicit_momentum` measures it: it runs a
policy on a noise-free quadratic, records every parameter vector, and fits
``w[t+1] - w[t] = mu * (w[t] - w[t-1]) - eta * grad f(w[t])``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problems import LeastSquares


class HeavyBall:
    """One velocity: the server's, or one worker's."""

    def __init__(self, momentum=0.0):
        self.momentum = momentum
        self._previous = None     # the last step (the velocity); None before the first

    def step(self, update, lr):
        """The displacement to subtract from the parameters for ``update``
        (a gradient, or a mean of them): ``lr * update`` plus ``momentum``
        times the previous displacement."""
        step = lr * update
        if self.momentum:
            if self._previous is not None:
                step = self.momentum * self._previous + step
            self._previous = step
        return step


def local_step(local, sent, grad, lr, heavy_ball):
    """One local-SGD step of a worker on its private copy ``local``.

    Returns the stepped copy and what the worker will send at the end of its
    round: the sum of its gradients, or with momentum its displacement in
    gradient units, so that the server's ``lr * mean`` moves the parameters
    as far as the local steps moved the copies on average.
    """
    step = heavy_ball.step(grad, lr)
    part = step / lr if heavy_ball.momentum else grad
    return local - step, part if sent is None else sent + part


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
    from .backends.simulated import run
    paths = [run(config.replace(seed=s), record_path=True).path for s in seeds]
    length = min(len(p) for p in paths)
    mean_path = np.mean([p[:length] for p in paths], axis=0)
    skip = 4 * config.workers if skip is None else skip
    problem = config.problem
    return fit_momentum(mean_path, lambda w: problem.gradient(w, None), skip)
