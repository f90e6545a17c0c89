"""The simulated cluster: real gradients, virtual time.

One event loop, as in SimPy: a heap of ``(time, sequence, worker)`` entries.
Each worker is a generator that reads like its timeline (pull, compute, push)
and yields how many virtual seconds its next activity lasts, or ``PARK`` to
wait until the parameter server releases it. Popping the earliest entry and
resuming that worker is the whole loop. Ties are broken by the sequence
number, so a run is a pure function of its Config: same seed, same numbers,
bit for bit.
"""
from __future__ import annotations

import heapq
import itertools

import numpy as np

from ..momentum import HeavyBall, local_step
from ..results import APPLY, COMPUTE, DROP, FAIL, PULL, PUSH, WAIT, Trace
from ..server import ParameterServer, StalledError
from ..timing import WorkerClock
from .base import Evaluator, make_result, progress_bar, worker_streams

PARK = None   # yielded by a worker that waits for the server to release it


class Simulation:
    def __init__(self, config, record_path=False):
        self.config = config
        self.problem = problem = config.problem
        self.policy = config.policy
        self.timing = timing = config.timing
        n = config.workers
        self.server = ParameterServer(self.policy, problem.initial_params(), n, config.lr,
                                      config.staleness_aware, config.momentum)
        if record_path:
            self.server.path = [self.server.params]
        batch_rngs, time_rngs = worker_streams(config.seed, n)
        self.batch_rngs = batch_rngs
        block = min(512, max(8, config.gradients // n + 1))
        self.clocks = [WorkerClock(timing, w, time_rngs[w], block) for w in range(n)]
        self.message_time = timing.message_time(problem.nbytes)
        self.fail_after = dict(config.fail)
        self.trace = Trace()
        self.evaluator = Evaluator(problem, config.gradients, config.eval_points)
        self.now = 0.0
        self.started = 0          # gradients begun, over all workers (the budget)
        self.arrived = 0          # gradients that reached the server
        self.server_free = 0.0    # when the server finishes its queued applies
        self._queue, self._seq = [], itertools.count()
        self.computed = 0         # gradients finished, over all workers
        self._parked = set()      # workers waiting for the server to release them
        self._progress = None

    # -- the event loop ---------------------------------------------------------------
    def run(self):
        cfg = self.config
        self.evaluator.record(0.0, 0, 0, self.server.params)
        self._workers = [self._worker(w) for w in range(cfg.workers)]
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
        cfg, server, trace, problem = self.config, self.server, self.trace, self.problem
        rng, clock, msg = self.batch_rngs[w], self.clocks[w], self.message_time
        local_steps, lr, batch = self.policy.local_steps, cfg.lr, cfg.batch
        heavy_ball = HeavyBall(cfg.momentum)   # this worker's velocity for its local steps
        # Lock-free writers do not queue at a server: only a server serialises applies.
        apply_time = 0.0 if self.policy.lock_free else self.timing.apply_time
        computed = 0
        while True:
            while not server.may_start(w):
                start = self.now
                self._parked.add(w)
                yield PARK
                trace.record(w, WAIT, start, self.now)
            if self.started >= cfg.gradients:
                return
            self.started += 1     # reserve this step's first gradient of the budget
            params, version = server.read()
            if msg:
                start = self.now
                yield msg
                trace.record(w, PULL, start, self.now, version)
            # Compute: one gradient, or local_steps of them on a private copy.
            update, local, carried = None, params, 0
            for step in range(local_steps):
                if step:
                    if self.started >= cfg.gradients:
                        break
                    self.started += 1
                grad = problem.gradient(local, problem.sample(rng, batch))
                start = self.now
                yield clock.next_compute()
                trace.record(w, COMPUTE, start, self.now, version)
                computed += 1
                carried += 1
                self.computed += 1
                if self._progress is not None:
                    self._progress.update(1)
                if self.fail_after.get(w) == computed:
                    self._fail(w)
                    return
                if local_steps == 1:
                    update = grad
                else:
                    local, update = local_step(local, update, grad, lr, heavy_ball)
            if msg:
                start = self.now
                yield msg
                trace.record(w, PUSH, start, self.now, version)
            arrival = self.now
            if apply_time:
                # The server applies gradients one at a time, first come first served;
                # the worker waits for its acknowledgement.
                begin = max(arrival, self.server_free)
                self.server_free = begin + apply_time
                yield self.server_free - arrival
                trace.record(w, WAIT, arrival, self.now)
                arrival = begin
            staleness, applied, released = server.push(w, update, version)
            trace.record(w, APPLY if applied else DROP, arrival, self.now, version, staleness)
            self._release(released)
            self.arrived += carried
            self.evaluator.maybe(self.now, server.version, self.arrived, self.computed,
                                 server.params)

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
    :func:`asynclab.momentum.measure_implicit_momentum`.
    """
    return Simulation(config, record_path).run()
