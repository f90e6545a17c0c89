"""Overlapping communication with computation on real workers (``overlap=True``).

As in Downpour SGD (Dean et al. 2012) and as on the simulated cluster, a
worker hands each push to a background sender (a thread of its own) and
starts its next gradient at once, on the parameters it holds. The sender
sleeps the injected message time, pushes, asks the server for the next
step, which also brings the newest parameters (a fetch), and sleeps the
injected time again. The worker uses those parameters from its next
gradient on. At most one exchange is under way: a worker that finishes a
gradient while its sender is still busy waits for it, and that wait is
recorded as a push (its own messages, not hidden). The sender records its
messages as ``send`` and ``fetch``, which the timeline draws on a thin
second lane.

The sender talks to the server through ``link.quiet()``, the same link
without its own records. Its answers are copied out of the link's buffer (a
process worker's inbox is refilled by the next answer) except under
hogwild, where the parameters are the one shared vector.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..results import FETCH, PULL, PUSH, SEND
from .realtime import channel_of, compute, gradient_of, pause


def overlapped_life(worker, config, link, board, rng, slowdown, now, shared, messages):
    problem, record, stopped = config.problem, link.log.record, link.stopped
    lock_free, nbytes = config.policy.lock_free, problem.nbytes
    channel = channel_of(worker, config, link, board, now, shared)
    background = channel if lock_free else link.quiet()
    gradient, fail_after = gradient_of(config), dict(config.fail).get(worker)

    def wire():
        if not messages.instant:
            pause(messages.message_time(nbytes), stopped)

    def exchange(update, version):
        """The sender's job: push ``update`` (if any), then the next step's answer."""
        if update is not None:
            start = now()
            wire()
            background.push(update, version)
            record(worker, SEND, start, now(), version)
        start = now()
        grant, params, version = background.begin()
        if grant:
            wire()
            params = params if lock_free else np.array(params)
            record(worker, FETCH, start, now(), version)
        return grant, params, version

    if fail_after == 0:
        link.fail()
        return
    grant, params, version = channel.begin()      # the first pull is in the foreground
    if not grant:
        return
    wire()
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
            else:                          # its link is still busy: wait, not hidden
                start = now()
                answer = job.result()
                record(worker, PUSH, start, now(), version)
            if computed == fail_after:
                link.fail()
                return
            job = sender.submit(exchange, grad, version)
            grant, fetched, fetched_version = answer
            if not grant:
                break
            params, version = fetched, fetched_version
        job.result()                       # the last push goes out
