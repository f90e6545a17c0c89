"""The process backend: one OS process per worker, parameters in shared memory.

This module is the parent. Workers are started with ``spawn`` (the same on
Linux, macOS and Windows and inside a Jupyter kernel), so their code lives in
an importable module, :mod:`.process_worker`. Each rebuilds the problem's data
from its pickled recipe instead of receiving a copy.

What is shared (one segment, see :mod:`.sharedmem`):

* ``board``: counters and the stop flag (:class:`~.realtime.Board`).
* Lock-free ``hogwild``: ``params``, the one parameter vector every worker
  reads and writes without a lock.
* ``allreduce``: ``params`` (worker 0's copy, which the parent reads) and
  ``ring``, one row per worker for the ring all-reduce (:mod:`.ring`).
* ``gossip``: ``models``, one row per worker, and ``versions``, their change
  counts, each row guarded by its worker's lock, a multiprocessing lock the
  parent makes and hands to every worker as it starts (:mod:`.peers`).
* Lock-based policies: per worker an ``inbox`` and an ``outbox``. The parent
  is the parameter server: it writes the current parameters into a worker's
  inbox just before letting it start a step, and reads its update from the
  outbox when it pushes. Each box has one writer at a time, so no lock.

Requests (begin, push) and trace records travel over one pipe per worker;
the records stay pickled until the run is over.
Every wait has a timeout. A worker ignores SIGINT (Ctrl-C and the Jupyter
interrupt reach the whole process group): the parent decides, and stops the
workers through the board. Workers also exit if the parent dies.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import signal
import time
from multiprocessing.connection import wait

import numpy as np

from ..server import StalledError, WorkerError
from .coordinator import Coordinator
from .process_worker import POLL, board_of, worker_main
from .base import progress_bar, show_progress
from .peers import PeerModels
from .realtime import Board, wall_clock
from .sharedmem import SharedArrays

START_TIMEOUT = 120.0  # seconds for every worker to import numpy and rebuild the data
STOP_GRACE = 1.5       # seconds workers get to stop before they are killed


def _layout(config):
    n, d = config.workers, config.problem.dim
    board = ("board", np.int64, (Board.size(n),))
    if config.policy.lock_free:
        return (board, ("params", np.float64, (d,)))
    if config.policy.ring:
        return (board, ("params", np.float64, (d,)), ("ring", np.float64, (n, d)))
    if config.policy.gossip:
        return (board, ("models", np.float64, (n, d)), ("versions", np.int64, (n,)))
    return (board, ("inbox", np.float64, (n, d)), ("outbox", np.float64, (n, d)))


@contextlib.contextmanager
def _sigint_blocked():
    """Block SIGINT while a worker starts: it inherits the mask, so a Ctrl-C
    cannot kill it before it has chosen to ignore SIGINT."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _Parent:
    """Starts the workers, serves their requests, and stops them."""

    def __init__(self, config, block):
        self.config, self.block, n = config, block, config.workers
        self.board = board_of(block, n)
        self.inbox, self.outbox = block.arrays.get("inbox"), block.arrays.get("outbox")
        self.procs, self.conns, self.exited, self.hung_up = [], [], set(), set()
        self.said_done, self.error, self.end = [False] * n, None, 0.0
        self.asked = [None] * n    # (arrived, served): when a parked worker's request came in
        self.coordinator = None
        self.shipped = []      # workers' trace records, pickled (see _result)
        self.peers = None      # gossip: the models and their locks

    def start(self):
        ctx = multiprocessing.get_context("spawn")
        pickled_config = pickle.dumps(self.config)
        if self.config.policy.gossip:
            locks = [ctx.Lock() for _ in range(self.config.workers)]
            self.peers = PeerModels(self.block.arrays["models"], self.block.arrays["versions"],
                                    locks)
        for w in range(self.config.workers):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=worker_main, name=f"asynclab-worker-{w}", daemon=True,
                               args=(w, pickled_config, self.block.name, self.block.layout, theirs,
                                     self.peers and self.peers.locks))
            self.procs.append(proc)
            self.conns.append(mine)
            with _sigint_blocked():
                proc.start()
            theirs.close()

    def run(self):
        self._await_ready()
        self.now = wall_clock()
        self.coordinator = Coordinator(self.config, self.board, self.now,
                                       self.peers or self.block.arrays.get("params"))
        for conn in self.conns:
            self._send(conn, ("start", self.now.start))
        bar = progress_bar(self.config, "process")
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                self._serve(bar)
        except (KeyboardInterrupt, StalledError) as err:
            self.end = self.now()
            self._stop_workers()
            with contextlib.suppress(Exception):
                err.result = self._result()
            raise
        finally:
            show_progress(bar, self.board.gradients())
            if bar is not None:
                bar.close()
        if self.error is not None:
            self._stop_workers()
            self.error.result = self._result()
            raise self.error
        return self._result()

    def _result(self):
        shipped, self.shipped = self.shipped, []
        for blob in shipped:
            self.coordinator.trace.rows.extend(pickle.loads(blob))
        return self.coordinator.result(self.end)

    def _await_ready(self):
        ready, deadline = set(), time.perf_counter() + START_TIMEOUT
        while len(ready) < len(self.procs):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"worker processes did not start within {START_TIMEOUT:g} s")
            for w, kind, arg in self._poll(POLL):
                if kind == "ready":
                    ready.add(w)
                elif kind == "error":
                    raise WorkerError(w, arg)
                elif kind == "exit":
                    raise WorkerError(w, f"its process exited with code {arg} before it started; "
                                         "its traceback, if any, is on stderr. (A script that "
                                         "starts worker processes must run them under "
                                         "if __name__ == '__main__':)")

    def _poll(self, timeout):
        """Messages that arrived, as (worker, kind, arg); a worker whose process
        ended yields ("exit", exitcode) after its last messages."""
        running = [w for w in range(len(self.procs)) if w not in self.exited]
        live = {self.conns[w]: w for w in running if w not in self.hung_up}
        ends = {self.procs[w].sentinel: w for w in running}
        out = []
        for obj in wait([*live, *ends], timeout):
            w = live.get(obj, ends.get(obj))
            conn = self.conns[w]
            try:
                while conn.poll():
                    kind, arg, rows = conn.recv()
                    if rows:      # a worker's trace records since its last message
                        self.shipped.append(rows)
                    out.append((w, kind, arg))
            except (EOFError, OSError):
                # The worker closed its end and is exiting. A closed pipe stays
                # readable, so stop watching it (else this loop spins, taking
                # CPU from the workers still running); its sentinel follows.
                self.hung_up.add(w)
            if obj in ends:
                self.procs[w].join(POLL)
                self.exited.add(w)
                out.append((w, "exit", self.procs[w].exitcode))
        return out

    def _serve(self, bar):
        policy, coordinator = self.config.policy, self.coordinator
        chunked = policy.lock_free or policy.gossip      # workers ask for budget in chunks
        while self.error is None and len(self.exited) < len(self.procs):
            for w, kind, arg in self._poll(POLL):
                if kind == "begin" and chunked:
                    self._send(self.conns[w], ("go", coordinator.begin(w, arg), -1))
                elif kind == "begin":
                    self._start(w, self.now())
                elif kind == "push":
                    arrived = self.now()
                    coordinator.push(w, self.outbox[w], arg, arrived)
                    self._start(w, arrived)
                elif kind == "checkpoint" and arg is None:
                    coordinator.checkpoint()
                elif kind == "checkpoint":          # allreduce: worker 0 waits for this
                    coordinator.checkpoint(*arg)
                    self._send(self.conns[w], ("go",))
                elif kind == "done":
                    self.said_done[w], self.end = True, self.now()
                elif kind == "error":
                    self.error, self.end = WorkerError(w, arg), self.now()
                elif kind == "exit" and not self.said_done[w] and self.error is None:
                    self.end = self.now()
                    coordinator.fail(w)          # lost: killed, or crashed
                for r in coordinator.take_released():
                    self._start(r)
            show_progress(bar, self.board.gradients())

    def _start(self, w, arrived=None):
        """Let worker ``w`` start its next step, unless the policy parks it
        (then a later push or failure releases it). ``arrived``: when its
        request came in (None: it was parked)."""
        if arrived is not None:
            self.asked[w] = (arrived, self.now())
        grant = self.coordinator.begin(w)
        if grant is None:
            return
        if grant:
            server = self.coordinator.server
            self.inbox[w] = server.params
            now = self.now()
            arrived, served = self.asked[w] or (now, now)
            self._send(self.conns[w], ("go", grant, server.version, arrived, served, now))
        else:
            self._send(self.conns[w], ("stop",))
        for r in self.coordinator.take_released():
            self._start(r)

    @staticmethod
    def _send(conn, message):
        with contextlib.suppress(OSError):   # a dead worker is noticed by its sentinel
            conn.send(message)

    def _stop_workers(self):
        """Tell every worker to stop; collect their last records; kill stragglers."""
        self.board.stop = True
        deadline = time.perf_counter() + STOP_GRACE
        while len(self.exited) < len(self.procs) and time.perf_counter() < deadline:
            self._poll(POLL)
        self.shutdown()

    def release(self):
        """Let go of gossip's locks (the coordinator's shared models included), so that
        their semaphores are removed now, even while an exception still holds this
        run's frames, and not at the next garbage collection."""
        self.peers = None
        if self.coordinator is not None:
            self.coordinator.shared = None

    def shutdown(self):
        """Make sure no worker process outlives the run."""
        for p in self.procs:
            if p.exitcode is None and p.pid is not None:
                p.kill()
        for p in self.procs:
            if p.pid is not None:
                p.join(5.0)
        for conn in self.conns:
            conn.close()


def run(config):
    """Run ``config`` on one process per worker and return its Result (wall-clock seconds)."""
    block = SharedArrays.create(_layout(config))   # fails cleanly if /dev/shm is too small
    parent = _Parent(config, block)
    try:
        if config.policy.gossip:           # every worker starts from the same model
            block.arrays["models"][:] = config.problem.initial_params()
        elif not config.policy.has_server:   # hogwild's one vector, or the one ring workers copy
            block.arrays["params"][:] = config.problem.initial_params()   # zeros, or an MLP's
        parent.start()
        return parent.run()
    finally:
        parent.shutdown()
        parent.release()
        del parent
        block.close()
