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
wait, and the part in which it queues for the server as queue, as on the
simulated cluster; the rest as a push (its own messages, not hidden). The
sender records its messages as ``send`` and ``fetch`` (without its parked or
queued time), which the timeline draws on a thin second lane.

One difference from the simulated cluster: while the worker computes its
first gradient, the sender already asks for the second step and fetches
the parameters, an extra fetch the simulated sender does not make (there
the second gradient is computed on the first pull's parameters).

The sender talks to the server through ``link.quiet()``, the same link
recording only its waits and queues (:class:`~.realtime.SenderLog`). Its answers are
copied out of the link's buffer (a process worker's inbox is refilled by the
next answer) except under hogwild, where the parameters are the one shared
vector.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..trace import FETCH, PULL, PUSH, SEND, split
from .realtime import channel_of, compute, gradient_of, wire


def overlapped_life(worker, config, link, board, batches, slowdown, now, shared, messages,
                    outgoing):
    problem, record, stopped = config.problem, link.log.record, link.stopped
    lock_free, nbytes = config.policy.lock_free, problem.nbytes
    channel = channel_of(worker, config, link, board, now, shared)
    quiet = link.quiet()
    background = channel if lock_free else quiet
    gradient, fail_after = gradient_of(config), dict(config.fail).get(worker)

    def exchange(update, version):
        """The sender's job: push ``update`` (if any), then the next step's
        answer, and when it waited at a bound or queued for the server."""
        if update is not None:
            start = now()
            wire(messages, outgoing.nbytes, stopped)
            background.push(outgoing.send(update), version)
            record(worker, SEND, start, now(), version)
        start = now()
        grant, params, version = background.begin()
        marks = quiet.log.take()
        if grant:
            wire(messages, nbytes, stopped)
            params = params if lock_free else np.array(params)
            for a, b, kind in split(start, now(), marks, FETCH):
                if kind == FETCH:
                    record(worker, FETCH, a, b, version)
        return grant, params, version, marks

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
            grad = compute(worker, config, gradient, params, batches, slowdown, now, record,
                           version, stopped)
            computed += 1
            board.set_computed(worker, computed)
            if job.done():
                answer = job.result()
            else:        # its link is still busy (not hidden), or it waits at a bound or queues
                start = now()
                answer = job.result()
                for a, b, kind in split(start, now(), answer[3], PUSH):
                    record(worker, kind, a, b, version if kind == PUSH else -1)
            if computed == fail_after:
                link.fail()
                return
            job = sender.submit(exchange, grad, version)
            grant, fetched, fetched_version, _ = answer
            if not grant:
                break
            params, version = fetched, fetched_version
        job.result()                       # the last push goes out

