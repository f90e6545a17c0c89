"""Heavy-ball momentum (Polyak 1964), ``Config(momentum=0.9)``: the optimiser.

Each update moves the parameters by a step that remembers the previous one::

    step = momentum * previous_step + lr * update
    params = params - step

The parameter server applies it to the updates it applies (sync: to the
averaged step); a local-SGD worker applies it to its local steps; a lock-free
Hogwild! worker keeps its own velocity, as each process of PyTorch's
mnist_hogwild keeps its own optimizer. ``momentum=0`` performs exactly the
floating-point operations of plain SGD.

The momentum that asynchrony itself adds is measured in
:mod:`asynclab.implicit_momentum`.
"""
from __future__ import annotations


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
