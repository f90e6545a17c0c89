"""Overlapping communication with computation on real workers (``overlap=True``).

As in Downpour SGD (Dean et al. 2012) and as on the simulated cluster, a
worker hands each push to a background sender (a thread of its own) and
starts its next gradient at once, on the parameters it holds. The sender
sleeps the injected message time, pushes, asks the server for the next
step, which also brings the newest parameters (a fetch), and sleeps the
injected time again. The worker uses those parameters from its next
gradient on. At most one exchange is under way: a worker that finishes a
gradient while its sender is still busy waits for it. The part of that
wait in which the sender is parked at a staleness bound is recorded as a
wait, as the simulated worker's wait at the bound is; the rest as a push
(its own messages, not hidden). The sender records its messages as ``send``
and ``fetch`` (without its parked time), which the timeline draws on a thin
second lane.

One difference from the simulated cluster: while the worker computes its
first gradient, the sender already asks for the second step and fetches
the parameters, an extra fetch the simulated sender does not make (there
the second gradient is computed on the first pull's parameters).

The sender talks to the server through ``link.quiet()``, the same link
recording only its waits (:class:`~.realtime.SenderLog`). Its answers are
copied out of the link's buffer (a process worker's inbox is refilled by the
next answer) except under hogwild, where the parameters are the one shared
vector.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..trace import FETCH, PULL, PUSH, SEND, WAIT
from .realtime import channel_of, compute, gradient_of, wire


def overlapped_life(worker, config, link, board, rng, slowdown, now, shared, messages):
    problem, record, stopped = config.problem, link.log.record, link.stopped
    lock_free, nbytes = config.policy.lock_free, problem.nbytes
    channel = channel_of(worker, config, link, board, now, shared)
    quiet = link.quiet()
    background = channel if lock_free else quiet
    gradient, fail_after = gradient_of(config), dict(config.fail).get(worker)

    def exchange(update, version):
        """The sender's job: push ``update`` (if any), then the next step's
        answer, and when it waited for it at a bound (None: it did not)."""
        if update is not None:
            start = now()
            wire(messages, nbytes, stopped)
            background.push(update, version)
            record(worker, SEND, start, now(), version)
        start = now()
        grant, params, version = background.begin()
        waited = quiet.log.take_wait()
        if grant:
            wire(messages, nbytes, stopped)
            params = params if lock_free else np.array(params)
            for a, b in _outside(start, now(), waited):
                record(worker, FETCH, a, b, version)
        return grant, params, version, waited

    if fail_after == 0:
        link.fail()
        return
    grant, params, version = channel.begin()      # the first pull is in the foreground
    if not grant:
        return
    wire(messages, nbytes, stopped)
    record(worker, PULL, channel.answered, now(), version)
    params = params if lock_free else np.array(params)
    computed = 0
    with ThreadPoolExecutor(1, thread_name_prefix=f"asynclab-sender-{worker}") as sender:
        job = sender.submit(exchange, None, None)     # asks for the second step meanwhile
        while not stopped():
            grad = compute(worker, config, gradient, params, rng, slowdown, now, record,
                           version, stopped)
            computed += 1
            board.set_computed(worker, computed)
            if job.done():
                answer = job.result()
            else:        # its link is still busy (not hidden), or it is parked at a bound
                start = now()
                answer = job.result()
                _record_hand_over(record, worker, start, now(), answer[3], version)
            if computed == fail_after:
                link.fail()
                return
            job = sender.submit(exchange, grad, version)
            grant, fetched, fetched_version, _ = answer
            if not grant:
                break
            params, version = fetched, fetched_version
        job.result()                       # the last push goes out


def _outside(start, end, waited):
    """The parts of ``[start, end]`` outside the interval ``waited`` (or all of it)."""
    if waited is None:
        return [(start, end)]
    a, b = min(max(waited[0], start), end), min(max(waited[1], start), end)
    return [(x, y) for x, y in ((start, a), (b, end)) if y > x]


def _record_hand_over(record, worker, start, end, waited, version):
    """The worker waited from ``start`` to ``end`` for its sender: the part in
    which the sender was parked at a bound (``waited``) is a wait, the rest
    its own messages (a push)."""
    pieces = [(a, b, PUSH) for a, b in _outside(start, end, waited)]
    if waited is not None and min(waited[1], end) > max(waited[0], start):
        pieces.append((max(waited[0], start), min(waited[1], end), WAIT))
    for a, b, kind in sorted(pieces):
        record(worker, kind, a, b, version if kind == PUSH else -1)
