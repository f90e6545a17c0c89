"""The thread backend: one Python thread per worker, sharing numpy arrays.

Under a lock-based policy (sync, async, ssp:S, backup:B, local:H) the workers
share one parameter server, reached through a Coordinator under one lock; a
parked worker sleeps on the lock's condition until a push releases it. Under
``hogwild`` they write their steps straight into one shared vector, no lock;
under ``gossip`` each has its model, a row guarded by a lock of its own (:mod:`.peers`).

Threads share one interpreter: only one runs Python code at a time (the GIL),
and only the time spent inside numpy and BLAS, which release it, overlaps.
So threads speed up large steps and not small ones (benchmarks/bench_backends.py
measures both). BLAS is limited to one thread per worker for the whole run
(threadpoolctl), so that workers do not oversubscribe the cores; the previous
limits are restored afterwards.
"""
from __future__ import annotations

import threading
import time
import traceback

import numpy as np
from threadpoolctl import threadpool_limits

from ..server import StalledError, WorkerError
from ..trace import PUSH, QUEUE, WAIT
from ..partition import minibatches
from .base import progress_bar, show_progress, worker_streams
from .coordinator import Coordinator
from .peers import PeerModels
from .realtime import Board, SenderLog, Slowdown, wall_clock
from .worker import work

POLL = 0.05         # seconds between checks for a stop while waiting
STOP_GRACE = 1.5    # seconds workers get to finish their step once told to stop


class _ThreadLink:
    """One worker's calls into the shared Coordinator, serialised by the run's lock."""

    def __init__(self, worker, run):
        self.worker, self.run = worker, run
        self.log = run.coordinator.trace    # one trace: list.append is atomic under the GIL
        self._granted = 0                   # lock-free: the answer to the last ask
        self.answered = 0.0                 # when the last begin was granted

    def quiet(self):
        view = _ThreadLink(self.worker, self.run)
        view.log = SenderLog()
        return view

    def stopped(self):
        return self.run.board.stop

    def begin(self):
        w, run, coordinator = self.worker, self.run, self.run.coordinator
        start = run.now()
        with run.lock:
            grant = coordinator.begin(w)
            parked = grant is None
            while grant is None and not run.board.stop:
                if w in coordinator.parked:
                    run.lock.wait(POLL)     # until a push or a failure releases us
                else:
                    grant = coordinator.begin(w)
            run.wake_released()
            params, version = coordinator.server.read()
        self.answered = run.now()
        if parked:
            self.log.record(w, WAIT, start, self.answered)
        return grant or 0, params, version

    def push(self, update, version, sent=None):
        w, run = self.worker, self.run
        start = run.now()
        if sent is not None:        # the injected message time
            self.log.record(w, PUSH, sent, start, version)
        if not run.lock.acquire(blocking=False):
            run.lock.acquire()      # held only for non-blocking bookkeeping, never across a wait
            self.log.record(w, QUEUE, start, run.now())     # waiting for the server
        try:
            run.coordinator.push(w, update, version, run.now())
            run.wake_released()
        finally:
            run.lock.release()

    def ask(self, want):
        with self.run.lock:
            self._granted = self.run.coordinator.begin(self.worker, want)

    def granted(self):
        return self._granted

    def checkpoint(self, updates=None, arrived=None):
        with self.run.lock:
            self.run.coordinator.checkpoint(updates, arrived)

    def fail(self):
        with self.run.lock:
            try:
                self.run.coordinator.fail(self.worker)
            finally:
                self.run.wake_released()


class _ThreadRun:
    def __init__(self, config):
        self.config = config
        n = config.workers
        self.board = Board(memoryview(bytearray(8 * Board.size(n))).cast("q"), n)
        policy, dim = config.policy, config.problem.dim
        # hogwild: the one parameter vector; allreduce: worker 0's, and the ring's rows;
        # gossip: every worker's model, each row guarded by its worker's lock.
        self.shared = config.problem.initial_params() if not policy.has_server else None
        if policy.gossip:
            self.shared = PeerModels(np.tile(self.shared, (n, 1)), np.zeros(n, dtype=np.int64),
                                     [threading.Lock() for _ in range(n)])
        self.buffers = np.zeros((n, dim)) if policy.ring else None
        self.lock = threading.Condition(threading.Lock())
        self.errors = []                 # StalledError or WorkerError, first one wins
        self._running = n
        self._done = threading.Event()   # all workers have returned, or one failed
        self._end = None                 # seconds: when that happened

    def wake_released(self):
        """Call with the lock held: wake the workers the last call released."""
        if self.coordinator.take_released():
            self.lock.notify_all()

    def run(self):
        cfg, n = self.config, self.config.workers
        cfg.problem.data        # generate the data before the clock starts; threads only read it
        batch_rngs, time_rngs = worker_streams(cfg.seed, n)
        batches = minibatches(cfg, batch_rngs)
        self.now = wall_clock()
        self.coordinator = Coordinator(cfg, self.board, self.now, self.shared)
        threads = [threading.Thread(target=self._worker, name=f"asynclab-worker-{w}", daemon=True,
                                    args=(w, batches[w], Slowdown(cfg, w, time_rngs[w])))
                   for w in range(n)]
        bar = progress_bar(cfg, "thread")
        try:
            with threadpool_limits(limits=1, user_api="blas"):
                for t in threads:
                    t.start()
                while not self._done.wait(POLL):
                    show_progress(bar, self.board.gradients())
        except KeyboardInterrupt as interrupt:
            self._stop(threads)
            interrupt.result = self._result(self.now())
            raise
        finally:
            self._stop(threads)
            show_progress(bar, self.board.gradients())
            if bar is not None:
                bar.close()
        if self.errors:
            error = self.errors[0]
            error.result = self._result(self._end)
            raise error
        return self._result(self._end)

    def _result(self, end):
        with self.lock:
            return self.coordinator.result(end)

    def _worker(self, w, batches, slowdown):
        try:
            work(w, self.config, _ThreadLink(w, self), self.board, batches, slowdown, self.now,
                 self.shared, self.buffers)
        except StalledError as err:
            self.errors.append(err)
        except BaseException:
            self.errors.append(WorkerError(w, traceback.format_exc()))
        finally:
            with self.lock:
                self._running -= 1
                if self.errors:
                    self.board.stop = True
                    self.lock.notify_all()
                if (self._running == 0 or self.errors) and not self._done.is_set():
                    self._end = self.now()
                    self._done.set()

    def _stop(self, threads):
        """Tell every worker to stop and wait (bounded) until they have."""
        with self.lock:
            self.board.stop = True
            self.lock.notify_all()
        deadline = time.perf_counter() + STOP_GRACE
        for t in threads:
            if t.ident is not None:
                t.join(max(0.0, deadline - time.perf_counter()))


def run(config):
    """Run ``config`` on one thread per worker and return its Result (wall-clock seconds)."""
    return _ThreadRun(config).run()
