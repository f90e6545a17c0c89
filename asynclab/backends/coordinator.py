"""The server side of a run on real workers: policy rules, budget, trace, losses.

A :class:`Coordinator` answers the workers of one run. It never blocks or
sleeps; it is not thread-safe, so the thread backend calls it under one lock
and the process backend calls it from the parent's loop only. Lock-based
policies go through :class:`~asynclab.server.ParameterServer` exactly as on
the simulated cluster; lock-free Hogwild! only takes its budget from here.

Workers a call releases are collected in ``released``; the backend wakes them
(``take_released``), and each then calls :meth:`begin` again. Under
``allreduce`` there is no server either: the workers reduce among themselves
(:mod:`.ring`), and worker 0 reports evaluation points (:meth:`checkpoint`).
Under ``gossip`` the workers average their models among themselves
(:mod:`.peers`); an evaluation point reads every model, and evaluates their
average (:class:`asynclab.gossip.Consensus`).
"""
from __future__ import annotations

import numpy as np

from ..gossip import Consensus
from ..server import Budget, ParameterServer, StalledError
from ..trace import APPLY, DROP, FAIL, Trace
from .base import Evaluator, loss_diverged, make_result


class DeferredEvaluator(Evaluator):
    """An Evaluator that keeps parameter snapshots during the run and computes
    the losses after it, so that evaluating costs the measured run no time.

    ``copy`` snapshots a vector that will change (the lock-free shared vector);
    the server's parameters are replaced, never modified, so a reference does.
    """

    def __init__(self, problem, budget, points, copy, view=None):
        super().__init__(problem, budget, points, view)
        self._copy, self._snapshots = copy, []

    def _evaluate(self, time, version, gradients, params):
        params = np.array(params) if self._copy else params
        if loss_diverged(self.problem, params):     # the rule of every backend
            self.diverged = True
        self._snapshots.append((time, version, gradients, params))

    def evaluate(self):
        """Compute the losses of the snapshots into ``history``."""
        snapshots, self._snapshots = self._snapshots, []
        for snapshot in snapshots:
            Evaluator._evaluate(self, *snapshot)


class Coordinator:
    def __init__(self, config, board, now, shared=None):
        """``board``: the counters workers write; ``shared``: the parameter
        vector of a lock-free or all-reduce run, gossip's PeerModels (None under
        a parameter server)."""
        self.config, self.board, self.now, self.shared = config, board, now, shared
        policy, n = config.policy, config.workers
        self.server = None if not policy.has_server else ParameterServer(
            policy, config.problem.initial_params(), n, config.lr, config.staleness_aware,
            config.momentum)
        self.budget = Budget(config.gradients, policy)   # not yet granted to any worker
        self.granted = [0] * n
        self.carrying = [0] * n           # gradients in each worker's current step
        self.parked, self.finished, self.failed, self.released = set(), set(), [], []
        self.arrived = 0                  # gradients that reached the server
        self.pulls = self.pushes = 0      # messages the server sent and received
        self.trace = Trace()
        consensus = self.consensus = Consensus() if policy.gossip else None
        # (not through self: the process backend frees gossip's locks when it lets go of
        # the coordinator's shared models, which a cycle back to it would delay)
        view = (lambda peers: consensus(peers.snapshot())) if policy.gossip else None
        self.evaluator = DeferredEvaluator(config.problem, config.gradients,
                                           config.eval_points, copy=not policy.has_server,
                                           view=view)
        self.evaluator.record(0.0, 0, 0, self.params)
        board.checkpoint = self.evaluator.next

    @property
    def params(self):
        return self.shared if self.server is None else self.server.params

    def updates(self):
        return self.board.updates() if self.server is None else self.server.version

    # -- calls on behalf of workers ------------------------------------------------
    def begin(self, worker, want=1):
        """How many gradients ``worker`` may compute now (0: the budget is
        spent), or None if the policy parks it until it is released.
        Lock-free workers ask for ``want`` at a time and get fewer near the end.
        A lost worker gets nothing (a process killed while parked may still be
        in a released list), nor does anyone once the run is stopping."""
        if worker in self.failed or self.board.stop:
            return 0
        if self.server is not None:
            if not self.server.may_start(worker):
                self.parked.add(worker)
                self._flush_if_stuck()
                return None
            grant = self.budget.take(worker, self.server)
            self.pulls += grant > 0       # the parameters go to the worker
        else:
            live = max(1, self.config.workers - len(self.finished))
            grant = self.budget.take(worker, want=min(want, max(1, self.budget.left // (2 * live))))
        self.granted[worker] += grant
        self.carrying[worker] = grant
        if grant == 0:
            self.finished.add(worker)
            self._flush_if_stuck()
        return grant

    def push(self, worker, update, version, arrival):
        """Apply or buffer ``update``, which reached the server at ``arrival``."""
        server = self.server
        self.pushes += 1
        staleness, applied, released = server.push(worker, update, version)
        self.trace.record(worker, APPLY if applied else DROP, arrival, self.now(), version,
                          staleness)
        self._release(released)
        self.arrived += self.carrying[worker]
        self.evaluator.maybe(self.now(), server.version, self.arrived, self.board.gradients(),
                             server.params)
        self._stop_if_diverged()

    def checkpoint(self, updates=None, arrived=None):
        """Snapshot the shared vector if an evaluation point was passed. Lock-free
        runs count updates on the board (each carries one gradient); the ring's
        worker 0 tells the steps done and the gradients they carried."""
        if updates is None:
            updates = arrived = self.board.updates()
            gradients = self.board.gradients()
        else:
            gradients = arrived      # at the end of a ring step, all computed have arrived
        self.evaluator.maybe(self.now(), updates, arrived, gradients, self.shared)
        self.board.checkpoint = self.evaluator.next
        self._stop_if_diverged()

    def fail(self, worker):
        """``worker`` is lost: its unspent budget goes back to the others.
        Raises StalledError if the policy cannot go on without it."""
        if worker in self.failed:
            return
        now = self.now()
        self.trace.record(worker, FAIL, now, now)
        self.failed.append(worker)
        self.finished.add(worker)
        self.parked.discard(worker)
        self.budget.give_back(self.granted[worker] - self.board.computed(worker))
        self.granted[worker] = self.board.computed(worker)
        if self.config.policy.ring:
            self.board.stop = True
            raise StalledError(f"worker {worker} failed and policy 'allreduce' needs every "
                               "worker in every step")
        if self.config.policy.gossip:     # it may have died holding its model's lock
            self.board.stop = True
            raise StalledError(f"worker {worker} was lost and policy 'gossip' does not go on "
                               "without it (its neighbours would average with its last model)")
        if self.server is not None:
            self._release(self.server.fail(worker))
            self._flush_if_stuck()

    def take_released(self):
        released, self.released = self.released, []
        return released

    # -- rules --------------------------------------------------------------------
    def _release(self, workers):
        self.parked.difference_update(workers)
        self.released.extend(workers)

    def _flush_if_stuck(self):
        # Every live worker waits and none computes: the budget ended inside an
        # aggregated step, which only a flush can close (as on the simulated cluster).
        if self.parked and len(self.parked) + len(self.finished) >= self.config.workers:
            released = self.server.flush()
            if released:
                self._release(released)
            else:
                self.board.stop = True

    def _stop_if_diverged(self):
        if self.evaluator.diverged:
            self.board.stop = True

    # -- the end --------------------------------------------------------------------
    def result(self, time):
        """The Result of the run so far, ``time`` seconds after it started."""
        updates, gradients = self.updates(), self.board.gradients()
        gossip, server = self.consensus is not None, self.server
        params = self.shared.snapshot().mean(axis=0) if gossip else np.array(self.params)
        self.evaluator.finish(time, updates, gradients, self.shared if gossip else params)
        self.evaluator.evaluate()
        self.trace.rows.sort(key=lambda row: row[3])   # by end time, as recorded
        pulls, pushes = self.pulls, self.pushes
        if self.config.policy.lock_free:    # each gradient: a read and a write of the vector
            pulls, pushes = gradients, updates
        elif gossip and self.config.workers > 1:   # each update: one exchange, a model each way
            pulls = pushes = updates
        return make_result(self.config, self.trace, self.evaluator, time=time, updates=updates,
                           gradients=gradients, failed=self.failed, params=params,
                           pulls=pulls, pushes=pushes,
                           client_drift=None if server is None or server.drift is None
                           else server.drift.value,
                           consensus_distance=self.consensus.distance if gossip else None)
