"""The parameter server's rules, shared by every backend.

``ParameterServer`` knows nothing about time or threads. A backend asks it
three things: may this worker start its next step (``may_start``), what are
the current parameters (``read``), and here is a gradient (``push``). The
answers depend only on the :class:`~asynclab.policies.Policy`, so a policy
behaves the same on the simulated clock, on threads, on processes and on Ray.
A backend that runs workers concurrently must serialise calls (one lock).

Vocabulary:

* ``version`` counts parameter updates applied so far.
* A worker's ``clock`` counts the steps it has completed (gradients pushed).
* The ``staleness`` of a gradient is ``version`` at the moment it is applied
  minus the version the worker read before computing it: the number of updates
  it did not see.
"""
from __future__ import annotations

import math

import numpy as np

from .drift import ClientDrift
from .momentum import HeavyBall
from .network import ring_sum
from .outer import OuterNesterov


class StalledError(RuntimeError):
    """A synchronous policy cannot go on because too many workers failed.

    Backends attach the partial run as ``.result`` when they can.
    """


class WorkerError(RuntimeError):
    """A worker raised: the message names the worker and carries its traceback."""

    def __init__(self, worker, traceback_text):
        super().__init__(f"worker {worker} failed:\n{traceback_text}")
        self.worker = worker
        self.traceback_text = traceback_text


class ParameterServer:
    """``momentum`` is heavy-ball momentum on the updates the server applies
    (:class:`~asynclab.momentum.HeavyBall`): one velocity, or under lock-free
    Hogwild! one per worker, as each lock-free worker keeps its own. Under
    local:H (H > 1) the workers apply it to their local steps instead, and
    the server averages their displacements without momentum of its own.
    Under diloco:H (``policy.outer``) it applies that average through DiLoCo's
    outer optimiser (:class:`~asynclab.outer.OuterNesterov`). Under local:H and
    diloco:H ``drift`` measures how far the local models were apart before
    each average (:class:`~asynclab.drift.ClientDrift`; None otherwise).
    Set ``path`` to a list to record every parameter vector it makes."""

    def __init__(self, policy, params, workers, lr, staleness_aware=False, momentum=0.0):
        if policy.backups >= workers:
            raise ValueError(f"policy {policy.name!r} drops {policy.backups} gradients per step "
                             f"but there are only {workers} workers; allowed: backups < workers")
        self.policy = policy
        self.params = params      # replaced, never modified, by a server update
        self.version = 0
        self.lr = lr
        self.staleness_aware = staleness_aware
        self.live = set(range(workers))
        self.failed = []
        # Bounded staleness (individually applied gradients).
        self.clock = [0] * workers
        self._at_clock = {0: workers}     # how many live workers have each clock
        self.min_clock = 0
        self._blocked = {}                # clock -> workers waiting at that clock
        # Aggregated steps: gradients of the open step and who sent them.
        self.quorum = workers - policy.backups
        self.workers = workers
        self._step_sum = None             # running sum (a ring keeps the gradients: {worker: g})
        self._step_workers = []
        self._pushed_at = [-1] * workers  # version each worker last pushed against
        if policy.local_steps > 1:
            momentum = 0.0
        self._velocities = [HeavyBall(momentum) for _ in range(workers if policy.lock_free else 1)]
        if policy.outer is not None:
            self._velocities = [OuterNesterov(*policy.outer, inner=self._velocities[0])]
        self.drift = ClientDrift() if policy.averages_models else None
        self.path = None

    # -- questions a backend asks ---------------------------------------------------
    def read(self):
        """The current parameters and their version (treat the array as read-only)."""
        return self.params, self.version

    def may_start(self, worker) -> bool:
        """True if ``worker`` may start its next step; otherwise it is parked
        and will appear in the ``released`` list of a later push or fail."""
        if self.policy.aggregate:
            if self._pushed_at[worker] < self.version:
                return True
        elif self.clock[worker] - self.min_clock <= self.policy.bound:
            return True
        self._blocked.setdefault(self._block_key(worker), []).append(worker)
        return False

    def push(self, worker, update, version_read):
        """Apply or buffer one worker's update (a gradient, or for local SGD the
        sum of its local gradients).

        Returns ``(staleness, applied, released)``: the gradient's staleness,
        whether it was used (False if a closed step dropped it), and the
        workers that may now start their next step.
        """
        staleness = self.version - version_read
        if self.policy.aggregate:
            return (staleness, *self._push_aggregated(worker, update, version_read))
        lr = self.lr / (staleness + 1) if self.staleness_aware else self.lr
        self._apply(self._velocities[worker if self.policy.lock_free else 0].step(update, lr))
        self.version += 1
        return staleness, True, self._advance_clock(worker)

    def fail(self, worker):
        """Forget a failed worker. Returns the workers this releases; raises
        StalledError if an aggregated step can no longer gather its quorum."""
        if worker not in self.live:
            return []
        self.live.discard(worker)
        self.failed.append(worker)
        for parked in self._blocked.values():   # a lost worker is never released again
            if worker in parked:
                parked.remove(worker)
        if self.policy.aggregate:
            if len(self.live) < self.quorum:
                raise StalledError(
                    f"worker {worker} failed and policy {self.policy.name!r} needs "
                    f"{self.quorum} gradients per step but only {len(self.live)} workers are left")
            return []
        self._at_clock[self.clock[worker]] -= 1
        return self._raise_min_clock()

    def flush(self):
        """Apply a partially gathered aggregated step (used when the budget ends)."""
        if self._step_workers:
            return self._close_step()
        return []

    # -- rules --------------------------------------------------------------------
    def _block_key(self, worker):
        return self.version if self.policy.aggregate else self.clock[worker]

    def _push_aggregated(self, worker, update, version_read):
        if version_read != self.version:
            # The step this gradient belongs to closed without it: drop it.
            return False, []
        self._pushed_at[worker] = version_read
        if self.policy.ring:
            self._step_sum = self._step_sum or {}
            self._step_sum[worker] = update
        else:
            self._step_sum = update.copy() if self._step_sum is None else self._step_sum + update
        if self.drift is not None:
            self.drift.add(update)
        self._step_workers.append(worker)
        if len(self._step_workers) >= self.quorum:
            return True, self._close_step()
        return True, []

    def _close_step(self):
        total = self._step_sum
        if self.policy.ring:      # added up in ring order; a worker without a gradient adds zeros
            zeros = np.zeros_like(next(iter(total.values())))
            total = ring_sum([total.get(w, zeros) for w in range(self.workers)])
        mean = total / len(self._step_workers)
        if self.drift is not None:
            self.drift.close(self.lr)
        self._apply(self._velocities[0].step(mean, self.lr))
        self._step_sum, self._step_workers = None, []
        self.version += 1
        return self._blocked.pop(self.version - 1, [])

    def _apply(self, step):
        self.params = self.params - step
        if self.path is not None:
            self.path.append(self.params)

    def _advance_clock(self, worker):
        c = self.clock[worker]
        self.clock[worker] = c + 1
        if worker not in self.live:
            return []
        self._at_clock[c] -= 1
        self._at_clock[c + 1] = self._at_clock.get(c + 1, 0) + 1
        return self._raise_min_clock()

    def _raise_min_clock(self):
        """Move min_clock up past empty clocks; release workers now within the bound."""
        if not self.live:
            return []
        old = self.min_clock
        while self._at_clock.get(self.min_clock, 0) == 0:
            self._at_clock.pop(self.min_clock, None)
            self.min_clock += 1
        if self.min_clock == old or math.isinf(self.policy.bound):
            return []
        released = []
        for c in range(old + int(self.policy.bound) + 1, self.min_clock + int(self.policy.bound) + 1):
            released.extend(self._blocked.pop(c, []))
        return released


class Budget:
    """The gradients a run may compute, handed out as workers begin their steps.

    A worker gets what it asks for while any are left, first come first
    served: one gradient per step under backup:B, async, ssp:S and hogwild
    (lock-free workers ask for chunks). A step that every live worker joins
    (sync, local:H, allreduce) instead shares its gradients out when its first
    worker begins it: every live worker gets ``local_steps``; when fewer are
    left, they are spread as evenly as possible, lower worker ids first. So who
    computes the last gradients of those steps does not depend on timing,
    every backend hands them out alike (ring workers even agree on it without
    talking), and sync's last partial step averages the same gradients as
    allreduce's.
    """

    def __init__(self, total, policy):
        self.left, self.policy = total, policy
        self._step = None          # (version, {worker: share}) of the open step

    def take(self, worker, server=None, want=1) -> int:
        """Gradients ``worker`` may compute now (0: none are left for it).
        ``server`` (a ParameterServer) tells the step and the live workers of
        an aggregated policy."""
        if server is not None and self.policy.aggregate and not self.policy.backups:
            if self._step is None or self._step[0] != server.version:
                self._step = (server.version, self.shares(server.live))
            want = self._step[1].pop(worker, 0)
        grant = min(want, self.left)
        self.left -= grant
        return grant

    def shares(self, live) -> dict:
        """{worker: gradients} of an aggregated step that ``live`` workers begin now."""
        live = sorted(live)
        share, extra = divmod(min(self.left, self.policy.local_steps * len(live)), len(live))
        return {w: share + (i < extra) for i, w in enumerate(live)}

    def take_step(self, step, live) -> dict:
        """All the shares of one aggregated step at once (for workers that each keep
        their own Budget and must agree on it: the ring). Repeated calls for the
        same ``step`` give the same answer."""
        if self._step is None or self._step[0] != step:
            self._step = (step, self.shares(live))
            self.left -= sum(self._step[1].values())
        return self._step[1]

    def give_back(self, gradients):
        """A lost worker's gradients that it was granted but never computed."""
        self.left += gradients


def apply_lock_free(params: np.ndarray, update, lr, heavy_ball):
    """Hogwild!: write one step straight into shared parameters, no lock.

    ``update`` is a dense gradient or a sparse ``(coordinates, values)`` pair
    (sparse only without momentum: a velocity is dense); ``heavy_ball`` is
    the writing worker's own velocity. Concurrent writers may overwrite each
    other's coordinates; that is the bargain Hogwild! makes.
    """
    if isinstance(update, tuple):
        coords, values = update
        np.subtract.at(params, coords, lr * values)
    else:
        params -= heavy_ball.step(update, lr)
