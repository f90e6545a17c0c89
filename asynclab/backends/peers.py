"""Gossip among real workers (threads or processes): ``policy="gossip"``.

Every worker's model is a row of ``models``, an (N, d) array every worker
sees (a numpy array for threads, a view of the run's shared-memory segment
for processes), and ``versions[w]`` counts the changes to row w. There is
no server: the rules are :mod:`asynclab.gossip`'s, the same as on the
simulated cluster. One lock per worker guards its row and its link:

* a worker copies its row for its first gradient under its own lock (a
  neighbour may be averaging it at that moment);
* an exchange of worker w with neighbour j takes both locks, the lower worker
  id first. Every path that holds two locks takes them in that one order, so
  no two exchanges can each hold a lock the other waits for: no deadlock.
  Holding both, it sleeps the injected message time (both links carry the
  exchange), averages the two rows, subtracts w's step from its row and
  copies the row for w's next gradient; only then does it let go. So the
  exchange is atomic, as AD-PSGD's averaging step is: no other exchange,
  read or step touches either row meanwhile;
* an evaluation point takes every lock, in increasing order, and copies the
  rows (:meth:`PeerModels.snapshot`).

A worker waiting for a lock looks up every POLL seconds whether the run has
stopped, so that a worker process that died holding its lock (the run then
stops: gossip does not go on without a worker) cannot hang the others; the
snapshot at the end of a run waits at most LOCK_GRACE seconds for a lock.

Locks are ``threading.Lock`` for threads and ``multiprocessing`` locks for
processes (made by the parent, handed to each worker process as it starts).
The budget comes in chunks, and evaluation points are reported, as under
Hogwild! (:class:`~.realtime.LockFreeChannel`).
"""
from __future__ import annotations

from ..gossip import Neighbours, exchange, neighbour_streams
from ..momentum import HeavyBall
from ..trace import APPLY, FETCH, PUSH, QUEUE
from .realtime import LockFreeChannel, compute, pause

POLL = 0.05            # seconds between looks at the stop flag while waiting for a lock
LOCK_GRACE = 1.0       # seconds the last snapshot waits for a lock a dead worker may hold


class PeerModels:
    """The models of a gossip run, their versions and their locks (see the module)."""

    def __init__(self, models, versions, locks):
        self.models, self.versions, self.locks = models, versions, locks

    def read(self, worker, stopped):
        """A copy of ``worker``'s model and its version (None if the run stopped)."""
        held = self._hold([worker], stopped)
        try:
            return None if held is None else (self.models[worker].copy(),
                                              int(self.versions[worker]))
        finally:
            self._let_go(held or [])

    def exchange(self, worker, neighbour, step, version_read, hold, stopped):
        """One atomic gossip step (:func:`asynclab.gossip.exchange`): both
        locks, ``hold()`` (the message time), average, step. Returns the
        staleness, the new model's copy and version, and when the locks were
        held and let go (``now``-seconds, for the trace); None if the run stopped."""
        held = self._hold([worker] if neighbour is None else sorted((worker, neighbour)),
                          stopped)
        if held is None:
            return None
        try:
            locked = hold()
            staleness = exchange(self.models, self.versions, worker, neighbour, step, version_read)
            return (staleness, self.models[worker].copy(), int(self.versions[worker]), *locked)
        finally:
            self._let_go(held)

    def snapshot(self):
        """A copy of every model, taken with every lock held (in increasing order)."""
        held = [lock for lock in self.locks if lock.acquire(timeout=LOCK_GRACE)]
        try:
            return self.models.copy()
        finally:
            for lock in reversed(held):
                lock.release()

    def _hold(self, workers, stopped):
        """Take the locks of ``workers`` (in increasing order: no deadlock); the
        locks held, or None (and none held) if the run stopped meanwhile."""
        held = []
        for w in workers:
            while not self.locks[w].acquire(timeout=POLL):
                if stopped():
                    self._let_go(held)
                    return None
            held.append(self.locks[w])
        return held

    @staticmethod
    def _let_go(held):
        for lock in reversed(held):
            lock.release()


class GossipChannel(LockFreeChannel):
    """The budget in chunks and the evaluation points, as under Hogwild!; the
    model is the worker's own row instead of one shared vector."""

    def begin(self):
        grant, _, _ = super().begin()
        return grant


def gossip_life(worker, config, link, board, batches, slowdown, now, peers, messages):
    """One worker's life under gossip: compute on its own model, then exchange
    with a neighbour (averaging, and its own step) under both locks."""
    record, stopped, n = link.log.record, link.stopped, config.workers
    channel = GossipChannel(worker, link, None, board, config, now)
    neighbours = Neighbours(worker, n, config.topology, neighbour_streams(config.seed, n)[worker])
    heavy_ball, nbytes = HeavyBall(config.momentum), config.problem.nbytes
    talks = not messages.instant

    def hold():
        """The exchange's message on both links, once both locks are held."""
        locked = now()
        if talks:
            pause(messages.message_time(nbytes), stopped)
        return locked, now()

    mine = peers.read(worker, stopped)
    computed = 0
    while mine is not None and not stopped() and channel.begin():
        params, version = mine
        grad = compute(worker, config, config.problem.gradient, params, batches, slowdown, now,
                       record, version, stopped)
        computed += 1
        board.set_computed(worker, computed)
        neighbour, ready = neighbours.next(), now()
        done = peers.exchange(worker, neighbour, heavy_ball.step(grad, config.lr), version, hold,
                              stopped)
        if done is None:
            return
        staleness, *mine, locked, held = done
        if talks and neighbour is not None:
            if locked > ready:
                record(worker, QUEUE, ready, locked)      # until both links were free
            record(worker, PUSH, locked, held, version)
            record(neighbour, FETCH, locked, held, version)
        record(worker, APPLY, held, now(), version, staleness)
        channel.counted(board.updates())
