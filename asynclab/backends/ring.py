"""Ring all-reduce among real workers (threads or processes), through shared memory.

Every step, worker w computes its gradient into its own row of ``buffers``
(an (N, d) array every worker sees: a numpy array for threads, a view of the
run's shared-memory segment for processes), then the workers add the rows up
chunk by chunk in ring order (:func:`asynclab.network.ring_chunks`):

* reduce-scatter, N-1 rounds: in round r worker i adds chunk (i-1-r) mod N
  of worker i-1's row into its own;
* all-gather, N-1 rounds: in round r worker i copies chunk (i-r) mod N of
  worker i-1's row into its own.

Within a round no worker writes a chunk another one reads, and a barrier
between rounds (:class:`Rounds`) makes each round see the last one's writes.
The additions are exactly those of :func:`asynclab.network.ring_sum`, so the
parameters match the simulated cluster's bit for bit. Each worker then takes
the same step on its own copy of the parameters; worker 0's copy is the one
the coordinator reads (``shared``), and it reports evaluation points.

Under ``overlap`` (:mod:`asynclab.buckets`) each bucket of the gradient is
its own ring all-reduce of the coordinates it holds (``Buckets.ring_parts``:
a piece of every chunk, so each coordinate is added in the same order and
the sum has the same bits), run by a background thread as soon as every
worker has produced that bucket, while the worker's backward pass goes on.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..compression import gathered_bytes
from ..momentum import HeavyBall
from ..network import ring_chunks, ring_sum
from ..server import Budget
from ..trace import APPLY, COMPUTE, FETCH, PULL, PUSH, SEND, WAIT, split
from .bucketed import backward_in_buckets
from .realtime import compute, wire

SPIN = 2000         # polls (each yields the core) before a waiting worker sleeps


class Rounds:
    """A barrier between ring rounds on shared counters.

    Worker w writes how many rounds it has finished into its own slot of the
    Board (no lock: one writer per slot); a round may start once every worker
    has finished the one before. Waiting polls, and gives up once ``stopped()``.
    """

    def __init__(self, board, workers):
        self.board, self.workers = board, workers

    def finish(self, worker, done):
        self.board.set_rounds(worker, done)

    def wait(self, done, stopped) -> bool:
        """Block until every worker has finished ``done`` rounds; False if stopped."""
        board, polls = self.board, 0
        while any(board.rounds(w) < done for w in range(self.workers)):
            if stopped():
                return False
            polls += 1
            time.sleep(0 if polls < SPIN else 1e-5)
        return True


def ring_phase(worker, buffers, rounds, done, stopped, gather, message=None, chunks=None):
    """One phase of the ring (the reduce-scatter, or with ``gather`` the
    all-gather): N-1 rounds, each after a barrier. ``done`` counts the rounds
    finished before; returns the count after, or None if the run stopped.
    ``message()`` is called before each round (an injected network delay).
    ``chunks``: the coordinates of each chunk (default: the whole vector's
    ring_chunks; one bucket's under overlap)."""
    n = len(buffers)
    mine, left = buffers[worker], buffers[(worker - 1) % n]
    chunks = ring_chunks(buffers.shape[1], n) if chunks is None else chunks
    for r in range(n - 1):
        if not rounds.wait(done, stopped):
            return None
        if message is not None:
            message()
        if gather:
            part = chunks[(worker - r) % n]
            mine[part] = left[part]
        else:
            part = chunks[(worker - 1 - r) % n]
            mine[part] += left[part]
        done += 1
        rounds.finish(worker, done)
    return done


def ring_life(worker, config, link, board, batches, slowdown, now, shared, buffers, messages,
              outgoing):
    """One worker's life under ``allreduce``: compute, all-reduce, step; no server.

    Every worker hands out the budget the same way (Budget), so all of them
    agree, without talking, on how many gradients each step has and who
    computes them; a worker without one contributes zeros. A lost worker
    stalls the run (Coordinator.fail raises StalledError), like sync.
    """
    stopped, n = link.stopped, config.workers
    budget = Budget(config.gradients, config.policy)
    params = shared if worker == 0 else np.array(shared)   # worker 0's copy is the shared one
    heavy_ball = HeavyBall(config.momentum)    # every worker applies the same steps: one velocity each
    gathered = gathered_bytes(config.compress, config.problem.dim, n)
    kind = _BucketedRing if config.bucketed else _Ring if gathered is None else _GatheringRing
    ring = kind(worker, config, link, board, batches, slowdown, now, params, buffers, messages,
                outgoing)
    if ring.fail_after == 0:
        link.fail()
        return
    step = 0
    try:
        while not stopped():
            shares = budget.take_step(step, range(n))
            count = sum(shares.values())
            if count == 0 or not ring.reduce(step, shares[worker]):
                return
            params -= heavy_ball.step(ring.total / count, config.lr)
            link.log.record(worker, APPLY, now(), now(), step, 0)
            step += 1
            if not ring.rounds.wait(ring.done, stopped):   # nobody reads my row any more
                return
            if worker == 0:
                board.add_update(0)
                arrived = config.gradients - budget.left
                if arrived >= board.checkpoint:
                    link.checkpoint(step, arrived)     # waits while the coordinator reads params
    finally:
        ring.close()


class _Ring:
    """One worker's side of the ring, step by step: its gradient (or zeros)
    into its row, then the all-reduce that leaves every row holding the sum.
    ``done`` counts the ring rounds it has finished (see Rounds)."""

    def __init__(self, worker, config, link, board, batches, slowdown, now, params, buffers,
                 messages, outgoing):
        self.worker, self.config, self.link, self.board = worker, config, link, board
        self.outgoing = outgoing     # its gradient as it sends it (compressed, or as it is)
        self.batches, self.slowdown, self.now, self.params = batches, slowdown, now, params
        self.buffers, self.mine, self.messages = buffers, buffers[worker], messages
        self.rounds, self.done, self.computed = Rounds(board, config.workers), 0, 0
        self.fail_after = dict(config.fail).get(worker)
        self.record, self.stopped = link.log.record, link.stopped

    def reduce(self, step, share):
        """Compute (if it has a share), wait for every worker's gradient, then
        the reduce-scatter (drawn as push) and the all-gather (as pull).
        False if the run stopped or the worker was lost."""
        worker, now, record, stopped = self.worker, self.now, self.record, self.stopped
        if share:
            grad = compute(worker, self.config, self.config.problem.gradient, self.params,
                           self.batches, self.slowdown, now, record, step, stopped)
            if not self.counted():
                return False
            self.mine[:] = self.outgoing.send(grad)
        else:
            self.mine[:] = 0.0
        start = now()
        self.done += 1                                   # my gradient is in my row
        self.rounds.finish(worker, self.done)
        if not self.rounds.wait(self.done, stopped):     # and everyone else's in theirs
            return False
        record(worker, WAIT, start, now())
        return self.communicate(step)

    @property
    def total(self):
        """The step's sum, once ``reduce`` has returned True: my row."""
        return self.mine

    def communicate(self, step):
        """The ring all-reduce of the rows: every row then holds the sum."""
        worker, now, record, stopped = self.worker, self.now, self.record, self.stopped
        message = self.message(self.config.problem.nbytes / self.config.workers)
        for kind, gather in ((PUSH, False), (PULL, True)):   # reduce-scatter, all-gather
            start = now()
            self.done = ring_phase(worker, self.buffers, self.rounds, self.done, stopped, gather,
                                   message)
            if self.done is None:
                return False
            record(worker, kind, start, now(), step)
        return True

    def message(self, nbytes):
        """One round's injected message of ``nbytes`` on the worker's link (None: none)."""
        if self.messages.instant:
            return None
        return lambda: wire(self.messages, nbytes, self.stopped)

    def counted(self):
        """One more gradient computed; False if ``fail`` kills the worker now."""
        self.computed += 1
        self.board.set_computed(self.worker, self.computed)
        if self.computed == self.fail_after:
            self.link.fail()
            return False
        return True

    def close(self):
        pass


class _GatheringRing(_Ring):
    """allreduce with compression, when it sends fewer bytes than the dense ring
    (:func:`~asynclab.compression.gathered_bytes`): an all-gather of every worker's
    compressed message, N - 1 rounds in which each message moves one worker on
    (drawn as push), then each worker adds the N reconstructions up in ring order
    (:func:`~asynclab.network.ring_sum`, the dense ring's additions: the same bits).
    In shared memory every row is visible already; a round is its injected
    message and the barrier after it. One more barrier round says that a worker
    has read every row, so no row is written again before all have."""

    def communicate(self, step):
        worker, now, stopped, rounds = self.worker, self.now, self.stopped, self.rounds
        message = self.message(gathered_bytes(self.config.compress, self.config.problem.dim,
                                              self.config.workers))
        start = now()
        for _ in range(self.config.workers - 1):
            if not rounds.wait(self.done, stopped):
                return False
            if message is not None:
                message()
            self.done += 1
            rounds.finish(worker, self.done)
        if not rounds.wait(self.done, stopped):      # every message has arrived
            return False
        self._total = ring_sum(self.buffers)
        self.done += 1                               # I have read every row
        rounds.finish(worker, self.done)
        self.record(worker, PUSH, start, now(), step)
        return True

    @property
    def total(self):
        return self._total


class _BucketedRing(_Ring):
    """Under overlap: each bucket's ring all-reduce runs in a background
    thread as soon as the worker has produced it, while its backward pass
    goes on; a bucket's rounds start once every worker has it."""

    def __init__(self, *args):
        super().__init__(*args)
        config = self.config
        self.buckets = config.bucketed
        self.parts = self.buckets.ring_parts(config.problem.dim, config.workers)
        self.part_message = self.message(self.buckets.nbytes(config.problem.nbytes)
                                         / config.workers)
        self.sender = ThreadPoolExecutor(1, thread_name_prefix=f"asynclab-ring-{self.worker}")

    def reduce(self, step, share):
        worker, now, record, stopped = self.worker, self.now, self.record, self.stopped
        jobs, start = [], now()

        def hand_over(k):
            jobs.append(self.sender.submit(self._reduce_part, self.parts[k]))

        if share:
            problem = self.config.problem
            self.mine[:] = problem.gradient(self.params, self.batches.draw(self.config.batch))
            backward_in_buckets(self.buckets, start, self.slowdown, now, stopped, hand_over)
            record(worker, COMPUTE, start, now(), step)
            if not self.counted():
                return False
        else:                     # zeros: every bucket is ready at once
            self.mine[:] = 0.0
            for k in range(self.buckets.count):
                hand_over(k)
        computed, rings = now(), [job.result() for job in jobs]
        if None in rings:
            return False
        running = []              # each bucket's ring, on the background lane
        for scatter, gather, end in rings:
            record(worker, SEND, scatter, gather, step)
            record(worker, FETCH, gather, end, step)
            running += [(scatter, gather, PUSH), (gather, end, PULL)]
        # After its computation: transfer while a bucket's ring runs, waiting otherwise.
        for a, b, kind in split(computed if share else start, now(), running, WAIT):
            record(worker, kind, a, b, -1 if kind == WAIT else step)
        return True

    def _reduce_part(self, chunks):
        """In the sender: wait until every worker has this bucket, then its
        ring; returns when the reduce-scatter and the all-gather began and when
        it ended, or None if the run stopped."""
        self.done += 1
        self.rounds.finish(self.worker, self.done)
        if not self.rounds.wait(self.done, self.stopped):
            return None
        times = []
        for gather in (False, True):
            times.append(self.now())
            self.done = ring_phase(self.worker, self.buffers, self.rounds, self.done,
                                   self.stopped, gather, self.part_message, chunks)
            if self.done is None:
                return None
        return (*times, self.now())

    def close(self):
        self.sender.shutdown(wait=True)
