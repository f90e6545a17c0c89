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
"""
from __future__ import annotations

import time

import numpy as np

from ..momentum import HeavyBall
from ..network import ring_chunks
from ..server import Budget
from ..trace import APPLY, PULL, PUSH, WAIT
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


def ring_phase(worker, buffers, rounds, done, stopped, gather, message=None):
    """One phase of the ring (the reduce-scatter, or with ``gather`` the
    all-gather): N-1 rounds, each after a barrier. ``done`` counts the rounds
    finished before; returns the count after, or None if the run stopped.
    ``message()`` is called before each round (an injected network delay)."""
    n = len(buffers)
    mine, left = buffers[worker], buffers[(worker - 1) % n]
    chunks = ring_chunks(buffers.shape[1], n)
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


def ring_life(worker, config, link, board, rng, slowdown, now, shared, buffers, messages):
    """One worker's life under ``allreduce``: compute, all-reduce, step; no server.

    Every worker hands out the budget the same way (Budget), so all of them
    agree, without talking, on how many gradients each step has and who
    computes them; a worker without one contributes zeros. A lost worker
    stalls the run (Coordinator.fail raises StalledError), like sync.
    """
    problem, record, stopped, n = config.problem, link.log.record, link.stopped, config.workers
    budget, rounds = Budget(config.gradients, config.policy), Rounds(board, n)
    fail_after = dict(config.fail).get(worker)
    params = shared if worker == 0 else np.array(shared)   # worker 0's copy is the shared one
    heavy_ball = HeavyBall(config.momentum)    # every worker applies the same steps: one velocity each
    mine = buffers[worker]
    chunk_bytes = problem.nbytes / n
    injected = not messages.instant

    def round_message():     # one round's message: S/N bytes on the worker's link
        wire(messages, chunk_bytes, stopped)

    computed, done, step = 0, 0, 0
    if fail_after == 0:
        link.fail()
        return
    while not stopped():
        shares = budget.take_step(step, range(n))
        count = sum(shares.values())
        if count == 0:
            return
        if shares[worker]:
            grad = compute(worker, config, problem.gradient, params, rng, slowdown, now, record,
                           step, stopped)
            computed += 1
            board.set_computed(worker, computed)
            if computed == fail_after:
                link.fail()
                return
            mine[:] = grad
        else:
            mine[:] = 0.0
        start = now()
        done += 1                                  # my gradient is in my row
        rounds.finish(worker, done)
        if not rounds.wait(done, stopped):         # and everyone else's in theirs
            return
        record(worker, WAIT, start, now())
        for kind, gather in ((PUSH, False), (PULL, True)):   # reduce-scatter, all-gather
            start = now()
            done = ring_phase(worker, buffers, rounds, done, stopped, gather,
                              round_message if injected else None)
            if done is None:
                return
            record(worker, kind, start, now(), step)
        params -= heavy_ball.step(mine / count, config.lr)
        record(worker, APPLY, now(), now(), step, 0)
        step += 1
        if not rounds.wait(done, stopped):         # nobody reads my row any more
            return
        if worker == 0:
            board.add_update(0)
            arrived = config.gradients - budget.left
            if arrived >= board.checkpoint:
                link.checkpoint(step, arrived)     # waits while the coordinator reads params
