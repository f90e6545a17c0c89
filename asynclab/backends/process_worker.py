"""Inside a worker process of the process backend.

A spawned child imports this module, attaches to the run's shared memory,
rebuilds the problem's data from its pickled recipe, and runs the same worker
loop as a thread does (:func:`~.worker.work`), talking to the parent over
its pipe. It ignores SIGINT (Ctrl-C and the Jupyter interrupt reach the whole
process group): the parent decides, and stops it through the board. It also
stops if the parent dies.
"""
from __future__ import annotations

import contextlib
import copy
import multiprocessing
import os
import pickle
import signal
import time
import traceback
from time import perf_counter

from threadpoolctl import threadpool_limits

from ..trace import PULL, PUSH, QUEUE, WAIT, Trace
from ..partition import minibatches
from .base import worker_streams
from .peers import PeerModels
from .realtime import Board, SenderLog, Slowdown, wall_clock
from .sharedmem import SharedArrays
from .worker import work

POLL = 0.05            # seconds between checks for a stop while waiting
PARENT_CHECK = 0.2     # seconds between checks that the parent is alive


def board_of(block, workers):
    """The run's Board, in the shared segment ``block``."""
    return Board(memoryview(block.arrays["board"]).cast("B").cast("q"), workers)


class _ProcessLink:
    """A worker process's line to the parent: requests over its pipe,
    counters and the stop flag on the board, parameters in its boxes.

    A round trip to the parent is recorded piece by piece, from the parent's
    own timestamps: the request in the pipe (push, or pull for a bare begin),
    the parent applying the push (queue) and holding the worker at a barrier
    (wait), and the answer on its way back (from ``answered`` on, a pull).
    """

    transit = True     # messages take time in the pipe even without injected delays

    def __init__(self, worker, conn, block, workers):
        self.worker, self.conn, self.now = worker, conn, None
        self.board = board_of(block, workers)
        boxes = block.arrays
        self.inbox = boxes["inbox"][worker] if "inbox" in boxes else None
        self.outbox = boxes["outbox"][worker] if "outbox" in boxes else None
        self.log = Trace()                 # sent to the parent with the next message
        self._parent = multiprocessing.parent_process()
        self._next_check, self._gone = 0.0, False
        self._pushed = None        # (start, version) of a push the next begin completes
        self.answered = 0.0

    def quiet(self):
        view = copy.copy(self)
        view.log = SenderLog()
        return view

    def stopped(self):
        if self.board.stop or self._gone:
            return True
        if perf_counter() >= self._next_check:
            self._next_check = perf_counter() + PARENT_CHECK
            self._gone = self._parent is not None and not self._parent.is_alive()
        return self._gone

    def send(self, kind, arg=None):
        try:
            self.conn.send((kind, arg, self.take_rows()))
        except OSError:
            self._gone = True              # the parent has gone away

    def take_rows(self):
        """The trace records since the last message, pickled on their own: the
        parent keeps them as bytes until the run is over, so that reading them
        costs no CPU the workers could use."""
        rows, self.log.rows = self.log.rows, []
        return pickle.dumps(rows, pickle.HIGHEST_PROTOCOL) if rows else b""

    def receive(self):
        """The parent's next message; None once the run stops or the parent is gone."""
        while not self.stopped():
            try:
                if self.conn.poll(POLL):
                    return self.conn.recv()
            except (EOFError, OSError):
                self._gone = True
        return None

    def begin(self):
        w, record = self.worker, self.log.record
        if self._pushed is None:
            asked, kind, version = self.now(), PULL, -1
            self.send("begin", 1)
        else:                                  # a push asks for the next step as well
            (asked, version), kind = self._pushed, PUSH
        self._pushed = None
        reply = self.receive()
        done = self.now()
        if reply is None or reply[0] != "go":
            record(w, kind, asked, done, version)
            return 0, None, -1
        _, grant, new_version, arrived, served, released = reply
        arrived = min(max(arrived, asked), done)        # one clock, but keep the order
        served = min(max(served, arrived), done)
        self.answered = min(max(released, served), done)
        record(w, kind, asked, arrived, version)
        if served > arrived:
            record(w, QUEUE, arrived, served)
        if self.answered > served:
            record(w, WAIT, served, self.answered)
        return grant, self.inbox, new_version

    def push(self, update, version, sent=None):
        self.outbox[:] = update
        self._pushed = (self.now() if sent is None else sent, version)
        self.send("push", version)

    def ask(self, want):
        self.send("begin", want)

    def granted(self):
        reply = self.receive()
        return reply[1] if reply is not None and reply[0] == "go" else 0

    def checkpoint(self, updates=None, arrived=None):
        """An evaluation point: under allreduce (``updates`` given), wait until
        the parent has read the parameters."""
        self.send("checkpoint", None if updates is None else (updates, arrived))
        if updates is not None:
            self.receive()

    def fail(self):
        """Injected fault: report what was done, then die the way a lost machine does."""
        self.send("events")
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        time.sleep(60)


def worker_main(worker, pickled_config, segment, layout, conn, locks=None):
    """Entry point of worker process ``worker``. The Config arrives pickled and
    is unpickled here, so that a problem class this process cannot import (one
    defined in a notebook) is reported to the parent like any other error.
    ``locks``: gossip's, one per worker's model (None otherwise)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    block, link, shared = SharedArrays.attach(segment, layout), None, None
    try:
        config = pickle.loads(pickled_config)
        link = _ProcessLink(worker, conn, block, config.workers)
        with threadpool_limits(limits=1, user_api="blas"):
            config.problem.data            # regenerated from the recipe's seed
            batch_rngs, time_rngs = worker_streams(config.seed, config.workers)
            batches = minibatches(config, batch_rngs)[worker]
            slowdown = Slowdown(config, worker, time_rngs[worker])
            arrays = block.arrays
            shared = (PeerModels(arrays["models"], arrays["versions"], locks) if locks
                      else arrays.get("params"))
            link.send("ready")
            start = link.receive()
            if start is None:
                return
            link.now = now = wall_clock(start[1])
            work(worker, config, link, link.board, batches, slowdown, now, shared,
                 arrays.get("ring"))
        link.send("done")
    except BaseException:
        with contextlib.suppress(Exception):
            conn.send(("error", traceback.format_exc(), link.take_rows() if link else b""))
    finally:
        link = shared = None           # views of the segment, which closes now
        block.close()
        conn.close()
