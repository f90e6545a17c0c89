"""The simulated cluster: real gradients, virtual time.

One event loop, as in SimPy: a heap of ``(time, sequence, worker)`` entries.
Each worker is a generator that reads like its timeline (pull, compute, push)
and yields how many virtual seconds its next activity lasts, or ``PARK`` to
wait until something releases it. Popping the earliest entry and resuming
that worker is the whole loop. Ties are broken by the sequence number, so a
run is a pure function of its Config: same seed, same numbers, bit for bit.

How long a message takes, and whether it must queue for the server's link,
is the network model's answer (:class:`~asynclab.network.Network`). Three
kinds of worker:

* ``_worker``: pull, compute, push, one after the other (every policy but
  the two below).
* ``_computer`` and ``_sender`` under ``overlap``: the computer hands each
  push to its background sender and starts its next gradient at once on the
  parameters it holds; the sender pushes, then fetches the newest
  parameters, which the computer uses from its next gradient on. A computer
  that finishes a gradient while its sender is still busy waits for it.
* ``_ring_worker`` under ``allreduce``: compute, wait for the step's other
  gradients, then the ring all-reduce; no server, no pull, no push.
"""
from __future__ import annotations

import heapq
import itertools
import sys

import numpy as np
from threadpoolctl import ThreadpoolController

from ..momentum import HeavyBall, local_step
from ..network import Network
from ..server import Budget, ParameterServer, StalledError
from ..timing import WorkerClock
from ..trace import APPLY, COMPUTE, DROP, FAIL, FETCH, PULL, PUSH, QUEUE, SEND, WAIT, Trace
from .base import Evaluator, make_result, message_clocks, progress_bar, worker_streams

PARK = None   # yielded by a worker that waits for something to release it


class Simulation:
    def __init__(self, config, record_path=False):
        self.config = config
        self.problem = problem = config.problem
        self.policy = policy = config.policy
        self.timing = timing = config.timing
        n = config.workers
        self.server = ParameterServer(policy, problem.initial_params(), n, config.lr,
                                      config.staleness_aware, config.momentum)
        if record_path:
            self.server.path = [self.server.params]
        self.budget = Budget(config.gradients, policy)
        batch_rngs, time_rngs = worker_streams(config.seed, n)
        self.batch_rngs = batch_rngs
        block = min(512, max(8, config.gradients // n + 1))
        self.clocks = [WorkerClock(timing, w, time_rngs[w], block) for w in range(n)]
        # Only a parameter server has a shared link (and applies one gradient at a time).
        self.network = Network(timing, problem.nbytes, message_clocks(config),
                               config.server_bandwidth if policy.has_server else float("inf"))
        self.apply_time = timing.apply_time if policy.has_server else 0.0
        self.fail_after = dict(config.fail)
        self.trace = Trace()
        self.evaluator = Evaluator(problem, config.gradients, config.eval_points)
        self.now = 0.0
        self.arrived = 0          # gradients that reached the server
        self.server_free = 0.0    # when the server finishes its queued applies
        self._queue, self._seq = [], itertools.count()
        self.computed = 0         # gradients finished, over all workers
        self._computed_by = [0] * n
        self._parked = set()      # workers waiting for the server to release them
        self._progress = None
        # Overlap: per worker, the push handed to its sender, the parameters it
        # fetched, whether it is busy, and whether the computer waits for it.
        self._jobs, self._fetched = [None] * n, [None] * n
        self._sending, self._waiting_for_sender = [False] * n, [False] * n
        self._ring = (-1, (0.0, 0.0))   # (step, seconds of its reduce-scatter and all-gather)

    # -- the event loop ---------------------------------------------------------------
    def run(self):
        cfg = self.config
        self.evaluator.record(0.0, 0, 0, self.server.params)
        life = (self._ring_worker if self.policy.ring else
                self._computer if cfg.overlap else self._worker)
        self._workers = [life(w) for w in range(cfg.workers)]
        self._senders = [self._sender(w) for w in range(cfg.workers)] if cfg.overlap else []
        for worker in self._workers:
            self._schedule(0.0, worker)
        self._progress = progress_bar(cfg, "simulated")
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                self._loop()
        except StalledError as err:
            err.result = self._result()
            raise
        finally:
            if self._progress is not None:
                self._progress.close()
        return self._result()

    def _loop(self):
        queue, push, pop, seq = self._queue, heapq.heappush, heapq.heappop, self._seq
        while not self.evaluator.diverged:
            if not queue:
                # Everyone is parked: the budget ended inside an aggregated step.
                released = self.server.flush() if self._parked else []
                if not released:
                    return
                self._release(released)
                continue
            time, _, worker = pop(queue)
            self.now = time
            try:
                delay = next(worker)
            except StopIteration:
                continue
            if delay is not PARK:
                push(queue, (time + delay, next(seq), worker))

    def _schedule(self, time, worker):
        heapq.heappush(self._queue, (time, next(self._seq), worker))

    def _release(self, workers):
        for w in workers:
            self._parked.discard(w)
            self._schedule(self.now, self._workers[w])

    # -- one worker's life --------------------------------------------------------------
    def _worker(self, w):
        server, trace, msg = self.server, self.trace, self.network.fixed
        local_steps, lr = self.policy.local_steps, self.config.lr
        heavy_ball = HeavyBall(self.config.momentum)   # this worker's velocity for its local steps
        if self._lost(w):
            return
        while True:
            yield from self._wait_to_start(w)
            grant = self.budget.take(w, server)
            if not grant:
                return
            if msg is None:
                params, version = yield from self._pull(w, PULL)
            else:                 # the default network: one fixed time per message
                params, version = server.read()
                if msg:
                    start = self.now
                    yield msg
                    trace.record(w, PULL, start, self.now, version)
            # Compute: one gradient, or local_steps of them on a private copy.
            update, local = None, params
            for step in range(grant):
                grad = yield from self._compute(w, local, version)
                if grad is None:
                    return
                if local_steps == 1:
                    update = grad
                else:
                    local, update = local_step(local, update, grad, lr, heavy_ball)
            if msg is None:
                yield from self._send(w, PUSH, version)
            elif msg:
                start = self.now
                yield msg
                trace.record(w, PUSH, start, self.now, version)
            yield from self._deliver(w, update, version, grant)

    def _computer(self, w):
        """Under overlap: compute, hand the push to the sender, compute again."""
        server, trace, held = self.server, self.trace, None
        if self._lost(w):
            return
        while True:
            yield from self._wait_to_start(w)
            if not self.budget.take(w, server):
                return        # its sender still carries the last push
            if held is None:  # no parameters yet: the first pull is in the foreground
                held = yield from self._pull(w, PULL)
            params, version = held
            grad = yield from self._compute(w, params, version)
            if grad is None:
                return        # its sender finishes the push it carries
            if self._sending[w]:
                # Its link still carries the last push or fetch: its own messages,
                # not hidden behind computation.
                start = self.now
                self._waiting_for_sender[w] = True
                yield PARK
                trace.record(w, PUSH, start, self.now, version)
            if self._fetched[w] is not None:
                held, self._fetched[w] = self._fetched[w], None
            self._jobs[w] = (grad, version)
            self._sending[w] = True
            self._schedule(self.now, self._senders[w])

    def _sender(self, w):
        """Under overlap: push what the computer handed over, then fetch."""
        while True:
            update, version = self._jobs[w]
            yield from self._send(w, SEND, version)
            yield from self._deliver(w, update, version, 1, background=True)
            if self.budget.left and w in self.server.live:   # it will compute again
                self._fetched[w] = yield from self._pull(w, FETCH)
            self._sending[w] = False
            if self._waiting_for_sender[w]:
                self._waiting_for_sender[w] = False
                self._schedule(self.now, self._workers[w])
            yield PARK

    def _ring_worker(self, w):
        """allreduce: compute, wait for the step's last gradient, all-reduce."""
        server, reduced = self.server, None    # reduced: the step it must all-reduce
        if self._lost(w):
            return
        while True:
            yield from self._wait_to_start(w)      # until the step's last gradient is in
            if reduced is not None:
                yield from self._all_reduce(w, reduced)
                reduced = None
            if not self.budget.take(w, server):
                return
            params, version = server.read()
            grad = yield from self._compute(w, params, version)
            if grad is None:
                return
            # Buffered until the step's last gradient, then added up in ring order.
            self._release(server.push(w, grad, version)[2])
            self.arrived += 1
            reduced = version

    # -- what workers do ------------------------------------------------------------------
    def _pull(self, w, kind):
        """A pull (or fetch) of ``w``: returns the parameters and their version,
        read when its bytes start moving."""
        start, end = self.network.send(w, self.now)
        if start > self.now:
            ready = self.now
            yield start - self.now
            if kind == PULL:      # a background fetch queues without holding up the worker
                self.trace.record(w, QUEUE, ready, self.now)
        params, version = self.server.read()
        if end > self.now:
            yield end - self.now
            self.trace.record(w, kind, start, self.now, version)
        return params, version

    def _send(self, w, kind, version):
        """A push (or background send) of ``w``, after any queue for the server's link."""
        if self.network.fixed is not None:
            if self.network.fixed:
                start = self.now
                yield self.network.fixed
                self.trace.record(w, kind, start, self.now, version)
            return
        start, end = self.network.send(w, self.now)
        if start > self.now:
            ready = self.now
            yield start - self.now
            if kind == PUSH:
                self.trace.record(w, QUEUE, ready, self.now)
        if end > self.now:
            yield end - self.now
            self.trace.record(w, kind, start, self.now, version)

    def _deliver(self, w, update, version, carried, background=False):
        """The update reaches the server, which applies it (after any queue)."""
        server, arrival = self.server, self.now
        if self.apply_time:
            # The server applies gradients one at a time, first come first served;
            # the worker (or its sender) waits for its acknowledgement.
            begin = max(arrival, self.server_free)
            self.server_free = begin + self.apply_time
            yield self.server_free - arrival
            if not background:
                self.trace.record(w, QUEUE, arrival, self.now)
            arrival = begin
        staleness, applied, released = server.push(w, update, version)
        self.trace.record(w, APPLY if applied else DROP, arrival, self.now, version, staleness)
        self._release(released)
        self.arrived += carried
        self.evaluator.maybe(self.now, server.version, self.arrived, self.computed,
                             server.params)

    def _all_reduce(self, w, step):
        """The ring all-reduce of ``step``: reduce-scatter (drawn as push) and
        all-gather (drawn as pull), the same rounds for every worker."""
        if self._ring[0] != step:        # the first worker out draws the step's rounds
            self._ring = (step, self.network.allreduce(self.config.workers))
        for kind, seconds in zip((PUSH, PULL), self._ring[1]):
            if seconds:
                start = self.now
                yield seconds
                self.trace.record(w, kind, start, self.now, step)
        self.trace.record(w, APPLY, self.now, self.now, step, 0)
        server = self.server
        self.evaluator.maybe(self.now, server.version, self.arrived, self.computed,
                             server.params)

    def _wait_to_start(self, w):
        """Park until the policy lets ``w`` start its next step (a barrier or a bound)."""
        while not self.server.may_start(w):
            start = self.now
            self._parked.add(w)
            yield PARK
            self.trace.record(w, WAIT, start, self.now)

    def _compute(self, w, params, version):
        """One gradient of ``w`` on ``params``; None if ``w`` is lost right after it."""
        problem = self.problem
        grad = problem.gradient(params, problem.sample(self.batch_rngs[w], self.config.batch))
        start = self.now
        yield self.clocks[w].next_compute()
        self.trace.record(w, COMPUTE, start, self.now, version)
        self.computed += 1
        self._computed_by[w] += 1
        if self._progress is not None:
            self._progress.update(1)
        return None if self._lost(w) else grad

    def _lost(self, w):
        """True (and ``w`` fails) if ``fail`` kills ``w`` after the gradients it has
        computed, 0 meaning before its first."""
        if self.fail_after.get(w) != self._computed_by[w]:
            return False
        self._fail(w)
        return True

    def _fail(self, w):
        self.trace.record(w, FAIL, self.now, self.now)
        self._release(self.server.fail(w))

    def _result(self):
        server = self.server
        self.evaluator.finish(self.now, server.version, self.computed, server.params)
        result = make_result(self.config, self.trace, self.evaluator, time=self.now,
                             updates=server.version, gradients=self.computed,
                             failed=server.failed, params=server.params)
        if server.path is not None:
            result.path = np.array(server.path)
        return result


def run(config, record_path=False):
    """Run ``config`` on the simulated cluster and return its Result.

    ``record_path=True`` also keeps every parameter vector the server made,
    in ``result.path`` (one row per update, the initial vector first), for
    :func:`asynclab.implicit_momentum.measure_implicit_momentum`.

    BLAS runs on one thread: the simulation works in one thread on small
    matrices, where more BLAS threads only wait for cores that other work (the
    other runs of ``run_many(jobs=)``, say) holds. On a busy 2-core machine an
    MLP run on digits took about 4x longer with them. The numbers do not change.
    """
    with _blas().limit(limits=1, user_api="blas"):
        return Simulation(config, record_path).run()


_controller = (None, -1)     # (ThreadpoolController, len(sys.modules) when it was made)


def _blas() -> ThreadpoolController:
    """The process's BLAS libraries. Looking them up scans the loaded libraries
    (about 1 ms, a twentieth of a dashboard's run), so it is done again only
    after a module has been imported since: a new extension module (SciPy,
    say) may have brought its own BLAS, which must be limited too."""
    global _controller
    controller, modules = _controller
    if controller is None or modules != len(sys.modules):
        controller = ThreadpoolController()
        _controller = (controller, len(sys.modules))
    return controller
