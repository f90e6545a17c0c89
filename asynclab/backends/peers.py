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


class PeerModels:
    """The models of a gossip run, their versions and their locks (see the module)."""

    def __init__(self, models, versions, locks):
        self.models, self.versions, self.locks = models, versions, locks

    def read(self, worker):
        """A copy of ``worker``'s model and its version."""
        with self.locks[worker]:
            return self.models[worker].copy(), int(self.versions[worker])

    def exchange(self, worker, neighbour, step, version_read, hold):
        """One atomic gossip step (:func:`asynclab.gossip.exchange`): both
        locks, ``hold()`` (the message time), average, step. Returns the
        staleness, the new model's copy and version, and when the locks were
        held and let go (``now``-seconds, for the trace)."""
        pair = [worker] if neighbour is None else sorted((worker, neighbour))
        for w in pair:                      # lower id first: no deadlock
            self.locks[w].acquire()
        try:
            locked = hold()
            staleness = exchange(self.models, self.versions, worker, neighbour, step, version_read)
            return (staleness, self.models[worker].copy(), int(self.versions[worker]), *locked)
        finally:
            for w in reversed(pair):
                self.locks[w].release()

    def snapshot(self):
        """A copy of every model, taken with every lock held (in increasing order)."""
        for lock in self.locks:
            lock.acquire()
        try:
            return self.models.copy()
        finally:
            for lock in reversed(self.locks):
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

    params, version = peers.read(worker)
    computed = 0
    while not stopped() and channel.begin():
        grad = compute(worker, config, config.problem.gradient, params, batches, slowdown, now,
                       record, version, stopped)
        computed += 1
        board.set_computed(worker, computed)
        neighbour, ready = neighbours.next(), now()
        staleness, params, new_version, locked, held = peers.exchange(
            worker, neighbour, heavy_ball.step(grad, config.lr), version, hold)
        if talks and neighbour is not None:
            record(worker, QUEUE, ready, locked)      # until both links were free
            record(worker, PUSH, locked, held, version)
            record(neighbour, FETCH, locked, held, version)
        record(worker, APPLY, held, now(), version, staleness)
        channel.counted(board.updates())
        version = new_version
