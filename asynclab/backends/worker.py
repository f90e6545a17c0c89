"""A worker on real hardware, the same on threads and on processes.

The worker is written as the sequence of things it does, like the simulated
one: begin a step (perhaps waiting for the server), pull, compute, push. What
differs between backends is the *link* to the server side, which the backend
supplies:

* ``link.begin() -> (grant, params, version)``: may I start? ``grant`` is how
  many gradients this step may compute (0: stop); blocks while parked.
  ``link.answered`` is when the answer left the server side: from then on
  the worker is pulling.
* ``link.push(update, version, start)``: hand an update to the parameter
  server; the link records the push, from ``start`` until the server has it.
* ``link.ask(want)``, ``link.granted() -> int`` and ``link.checkpoint()``:
  lock-free runs only (ask for a share of the budget; wait for the answer).
* ``link.log`` (a Trace, or anything with its ``record``), ``link.stopped()``
  and ``link.fail()``; ``link.quiet()``, the same link recording into a
  :class:`SenderLog` (for a background sender, which records its own messages).

Lock-free Hogwild! needs no server: :class:`~.realtime.LockFreeChannel`
computes on the one shared vector and writes into it. Under ``allreduce`` the
worker's life is :func:`~.ring.ring_life`, under ``gossip``
:func:`~.peers.gossip_life`; under ``overlap``
:func:`~.bucketed.bucketed_life` for a policy with a step (sync, backup:B,
local:H) and :func:`~.sender.overlapped_life` for the others; the pieces all
of them use are in :mod:`.realtime`.
"""
from __future__ import annotations

import numpy as np

from ..momentum import HeavyBall, local_step
from ..trace import PULL
from .base import message_clock, worker_compression
from .bucketed import bucketed_life
from .peers import gossip_life
from .realtime import channel_of, compute, gradient_of, wire
from .ring import ring_life
from .sender import overlapped_life


def work(worker, config, link, board, batches, slowdown, now, shared=None, buffers=None):
    """One worker's life. ``board`` holds the run's counters, ``batches`` draws
    its minibatches (:class:`~asynclab.partition.Minibatches`), ``shared`` is the
    parameter vector of a lock-free run (and of worker 0 under allreduce; the
    :class:`~.peers.PeerModels` under gossip), ``buffers`` the rows of the ring
    all-reduce."""
    messages = message_clock(config, worker)     # its messages' injected times
    outgoing = worker_compression(config, worker)  # what its pushes carry, and their bytes
    with np.errstate(over="ignore", invalid="ignore"):   # divergence is reported, not warned
        if config.policy.ring:
            ring_life(worker, config, link, board, batches, slowdown, now, shared, buffers,
                      messages, outgoing)
        elif config.policy.gossip:   # (compress is refused here: see asynclab.compression)
            gossip_life(worker, config, link, board, batches, slowdown, now, shared, messages)
        elif config.bucketed:      # (compress is refused here: see asynclab.compression)
            bucketed_life(worker, config, link, board, batches, slowdown, now, messages)
        elif config.overlap:
            overlapped_life(worker, config, link, board, batches, slowdown, now, shared, messages,
                            outgoing)
        else:
            _life(worker, config, link, board, batches, slowdown, now, shared, messages, outgoing)


def _life(worker, config, link, board, batches, slowdown, now, shared, messages, outgoing):
    problem, record, stopped = config.problem, link.log.record, link.stopped
    channel = channel_of(worker, config, link, board, now, shared)
    gradient, nbytes = gradient_of(config), problem.nbytes
    heavy_ball = HeavyBall(config.momentum)    # this worker's velocity for local steps
    fail_after = dict(config.fail).get(worker)
    # Messages are recorded if they take time: injected, or through a pipe. A
    # lock-free worker's channel is the shared vector, not its link's pipe.
    talks = not messages.instant or getattr(channel, "transit", False)
    computed = 0
    if fail_after == 0:          # lost before its first gradient
        link.fail()
        return
    while not stopped():
        grant, params, version = channel.begin()
        if not grant:
            return
        if talks:
            wire(messages, nbytes, stopped)
            record(worker, PULL, channel.answered, now(), version)
        # Compute: one gradient, or up to local_steps of them on a private copy.
        update, local = None, params
        for step in range(grant):
            grad = compute(worker, config, gradient, local, batches, slowdown, now, record, version,
                           stopped)
            computed += 1
            board.set_computed(worker, computed)
            if computed == fail_after:
                link.fail()
                return
            if config.policy.local_steps > 1:
                local, update = local_step(local, update, grad, config.lr, heavy_ball)
            else:
                update = grad
        start = now() if talks else None
        wire(messages, outgoing.nbytes, stopped)
        channel.push(outgoing.send(update), version, start)
