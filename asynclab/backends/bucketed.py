"""Gradient buckets on real workers (threads or processes): ``overlap=True``
under sync, backup:B and local:H. (Under allreduce each bucket is its own
ring all-reduce: :mod:`.ring`.)

As on the simulated cluster (:mod:`asynclab.buckets`), a gradient's compute
time c is a forward pass (1 - β)c and a backward pass βc, and its K parts are
ready at f + b·k/K. The real gradient is computed first, at once; the rest of
its time, the injected delay (``delay``, ``speeds``, ``straggler``), is slept
in pieces (:func:`backward_in_buckets`), and at each part's ready time the
part goes to a background sender (a thread of the worker's own), which sends
it as soon as the part before it has gone: it sleeps the part's injected
message time, latency + S/(K·bandwidth). Once the last part has gone, the
worker pushes the update itself, through its link as without overlap, so
the link records that push and any queue for the server. The pull of the
next step's parameters is not overlapped: the forward pass needs them.

The sender's parts are recorded as ``send`` (the timeline's thin background
lane); the time from the end of the computation until the server has the
update is the worker's own push (exposed transfer), as on the simulated
cluster.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..momentum import HeavyBall, local_step
from ..trace import COMPUTE, PULL, SEND
from .realtime import compute, pause, wire


def backward_in_buckets(buckets, start, slowdown, now, stopped, hand_over):
    """Play the rest of a gradient whose real computation began at ``start``
    and has just ended: its injected delay, slept up to each part's ready time,
    where ``hand_over(k)`` is called. A part whose ready time has passed (the
    real computation took longer) is handed over at once."""
    real = now() - start
    seconds = real + slowdown.seconds(real)
    for k, ready in enumerate(buckets.ready(seconds)):
        pause(start + ready - now(), stopped)
        hand_over(k)


def bucketed_life(worker, config, link, board, batches, slowdown, now, messages):
    """One worker's life under overlap with a step through the server: begin
    (perhaps at the barrier), pull, compute (the last gradient of a local:H
    step in buckets), push."""
    problem, record, stopped, buckets = config.problem, link.log.record, link.stopped, config.bucketed
    part_bytes = buckets.nbytes(problem.nbytes)
    heavy_ball = HeavyBall(config.momentum)    # this worker's velocity for local steps
    fail_after = dict(config.fail).get(worker)
    talks = not messages.instant or getattr(link, "transit", False)   # as in worker._life
    computed = 0

    def send_part():
        start = now()
        wire(messages, part_bytes, stopped)
        return start, now()

    if fail_after == 0:          # lost before its first gradient
        link.fail()
        return
    with ThreadPoolExecutor(1, thread_name_prefix=f"asynclab-sender-{worker}") as sender:
        while not stopped():
            grant, params, version = link.begin()
            if not grant:
                return
            if talks:
                wire(messages, problem.nbytes, stopped)
                record(worker, PULL, link.answered, now(), version)
            update, local, parts = None, params, []
            for step in range(grant):
                if step < grant - 1:
                    grad = compute(worker, config, problem.gradient, local, batches, slowdown, now,
                                   record, version, stopped)
                else:                # the last one's buckets go while it is computed
                    start = now()
                    grad = problem.gradient(local, batches.draw(config.batch))
                    backward_in_buckets(buckets, start, slowdown, now, stopped,
                                        lambda k: parts.append(sender.submit(send_part)))
                    record(worker, COMPUTE, start, now(), version)
                computed += 1
                board.set_computed(worker, computed)
                if computed == fail_after:
                    link.fail()
                    return
                if config.policy.local_steps > 1:
                    local, update = local_step(local, update, grad, config.lr, heavy_ball)
                else:
                    update = grad
            end = now()
            for job in parts:       # until the last part has gone: exposed transfer
                sent = job.result()
                if not messages.instant:
                    record(worker, SEND, *sent, version)
            link.push(update, version, end if talks else None)
