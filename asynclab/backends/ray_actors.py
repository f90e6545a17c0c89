"""The Ray actors of the ray backend: parameter-server shards, their coordinator, workers.

Every server actor holds a :class:`~asynclab.server.ParameterServer` over its
slice of the parameters, so the policy rules are never re-implemented here.
The coordinator owns slice 0 and decides: it alone parks and releases
workers and counts the gradient budget. Every other shard replays the
coordinator's pushes, failures and flushes in the coordinator's order
(numbered events), so its ParameterServer takes exactly the same decisions
(same versions, same dropped gradients) on its own slice.

Times are ``time.time() - t0`` in seconds, ``t0`` being the driver's start of
the run: actors on other machines are assumed to have synchronised clocks.
Server actors are threaded actors (``max_concurrency``, see
:func:`server_options`): each call runs in a thread of its own, so a worker
that may not start can block its call until a push or a failure releases it.
One lock per actor guards the ParameterServer and everything else the
calls share; a parked call waits on it as a condition. (Threads, not
asyncio: on a busy machine an asyncio actor adds about 0.3 ms to every
call, a fifth of a round trip, and the sync policy pays one per step.)
"""
from __future__ import annotations

import pickle
import threading
import time
import traceback

import numpy as np
import ray

from ..momentum import HeavyBall, local_step
from ..partition import minibatches
from ..server import Budget, ParameterServer, StalledError
from ..trace import APPLY, COMPUTE, DROP, FAIL, PULL, PUSH, WAIT
from .base import loss_diverged, worker_streams
from .realtime import Slowdown

# Ray's max_direct_call_object_size: smaller arguments and results travel
# inside the call's own messages instead of through the object store.
INLINE_BYTES = 100 * 1024


def pack(message, nbytes):
    """``message`` (a tuple holding ``nbytes`` of arrays) ready for a Ray call.

    A small one is pickled here into bytes, which Ray passes as they are: its
    own serializer would take about a fifth of a round trip longer for a small
    numpy array. A large one goes to Ray as it is, so that its arrays travel
    through the object store without copies (and arrive read-only).
    """
    return pickle.dumps(message, pickle.HIGHEST_PROTOCOL) if nbytes <= INLINE_BYTES else message


def unpack(message):
    return pickle.loads(message) if isinstance(message, bytes) else message


def server_options(workers):
    """Ray options of a server actor: one CPU, and a thread for every worker
    (a parked worker holds one) plus a few for the driver and the shards."""
    return dict(num_cpus=1, max_concurrency=workers + 4)


class Shard:
    """One slice of the parameters, updated by its own ParameterServer."""

    def __init__(self, params, policy, workers, lr, staleness_aware, momentum, checkpoint_every):
        self.server = ParameterServer(policy, params, workers, lr, staleness_aware, momentum)
        self.arrived = 0                       # gradients received, over all workers
        self.every, self.next_checkpoint = checkpoint_every, checkpoint_every
        self.snapshots = []                    # parameters at each checkpoint
        self._staged = {}                      # (worker, message) -> gradient slices
        self._events = {}                      # coordinator's numbered events, not yet applied
        self._next_event = 0
        # Held by every call that touches the state above; notified whenever a
        # version changes or a parked worker may start.
        self._changed = threading.Condition()

    def ready(self):
        return True

    def _apply_push(self, worker, updates, version_read, carried):
        """Push ``updates``, each the sum of ``carried`` gradients (local:H),
        one by one; returns [(staleness, applied, released)]."""
        outcomes = []
        with np.errstate(over="ignore", invalid="ignore"):
            for update in updates:
                outcomes.append(self.server.push(worker, update, version_read))
                self.arrived += carried
                if self.arrived >= self.next_checkpoint:
                    self.next_checkpoint += self.every * (
                        (self.arrived - self.next_checkpoint) // self.every + 1)
                    self._checkpoint()
        return outcomes

    def _checkpoint(self):
        self.snapshots.append(self.server.params)   # replaced, never modified: no copy

    # -- called by workers and by the coordinator ---------------------------------------
    def stage(self, worker, message, updates, carried):
        """A worker's gradient slices, applied when the coordinator orders them."""
        with self._changed:
            self._staged[(worker, message)] = updates, carried

    def event(self, number, kind, worker, message=None, version_read=None):
        with self._changed:
            self._events[number] = (kind, worker, message, version_read)
            while self._next_event in self._events:
                kind, worker, message, version_read = self._events.pop(self._next_event)
                self._next_event += 1
                if kind == "push":
                    updates, carried = self._staged.pop((worker, message))
                    self._apply_push(worker, updates, version_read, carried)
                elif kind == "fail":
                    try:
                        self.server.fail(worker)
                    except StalledError:
                        pass                           # the coordinator reports it
                else:
                    self.server.flush()
            self._changed.notify_all()

    def read(self, version):
        """This slice once it includes every update up to ``version``."""
        with self._changed:
            self._changed.wait_for(lambda: self.server.version >= version)
            return self.server.params

    def result(self):
        """The slice, its snapshots, and its ClientDrift (local:H, diloco:H; else None)."""
        with self._changed:
            return self.server.params, self.snapshots, self.server.drift


class Coordinator(Shard):
    """Shard 0 plus the policy's gatekeeping: who may start, how many gradients."""

    def __init__(self, params, policy, workers, lr, staleness_aware, momentum, checkpoint_every,
                 budget, grant, problem=None, alarm=None):
        super().__init__(params, policy, workers, lr, staleness_aware, momentum, checkpoint_every)
        self.budget = Budget(budget, policy)   # gradients not yet handed out
        self.grant = grant         # gradients a worker computes per message
        self.problem = problem     # given when this actor holds all the parameters
        self.granted = [0] * workers
        self.computed = [0] * workers   # COMPUTE rows received from each worker
        self.rows = []             # the trace, as Trace rows
        self.pulls = self.pushes = 0    # parameters sent to workers; updates received
        self.checkpoints = []      # (time, version, gradients arrived) of each snapshot
        self.parked = set()        # workers whose call waits until they may start
        self.done = set()
        self.stopped = None        # why the run stopped early ("stalled: ...")
        self.diverged = False
        self._events_sent = []     # refs of events sent to the other shards
        self._event_number = 0
        # Set once `alarm` gradients have arrived (None: never), for the driver's alarm().
        self.alarm_at, self._alarm_rang = alarm, threading.Event()
        if alarm == 0:
            self._alarm_rang.set()

    def start(self, t0, workers, shards):
        self.t0, self.workers, self.shards = t0, workers, shards

    def now(self):
        return time.time() - self.t0

    def push_pull(self, packed):
        """Apply a worker's gradients, wait until it may start, hand out its next grant.

        ``packed`` is ``(worker, message, updates, carried, version_read,
        sent_at, rows)`` (each update the sum of ``carried`` gradients) and the
        reply ``(params slice or None, version, grant, released_at)``, both
        through :func:`pack`; grant 0 tells the worker to stop.
        """
        reply = self._push_pull(*unpack(packed))
        return pack(reply, self.server.params.nbytes)

    def _push_pull(self, worker, message, updates, carried, version_read, sent_at, rows):
        with self._changed:
            if worker not in self.server.live:     # a late message of a worker declared lost
                return None, self.server.version, 0, self.now()
            self._log(rows)
            arrival = self.now()
            if updates:
                self.pushes += len(updates)
                outcomes = self._apply_push(worker, updates, version_read, carried)
                self._send("push", worker, message, version_read)
                if self.alarm_at is not None and self.arrived >= self.alarm_at:
                    self._alarm_rang.set()
                end = self.now()
                for staleness, applied, released in outcomes:
                    self.rows.append((worker, APPLY if applied else DROP, arrival, end,
                                      version_read, staleness))
                    self._release(released)
            waited = self.now()
            if updates:     # the actor call, until the server has applied it: communication
                self.rows.append((worker, PUSH, sent_at, waited, version_read, -1))
            server = self.server
            while self.stopped is None and worker in server.live and not server.may_start(worker):
                self.parked.add(worker)
                self._check_all_parked()
                if worker in self.parked:
                    self._changed.wait()      # until a push, failure or stop releases it
            self.parked.discard(worker)
            stop = self.stopped or self.diverged or worker not in server.live
            grant = 0 if stop else self.budget.take(worker, server, self.grant)
            self.granted[worker] += grant
            released_at = self.now()
            if released_at > waited:
                self.rows.append((worker, WAIT, waited, released_at, -1, -1))
            if grant == 0:
                self.done.add(worker)
                self._check_all_parked()
                return None, server.version, 0, released_at
            self.pulls += 1
            return server.params, server.version, grant, released_at

    def reached_fail_point(self, worker, rows):
        """Injected failure: kill the worker actor for real, then forget it."""
        with self._changed:
            self._log(rows)
        ray.kill(self.workers[worker], no_restart=True)
        self.fail(worker)

    def alarm(self):
        """Returns once the server has received the alarm's number of gradients."""
        self._alarm_rang.wait()

    def fail(self, worker, cause=None):
        """A worker is gone (killed, or its actor died; ``cause`` says why, if known)."""
        with self._changed:
            if worker not in self.server.live:
                return
            self.rows.append((worker, FAIL, self.now(), self.now(), -1, -1))
            self.done.discard(worker)
            self._release([worker])          # if it died while parked, its call returns
            # Gradients granted to it but never computed go back to the budget.
            self.budget.give_back(self.granted[worker] - self.computed[worker])
            self.granted[worker] = self.computed[worker]
            try:
                self._release(self.server.fail(worker))
            except StalledError as err:
                self._stop(f"{cause}: {err}" if cause else str(err))
            self._send("fail", worker)
            self._check_all_parked()

    def progress(self):
        return self.arrived

    def finish(self):
        ray.get(self._events_sent)
        with self._changed:
            return dict(rows=self.rows, checkpoints=self.checkpoints,
                        version=self.server.version, failed=list(self.server.failed),
                        stopped=self.stopped, pulls=self.pulls, pushes=self.pushes)

    # -- rules (called with the lock held) ---------------------------------------------
    def _log(self, rows):
        self.rows.extend(rows)
        for row in rows:
            if row[1] == COMPUTE:
                self.computed[row[0]] += 1

    def _checkpoint(self):
        super()._checkpoint()
        self.checkpoints.append((self.now(), self.server.version, self.arrived))
        params = self.server.params
        # The rule of every backend (the loss is not finite), where this actor
        # holds all the parameters; with shards, its slice must be finite.
        if (loss_diverged(self.problem, params) if self.problem is not None
                else not np.all(np.isfinite(params))):
            self.diverged = True

    def _send(self, kind, worker, message=None, version_read=None):
        number = self._event_number
        self._event_number += 1
        for shard in self.shards:
            self._events_sent.append(shard.event.remote(number, kind, worker, message,
                                                        version_read))

    def _release(self, workers):
        if workers:
            self.parked.difference_update(workers)
            self._changed.notify_all()

    def _stop(self, reason):
        self.stopped = self.stopped or reason       # the first reason is the cause
        self._release(list(self.parked))

    def _check_all_parked(self):
        """When no live worker is computing, close a partial step (the budget ran
        out inside it); if that frees nobody, the parked workers wait forever."""
        live = self.server.live
        if not self.parked or any(w not in self.parked and w not in self.done for w in live):
            return
        released = self.server.flush()
        if released:
            self._send("flush", -1)
            self._release(released)
        else:
            self._stop(f"workers {sorted(self.parked)} wait for a step that no live "
                       f"worker can complete under policy {self.server.policy.name!r}")


class Worker:
    """Pulls parameters, computes gradients on its own minibatch stream, pushes them."""

    def __init__(self, worker, config, shard_sizes, coordinator, shards):
        self.w = worker
        self.problem = config.problem
        self.problem.data                      # build the data set before the clock starts
        self.batch, self.lr = config.batch, config.lr
        self.local_steps = config.policy.local_steps
        self.heavy_ball = HeavyBall(config.momentum)   # this worker's velocity for local steps
        data_rngs, time_rngs = worker_streams(config.seed, config.workers)
        self.batches = minibatches(config, data_rngs)[worker]    # from its part of the data
        self.slowdown = Slowdown(config, worker, time_rngs[worker])   # as on threads
        self.message_time = config.timing.message_time(self.problem.nbytes)
        self.fail_after = dict(config.fail).get(worker)
        self.cuts = np.cumsum(shard_sizes)[:-1]
        self.coordinator, self.shards = coordinator, shards

    def ready(self):
        return True

    def run(self, t0):
        """The worker's whole life; returns None, or the traceback if it raised."""
        try:
            self._loop(t0)
        except Exception:
            return traceback.format_exc()
        return None

    def _loop(self, t0):
        now = lambda: time.time() - t0  # noqa: E731
        w, problem, rows, computed = self.w, self.problem, [], 0
        sent, message, updates, carried, version = now(), 0, [], 1, -1
        if self.fail_after == 0:             # lost before its first gradient
            ray.get(self.coordinator.reached_fail_point.remote(w, rows))
            while True:
                time.sleep(3600)
        while True:
            packed = pack((w, message, updates, carried, version, sent, rows),
                          sum(u.nbytes for u in updates))
            reply = unpack(ray.get(self.coordinator.push_pull.remote(packed)))
            params, version, grant, released_at = reply
            if grant == 0:
                return
            if self.shards:
                slices = ray.get([s.read.remote(version) for s in self.shards])
                params = np.concatenate([params, *slices])
            self._sleep(self.message_time)
            rows = [(w, PULL, released_at, now(), version, -1)]
            local, total, updates = params, None, []
            for _ in range(grant):
                start = now()
                grad = problem.gradient(local, self.batches.draw(self.batch))
                self._sleep(self.slowdown.seconds(now() - start))
                rows.append((w, COMPUTE, start, now(), version, -1))
                computed += 1
                if computed == self.fail_after:
                    ray.get(self.coordinator.reached_fail_point.remote(w, rows))
                    while True:                 # the coordinator kills this actor
                        time.sleep(3600)
                if self.local_steps == 1:
                    updates.append(grad)
                else:   # local SGD: step a private copy, send the sum of the gradients
                    local, total = local_step(local, total, grad, self.lr, self.heavy_ball)
            carried = 1
            if total is not None:
                updates, carried = [total], grant
            sent = now()
            self._sleep(self.message_time)
            message += 1
            if self.shards:
                pieces = [np.split(u, self.cuts) for u in updates]
                ray.get([s.stage.remote(w, message, [p[k + 1] for p in pieces], carried)
                         for k, s in enumerate(self.shards)])
                updates = [p[0] for p in pieces]

    @staticmethod
    def _sleep(seconds):
        if seconds > 0:
            time.sleep(seconds)
