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
* ``_computer`` and ``_sender`` under ``overlap`` (async, ssp:S, hogwild):
  the computer hands each push to its background sender and starts its next
  gradient at once on the parameters it holds; the sender pushes, then, once
  the policy lets the worker go on (a staleness bound), fetches the newest
  parameters, which the computer uses from its next gradient on. A computer
  that finishes a gradient while its sender is still busy waits for it.
* ``_bucketed_worker`` under ``overlap`` with a step (sync, backup:B,
  local:H): pull, compute, and send the gradient in buckets as its backward
  pass produces them (:mod:`asynclab.buckets`).
* ``_ring_worker`` under ``allreduce``: compute, wait for the step's other
  gradients, then the ring all-reduce (under ``overlap`` one per bucket, each
  as soon as every worker has produced it); no server, no pull, no push.
* ``_gossip_worker`` under ``gossip``: compute on its own model, then average
  it with a neighbour's and take its step (:mod:`asynclab.gossip`); no server.

Time a worker spends waiting for something running in the background (its
sender, its buckets) is recorded as what that was (:func:`~asynclab.trace.split`):
queue while a message waits for the server or its link, wait at a bound or
for the other workers' buckets, transfer for its own messages on the wire.
"""
from __future__ import annotations

import contextlib
import gc
import heapq
import itertools
import sys

import numpy as np
from threadpoolctl import ThreadpoolController

from ..buckets import send_times
from ..compression import message_sizes
from ..gossip import Consensus, Neighbours, PairLinks, exchange, neighbour_streams
from ..momentum import HeavyBall, local_step
from ..network import Network
from ..partition import minibatches
from ..server import Budget, ParameterServer, StalledError
from ..timing import WorkerClock
from ..trace import (APPLY, BACKGROUND, COMPUTE, DROP, FAIL, FETCH, PULL, PUSH, QUEUE, SEND, WAIT,
                     Trace, split)
from .base import (Evaluator, make_result, message_clocks, progress_bar, worker_compression,
                   worker_streams)

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
        self.batches = minibatches(config, batch_rngs)    # each worker's, from its part of the data
        block = min(512, max(8, config.gradients // n + 1))
        self.clocks = [WorkerClock(timing, w, time_rngs[w], block) for w in range(n)]
        # Only a parameter server has a shared link (and applies one gradient at a time).
        self.sizes = sizes = message_sizes(config)     # a push may be compressed
        self.network = Network(timing, problem.nbytes, message_clocks(config),
                               config.server_bandwidth if policy.has_server else float("inf"),
                               push_nbytes=sizes.push)
        self.compressions = [worker_compression(config, w) for w in range(n)]
        self.pulls = self.pushes = 0      # messages sent (the bytes they carry: sizes)
        self.apply_time = timing.apply_time if policy.has_server else 0.0
        self.fail_after = dict(config.fail)
        self.trace = Trace()
        if policy.gossip:         # every worker's model, and who averages with whom
            self.models = np.tile(problem.initial_params(), (n, 1))
            self.versions = np.zeros(n, dtype=np.int64)      # changes to each model
            self.neighbours = [Neighbours(w, n, config.topology, rng)
                               for w, rng in enumerate(neighbour_streams(config.seed, n))]
            self.links, self.consensus = PairLinks(n), Consensus()
        self.evaluator = Evaluator(problem, config.gradients, config.eval_points,
                                   view=self.consensus if policy.gossip else None)
        self.now = 0.0
        self.arrived = 0          # gradients that reached the server
        self.server_free = 0.0    # when the server finishes its queued applies
        self._queue, self._seq = [], itertools.count()
        self.computed = 0         # gradients finished, over all workers
        self._computed_by = [0] * n
        self._parked = {}         # worker -> its life (or sender) that waits to be released
        self._progress = None
        # Overlap: per worker, the push handed to its sender, the parameters it
        # fetched, whether it is busy, whether the computer waits for it, and
        # what the sender queued or waited for since the last hand-over.
        self._jobs, self._fetched = [None] * n, [None] * n
        self._sending, self._waiting_for_sender = [False] * n, [False] * n
        self._background = [[] for _ in range(n)]    # (start, end, QUEUE or WAIT)
        self.buckets = config.bucketed   # None, or how a step's gradient goes in parts
        self._ring = (-1, None)     # (step, its all-reduce: (reduce-scatter, all-gather) seconds,
                                    #  or under buckets each part's (start, scatter end, end))

    # -- the event loop ---------------------------------------------------------------
    def run(self):
        cfg = self.config
        self.evaluator.record(0.0, 0, 0, self._evaluated)
        life = (self._ring_worker if self.policy.ring else
                self._gossip_worker if self.policy.gossip else
                self._bucketed_worker if self.buckets else
                self._computer if cfg.overlap else self._worker)
        self._reduce = self._all_reduce_in_buckets if self.buckets else self._all_reduce
        self._workers = [life(w) for w in range(cfg.workers)]
        self._senders = ([self._sender(w) for w in range(cfg.workers)]
                         if life == self._computer else [])
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
            self._schedule(self.now, self._parked.pop(w))

    # -- one worker's life --------------------------------------------------------------
    def _worker(self, w):
        server, trace, msg = self.server, self.trace, self.network.fixed
        push_msg = self.network.fixed_push    # None when msg is None
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
                self.pulls += 1
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
            elif push_msg:
                start = self.now
                yield push_msg
                trace.record(w, PUSH, start, self.now, version)
            yield from self._deliver(w, update, version, grant)

    def _computer(self, w):
        """Under overlap: compute, hand the push to the sender, compute again.

        It never waits at a staleness bound itself: its first two gradients
        need no permission (it has pushed nothing yet), and its sender waits
        for the next one's after each push."""
        server, trace, held = self.server, self.trace, None
        if self._lost(w):
            return
        while True:
            if not self.budget.take(w, server):
                return        # its sender still carries the last push
            if held is None:  # no parameters yet: the first pull is in the foreground
                held = yield from self._pull(w, PULL)
            params, version = held
            grad = yield from self._compute(w, params, version)
            if grad is None:
                return        # its sender finishes the push it carries
            if self._sending[w]:
                # Its link still carries the last push or fetch (its own messages,
                # not hidden), or the sender queues for the server or waits at a bound.
                start = self.now
                self._waiting_for_sender[w] = True
                yield PARK
                if self._background[w]:
                    self._record_pieces(w, start, self._background[w], PUSH, version)
                else:
                    trace.record(w, PUSH, start, self.now, version)
            self._background[w].clear()
            if self._fetched[w] is not None:
                held, self._fetched[w] = self._fetched[w], None
            self._jobs[w] = (grad, version)
            self._sending[w] = True
            self._schedule(self.now, self._senders[w])

    def _sender(self, w):
        """Under overlap: push what the computer handed over; then, if the
        worker will compute again, wait until the policy lets it go on (a
        staleness bound: the gradient after next) and fetch the newest
        parameters. So a gradient is computed on parameters read after its
        worker was released, as SSP's read guarantee has it."""
        while True:
            update, version = self._jobs[w]
            yield from self._send(w, SEND, version)
            yield from self._deliver(w, update, version, 1, background=True)
            if self._goes_on(w):
                waited = yield from self._wait_to_start(w, self._senders[w], record=False)
                if waited is not None:
                    self._background[w].append((*waited, WAIT))
            if self._goes_on(w):      # still (the budget may have ended while it waited)
                self._fetched[w] = yield from self._pull(w, FETCH)
            self._sending[w] = False
            if self._waiting_for_sender[w]:
                self._waiting_for_sender[w] = False
                self._schedule(self.now, self._workers[w])
            yield PARK

    def _bucketed_worker(self, w):
        """Under overlap with a step (sync, backup:B, local:H): pull, compute,
        and send the (last) gradient's buckets as its backward pass produces
        them; the server applies the update once its last part is in. The pull
        is not overlapped: the forward pass needs the new parameters."""
        server, local_steps, lr = self.server, self.policy.local_steps, self.config.lr
        heavy_ball = HeavyBall(self.config.momentum)   # this worker's velocity for its local steps
        if self._lost(w):
            return
        while True:
            yield from self._wait_to_start(w)
            grant = self.budget.take(w, server)
            if not grant:
                return
            params, version = yield from self._pull(w, PULL)
            update, local = None, params
            for step in range(grant):      # local:H sends only its last gradient's buckets
                compute = self._compute_in_buckets if step == grant - 1 else self._compute
                grad = yield from compute(w, local, version)
                if grad is None:
                    return
                if local_steps == 1:
                    update = grad
                else:
                    local, update = local_step(local, update, grad, lr, heavy_ball)
            yield from self._deliver(w, update, version, grant)

    def _ring_worker(self, w):
        """allreduce: compute, wait for the step's last gradient, all-reduce."""
        server, reduced = self.server, None    # reduced: (step, when its computing began)
        if self._lost(w):
            return
        while True:
            if reduced is not None:
                yield from self._reduce(w, *reduced)
                reduced = None
            if not self.budget.take(w, server):
                return
            params, version = server.read()
            began = self.now
            grad = yield from self._compute(w, params, version)
            if grad is None:
                return
            # Buffered until the step's last gradient, then added up in ring order.
            self._release(server.push(w, self.compressions[w].send(grad), version)[2])
            self.arrived += 1
            reduced = version, began

    def _gossip_worker(self, w):
        """gossip: compute on its own model (read as the computation begins),
        exchange with a neighbour, then average and step at once."""
        models, versions, lr = self.models, self.versions, self.config.lr
        heavy_ball, neighbours = HeavyBall(self.config.momentum), self.neighbours[w]
        while self.budget.take(w):
            version = int(versions[w])
            grad = yield from self._compute(w, models[w], version)
            neighbour = neighbours.next()
            if neighbour is not None:
                yield from self._exchange(w, neighbour, version)
            staleness = exchange(models, versions, w, neighbour, heavy_ball.step(grad, lr),
                                 version)
            self.trace.record(w, APPLY, self.now, self.now, version, staleness)
            self.arrived += 1
            self.evaluator.maybe(self.now, self.arrived, self.arrived, self.computed, models)

    def _exchange(self, w, neighbour, version):
        """Hold both workers' links for one message time, once both are free: each
        model crosses to the other (counted as a push and a pull of S bytes)."""
        hold = self.network.clocks[w].message_time(self.network.nbytes)
        start = self.links.reserve(w, neighbour, self.now, hold)
        self.pushes += 1
        self.pulls += 1
        if start > self.now:
            ready = self.now
            yield start - self.now
            self.trace.record(w, QUEUE, ready, self.now)
        if hold > 0:
            yield hold
            self.trace.record(w, PUSH, start, self.now, version)
            self.trace.record(neighbour, FETCH, start, self.now, version)

    # -- what workers do ------------------------------------------------------------------
    def _pull(self, w, kind):
        """A pull (or fetch) of ``w``: returns the parameters and their version,
        read when its bytes start moving."""
        start, end = self.network.send(w, self.now)
        if start > self.now:
            ready = self.now
            yield start - self.now
            self._queued(w, kind, ready)
        params, version = self.server.read()
        self.pulls += 1
        if end > self.now:
            yield end - self.now
            self.trace.record(w, kind, start, self.now, version)
        return params, version

    def _send(self, w, kind, version):
        """A push (or background send) of ``w``, after any queue for the server's link."""
        network = self.network
        if network.fixed is not None:
            if network.fixed_push:
                start = self.now
                yield network.fixed_push
                self.trace.record(w, kind, start, self.now, version)
            return
        start, end = network.send(w, self.now, network.push_nbytes)
        if start > self.now:
            ready = self.now
            yield start - self.now
            self._queued(w, kind, ready)
        if end > self.now:
            yield end - self.now
            self.trace.record(w, kind, start, self.now, version)

    def _deliver(self, w, update, version, carried, background=False):
        """The update reaches the server, which applies it (after any queue): what
        ``w`` sent, its update through its compression (the same array without)."""
        server, arrival = self.server, self.now
        update = self.compressions[w].send(update)
        self.pushes += 1
        if self.apply_time:
            # The server applies gradients one at a time, first come first served;
            # the worker (or its sender) waits for its acknowledgement.
            begin = max(arrival, self.server_free)
            self.server_free = begin + self.apply_time
            yield self.server_free - arrival
            self._queued(w, SEND if background else PUSH, arrival)
            arrival = begin
        staleness, applied, released = server.push(w, update, version)
        self.trace.record(w, APPLY if applied else DROP, arrival, self.now, version, staleness)
        self._release(released)
        self.arrived += carried
        self.evaluator.maybe(self.now, server.version, self.arrived, self.computed,
                             server.params)

    def _all_reduce(self, w, step, began):
        """Wait for the last gradient of ``step``, then its ring all-reduce:
        reduce-scatter (drawn as push) and all-gather (drawn as pull), the same
        rounds for every worker."""
        yield from self._wait_to_start(w)
        if self._ring[0] != step:        # the first worker out draws the step's rounds
            self._ring = (step, self.network.allreduce(self.config.workers,
                                                       gathered=self.sizes.gathered))
        for kind, seconds in zip((PUSH, PULL), self._ring[1]):
            if seconds:
                start = self.now
                yield seconds
                self.trace.record(w, kind, start, self.now, step)
        self._reduced(w, step)

    def _all_reduce_in_buckets(self, w, step, began):
        """Under overlap: each bucket of ``step`` is its own ring all-reduce,
        which starts once every worker has produced that bucket and the one
        before has gone. Every worker began the step at ``began``, so the
        slowest one's buckets are the last ready: it sets the schedule, which
        the first worker released at the step's end works out (a ring shares
        no link, so nothing else can change it)."""
        computed = self.now          # its gradient is in: its computation ended now
        yield from self._wait_to_start(w, record=False)
        if self._ring[0] != step:
            longest, network, n = self.now - began, self.network, self.config.workers
            ready = [self.now - (longest - r) for r in self.buckets.ready(longest)]
            rounds = [network.allreduce(n, self.buckets.nbytes(network.nbytes)) for _ in ready]
            times = send_times(ready, [scatter + gather for scatter, gather in rounds])
            self._ring = (step, [(a, a + r[0], b) for (a, b), r in zip(times, rounds)])
        parts = self._ring[1]
        for start, middle, end in parts:       # on the background lane
            for kind, a, b in ((SEND, start, middle), (FETCH, middle, end)):
                if b > a:
                    self.trace.record(w, kind, a, b, step)
        end = parts[-1][2]
        if end > self.now:
            yield end - self.now
        # After its computation: transfer while a bucket's ring runs, waiting otherwise.
        running = [(a, b, PUSH) for a, b, _ in parts] + [(b, c, PULL) for _, b, c in parts]
        self._record_pieces(w, computed, running, WAIT, step)
        self._reduced(w, step)

    def _reduced(self, w, step):
        """The ring's sum of ``step`` is in: its update is applied."""
        self.trace.record(w, APPLY, self.now, self.now, step, 0)
        server = self.server
        self.evaluator.maybe(self.now, server.version, self.arrived, self.computed,
                             server.params)

    def _wait_to_start(self, w, life=None, record=True):
        """Park until the policy lets ``w`` start its next step (a barrier or a
        bound), recording the wait unless ``record`` is False; ``life`` is the
        generator to resume (default: the worker's). Returns (start, end) of the
        wait, or None if it did not wait."""
        waited = None
        while not self.server.may_start(w):
            start = self.now
            self._parked[w] = life or self._workers[w]
            yield PARK
            waited = (start if waited is None else waited[0], self.now)
            if record:
                self.trace.record(w, WAIT, start, self.now)
        return waited

    def _goes_on(self, w):
        """True if ``w`` will compute again (its sender then fetches for it)."""
        return self.budget.left and w in self.server.live

    def _compute(self, w, params, version):
        """One gradient of ``w`` on ``params``; None if ``w`` is lost right after it."""
        problem = self.problem
        grad = problem.gradient(params, self.batches[w].draw(self.config.batch))
        start = self.now
        yield self.clocks[w].next_compute()
        return grad if self._computed(w, start, version) else None

    def _compute_in_buckets(self, w, params, version):
        """One gradient of ``w`` on ``params`` whose buckets go to the server
        as its backward pass produces them (:mod:`asynclab.buckets`), each after
        any queue for the server's link; returns once the last has arrived (None
        if ``w`` is lost when its computation ends). The time after the
        computation is exposed: queue while a bucket waits for the server's
        link, transfer otherwise."""
        problem, trace, network = self.problem, self.trace, self.network
        grad = problem.gradient(params, self.batches[w].draw(self.config.batch))
        start, seconds = self.now, self.clocks[w].next_compute()
        end, free, queued = start + seconds, start, []
        part = self.buckets.nbytes(network.nbytes)
        for ready in self.buckets.ready(seconds):     # the last one when it ends
            at = max(start + ready, free)
            if end is not None and at >= end:      # its computation ends first
                if end > self.now:
                    yield end - self.now
                if not self._computed(w, start, version):
                    return None
                computed, end = self.now, None
            if at > self.now:
                yield at - self.now
            begin, free = network.send(w, self.now, part)
            if begin > self.now:
                queued.append((self.now, begin, QUEUE))
            if free > begin:
                trace.record(w, SEND, begin, free, version)
        if free > self.now:
            yield free - self.now
        self._record_pieces(w, computed, queued, PUSH, version)
        return grad

    def _computed(self, w, start, version):
        """A gradient of ``w`` begun at ``start`` is done now; False if ``w`` is
        lost right after it."""
        self.trace.record(w, COMPUTE, start, self.now, version)
        self.computed += 1
        self._computed_by[w] += 1
        if self._progress is not None:
            self._progress.update(1)
        return not self._lost(w)

    def _queued(self, w, kind, ready):
        """``w``'s message of ``kind`` waited from ``ready`` until now for the
        server or its link: queue, recorded at once in the foreground, and
        kept for the computer to split its wait by in the background."""
        if kind in BACKGROUND:
            self._background[w].append((ready, self.now, QUEUE))
        else:
            self.trace.record(w, QUEUE, ready, self.now)

    def _record_pieces(self, w, start, marked, rest, version):
        """``w`` waited from ``start`` until now for something in the
        background: record each piece as what it was (:func:`split`)."""
        for a, b, kind in split(start, self.now, marked, rest):
            self.trace.record(w, kind, a, b, version if kind in (PUSH, PULL) else -1)

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

    @property
    def _evaluated(self):
        """What the evaluator is given: the parameters, or gossip's models."""
        return self.models if self.policy.gossip else self.server.params

    def _result(self):
        server, gossip = self.server, self.policy.gossip
        updates = self.arrived if gossip else server.version
        self.evaluator.finish(self.now, updates, self.computed, self._evaluated)
        result = make_result(self.config, self.trace, self.evaluator, time=self.now,
                             updates=updates, gradients=self.computed, failed=server.failed,
                             params=self.models.mean(axis=0) if gossip else server.params,
                             pulls=self.pulls, pushes=self.pushes,
                             client_drift=None if server.drift is None else server.drift.value,
                             consensus_distance=self.consensus.distance if gossip else None)
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

    Python's cycle collector is paused for the run (:func:`collector_paused`).
    """
    with _blas().limit(limits=1, user_api="blas"), collector_paused():
        return Simulation(config, record_path).run()


@contextlib.contextmanager
def collector_paused():
    """Pause the cycle collector, as it was, for the block. A run makes many
    long-lived objects (per worker a generator, its streams and clocks; a trace row
    per event) and almost no garbage cycles: the collector's passes over them,
    which grow with them, find nothing, yet took a sixth of a 100,000-worker run.
    The few cycles a run leaves (its workers and the run itself) are collected
    once it is over, as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
