"""Pieces every worker on real hardware uses, on threads and on processes.

The wall clock, injected sleeps (:func:`pause`, :func:`wire`,
:class:`Slowdown`), the counters workers share (:class:`Board`), the
lock-free channel of Hogwild! (:class:`LockFreeChannel`) and one recorded
gradient (:func:`compute`). The worker's life, which puts them together, is
:mod:`.worker`. Time is wall-clock seconds since the run started.
``time.perf_counter`` is a system-wide monotonic clock on Linux, macOS and
Windows, so worker processes and the parent agree on it.
"""
from __future__ import annotations

import dataclasses
import time
from time import perf_counter

from ..momentum import HeavyBall
from ..server import apply_lock_free
from ..timing import Distribution, WorkerClock
from ..trace import APPLY, COMPUTE, PUSH, QUEUE, WAIT

PAUSE_SLICE = 0.05     # seconds: injected sleeps are sliced so a stop is noticed this fast
CHUNK_SECONDS = 0.1    # lock-free workers ask for about this much work at a time


def wall_clock(start=None):
    """A function giving the seconds since ``start`` (a ``perf_counter()``
    reading; default: now), which it keeps as its ``start`` attribute. A
    closure, because workers call it several times per gradient."""
    start = perf_counter() if start is None else start

    def now():
        return perf_counter() - start

    now.start = start
    return now


class SenderLog:
    """What a background sender's link (``link.quiet()``) records: no rows
    (the sender records its own messages), only its waits at a barrier or
    staleness bound and its queues for the server, ``(start, end, kind)``. The
    sender hands them on to its worker, whose own wait for the sender they
    are, to record as what they were (:func:`~asynclab.trace.split`)."""

    rows = ()

    def __init__(self):
        self._marks = []

    def record(self, worker, kind, start, end, *rest):
        if kind in (WAIT, QUEUE):
            self._marks.append((start, end, kind))

    def take(self):
        """The waits and queues since the last call."""
        marks, self._marks = self._marks, []
        return marks


def wire(messages, nbytes, stopped):
    """Sleep the injected time of one message of ``nbytes`` on a worker's own link
    (``messages``, its MessageClock); nothing if its messages take no time."""
    if not messages.instant:
        pause(messages.message_time(nbytes), stopped)


def pause(seconds, stopped):
    """Sleep ``seconds`` (an injected delay), returning early once ``stopped()``."""
    end = perf_counter() + seconds
    while not stopped():
        left = end - perf_counter()
        if left <= 0:
            return
        time.sleep(min(left, PAUSE_SLICE))


class Slowdown:
    """The injected compute delay of one worker, in seconds per gradient.

    With ``config.delay``, each gradient is followed by a sleep drawn from it
    (from the worker's own timing stream), times the worker's speed factor and,
    now and then, the straggler factor. Without it, those factors stretch the
    real compute time instead: a factor of 3 sleeps twice as long as the
    gradient took.
    """

    def __init__(self, config, worker, rng):
        law = config.delay or Distribution("const", 1.0)
        timing = dataclasses.replace(config.timing, compute=law)
        self.absolute = config.delay is not None
        self.active = self.absolute or timing.speed(worker) != 1 or timing.straggle_prob > 0
        block = min(512, max(8, config.gradients // config.workers + 1))
        self._clock = WorkerClock(timing, worker, rng, block)

    def seconds(self, compute_seconds):
        if not self.active:
            return 0.0
        x = self._clock.next_compute()
        return x if self.absolute else (x - 1.0) * compute_seconds


class Board:
    """Counters every worker can read: gradients computed and (lock-free)
    updates written, per worker, plus a stop flag and the update count of the
    next loss evaluation.

    ``slots`` is an int64 memoryview (in shared memory for processes). Each
    worker writes only its own slots, so counting needs no lock; a total is a
    sum. Aligned 8-byte writes are atomic on the CPUs this runs on. Each
    worker's slots sit in a cache line of their own (LINE int64s), so that a
    worker's writes do not keep evicting the line the others write.
    """

    LINE = 8

    def __init__(self, slots, workers):
        self._s, self.n = slots, workers
        end = workers * self.LINE     # per worker: computed, updates, ring rounds finished
        self._computed, self._updates = slice(0, end, self.LINE), slice(1, end, self.LINE)
        self._stop, self._checkpoint = end, end + 1

    @classmethod
    def size(cls, workers):
        return (workers + 1) * cls.LINE

    def set_computed(self, worker, count):
        self._s[worker * self.LINE] = count

    def computed(self, worker):
        return self._s[worker * self.LINE]

    def gradients(self):
        return sum(self._s[self._computed])

    def add_update(self, worker):
        self._s[worker * self.LINE + 1] += 1

    def updates(self):
        return sum(self._s[self._updates])

    def set_rounds(self, worker, count):
        self._s[worker * self.LINE + 2] = count

    def rounds(self, worker):
        return self._s[worker * self.LINE + 2]

    @property
    def stop(self):
        return self._s[self._stop] != 0

    @stop.setter
    def stop(self, value):
        self._s[self._stop] = int(value)

    @property
    def checkpoint(self):
        return self._s[self._checkpoint]

    @checkpoint.setter
    def checkpoint(self, updates):
        self._s[self._checkpoint] = updates


class LockFreeChannel:
    """Hogwild! (Niu et al. 2011): read, compute on and write into the one
    shared parameter vector, with no lock and no server. A gradient's
    staleness is the number of updates other workers wrote between its read
    and its write.

    The budget comes in chunks of about CHUNK_SECONDS of work. The next chunk
    is asked for half-way through the current one, so that a worker never
    waits for the answer.
    """

    def __init__(self, worker, link, params, board, config, now):
        self.worker, self.link, self.params, self.board, self.now = worker, link, params, board, now
        self.lr, self.staleness_aware = config.lr, config.staleness_aware
        self.heavy_ball = HeavyBall(config.momentum)    # this worker's own velocity
        self._record = link.log.record
        self._left = self._ask_at = 0
        self._asked = False
        self._want, self._began, self._since = 16, 0, None    # for sizing chunks
        self._reported = None
        self.answered = 0.0

    def begin(self):
        if self._left == 0:
            if not self._asked:
                self._ask()
            self._left = self.link.granted()
            self._ask_at, self._asked = self._left // 2, False
            if self._left == 0:
                return 0, None, -1
        self._left -= 1
        self._began += 1
        if self._left <= self._ask_at and not self._asked:
            self._ask()
        self.answered = self.now()
        return 1, self.params, self.board.updates()

    def _ask(self):
        t = perf_counter()
        if self._since is not None:     # gradients begun per second since the last ask
            rate = (self._began - self._since[1]) / max(t - self._since[0], 1e-6)
            self._want = int(min(max(rate * CHUNK_SECONDS, 1), 4096))
        self._since = (t, self._began)
        self.link.ask(self._want)
        self._asked = True

    def push(self, update, version, sent=None):
        w, board, now = self.worker, self.board, self.now
        start = now()
        if sent is not None:
            self._record(w, PUSH, sent, start, version)
        seen = board.updates()
        staleness = seen - version
        lr = self.lr / (staleness + 1) if self.staleness_aware else self.lr
        apply_lock_free(self.params, update, lr, self.heavy_ball)
        self._record(w, APPLY, start, now(), version, staleness)
        self.counted(seen)

    def counted(self, seen):
        """One more update written, ``seen`` being the count before it: report
        an evaluation point if this one passed it."""
        board = self.board
        board.add_update(self.worker)
        if seen + 1 >= board.checkpoint and self._reported != board.checkpoint:
            self._reported = board.checkpoint
            self.link.checkpoint()


def channel_of(worker, config, link, board, now, shared):
    """What a worker talks to: the link to the server, or under hogwild the
    shared vector itself."""
    if config.policy.lock_free:
        return LockFreeChannel(worker, link, shared, board, config, now)
    return link


def gradient_of(config):
    problem = config.problem
    if config.policy.lock_free and hasattr(problem, "sparse_gradient") and not config.momentum:
        return problem.sparse_gradient     # Hogwild! writes only the touched coordinates
    return problem.gradient


def compute(worker, config, gradient, params, batches, slowdown, now, record, version, stopped):
    """One gradient on ``params`` (a minibatch of ``batches``), stretched by the
    injected delay, recorded."""
    start = now()
    grad = gradient(params, batches.draw(config.batch))
    end = now()
    if slowdown.active:
        pause(slowdown.seconds(end - start), stopped)
        end = now()
    record(worker, COMPUTE, start, end, version)
    return grad
