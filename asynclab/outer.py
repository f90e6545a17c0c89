"""DiLoCo's outer optimiser (Douillard et al. 2023): ``policy="diloco:H"``.

Under ``local:H`` every worker takes H inner SGD steps (with the Config's
``lr`` and ``momentum``) on its own copy of the parameters, and the server
subtracts the mean of the workers' displacements, the *pseudo-gradient*::

    delta = lr * mean(updates)      # what local:H subtracts (asynclab.server)
    params = params - delta

DiLoCo treats ``delta`` as a gradient and gives it to an optimiser of its own,
SGD with Nesterov momentum (as ``torch.optim.SGD(nesterov=True)``)::

    velocity = outer_momentum * velocity + delta      # velocity = delta at first
    params = params - outer_lr * (delta + outer_momentum * velocity)

The outer step acts on exactly the ``delta`` local:H applies (the same array,
from the same floating-point operations), and with ``outer_momentum = 0`` it
does no momentum arithmetic at all, so ``outer_lr = 1, outer_momentum = 0``
multiplies ``delta`` by 1.0, which changes no bit: diloco:H is then local:H,
bit for bit (tests/test_rounds_oracles.py). The defaults, 0.7 and 0.9, are
the outer learning rate and Nesterov momentum of the example in OpenDiLoCo's
README (Jaghouar et al. 2024), not a figure quoted from the DiLoCo paper.
"""
from __future__ import annotations

DEFAULT_OUTER_LR = 0.7
DEFAULT_OUTER_MOMENTUM = 0.9


class OuterNesterov:
    """The server's optimiser under diloco:H: ``inner`` (the server's
    :class:`~asynclab.momentum.HeavyBall`, which turns the averaged update into
    local:H's displacement) followed by one Nesterov step on that displacement."""

    def __init__(self, lr, momentum, inner):
        self.lr, self.momentum, self.inner = lr, momentum, inner
        self._velocity = None     # the outer velocity; None before the first round

    def step(self, update, lr):
        """The displacement to subtract from the parameters for the averaged
        ``update`` of one round (``lr``: the inner learning rate)."""
        delta = self.inner.step(update, lr)      # the pseudo-gradient: what local:H subtracts
        if self.momentum:
            velocity = delta if self._velocity is None else self.momentum * self._velocity + delta
            self._velocity = velocity
            delta = delta + self.momentum * velocity
        return self.lr * delta
