"""Pieces every backend shares: random streams, loss evaluation, the final Result."""
from __future__ import annotations

import functools
import math

import numpy as np

from ..compression import WorkerCompression, traffic_bytes
from ..network import MessageClock
from ..timing import Distribution
from ..results import History, Result, summarize
from ..streams import generators, worker_seeds

# Below this magnitude every parameter vector has a finite loss for the
# problems here (their losses grow at most like the square of the margins),
# so a backend that defers loss evaluation need not evaluate it to know.
SAFE_MAGNITUDE = 1e30


def worker_streams(seed: int, workers: int):
    """Independent generators for each worker: (minibatch streams, timing streams).

    Both come from one ``SeedSequence(seed)``, spawned per worker, so worker
    k draws the same minibatches whatever the other workers do and whichever
    backend runs it.
    """
    return generators(seed, "minibatches", workers), generators(seed, "timing", workers)


def message_clocks(config):
    """One MessageClock per worker: its messages' times on its own link, the
    latencies drawn from its own network stream.

    That stream is the run's ``network`` stream (:mod:`asynclab.streams`). A
    constant latency draws nothing: then every worker shares one clock, and no
    stream is made (with 100,000 workers, making them took a third of a run's set-up).
    """
    if not isinstance(config.latency, Distribution):
        return [MessageClock(config.latency, config.bandwidth)] * config.workers
    return [_message_clock(config, s) for s in _network_seeds(config)]


def message_clock(config, worker):
    """``message_clocks(config)[worker]``, without making the other workers' clocks."""
    if not isinstance(config.latency, Distribution):
        return MessageClock(config.latency, config.bandwidth)
    return _message_clock(config, _network_seeds(config)[worker])


def _network_seeds(config):
    return worker_seeds(config.seed, "network", config.workers)


def _message_clock(config, seed):
    return MessageClock(config.latency, config.bandwidth, np.random.default_rng(seed))


def worker_compression(config, worker):
    """What ``worker`` sends for its updates (:mod:`asynclab.compression`), drawing
    from its own ``compression`` stream (:mod:`asynclab.streams`)."""
    rng = None
    if config.compress.kind != "none":
        rng = np.random.default_rng(worker_seeds(config.seed, "compression", config.workers)[worker])
    return WorkerCompression(config.compress, config.error_feedback, config.problem.dim, rng)


def loss_diverged(problem, params, loss=None) -> bool:
    """The one divergence rule of every backend: the loss at a checkpoint is not
    finite. ``loss`` may be given; otherwise it is computed only if the
    parameters are not finite or large enough that it might not be."""
    if loss is None:
        if np.all(np.abs(params) <= SAFE_MAGNITUDE):    # False for NaN and infinity
            return False
        with np.errstate(all="ignore"):
            loss = problem.loss(params)
    return not math.isfinite(loss)


class Evaluator:
    """Evaluates the full loss about ``eval_points`` times over a run (and,
    for classification problems, the loss and accuracy on the validation
    and the test set).

    ``maybe`` is called after each update reaches the server, with the count
    of gradients arrived so far (an update of local:H carries H of them); it
    evaluates when that count crosses the next checkpoint, once however many
    it crossed. A loss that is NaN or infinite marks the run ``diverged``.

    ``view``, if given, turns what the backend passes into the parameters to
    evaluate, once per recorded point: under gossip the workers' models into
    their average (:class:`asynclab.gossip.Consensus`, which also measures
    their spread there).
    """

    def __init__(self, problem, budget, points, view=None):
        self.problem = problem
        self.view = view
        self.every = max(1, budget // (points - 1))
        self.next = self.every
        self.history = History()
        self.diverged = False
        self._last_version = None

    def record(self, time, version, gradients, params):
        self._last_version = (version, gradients)
        if self.view is not None:
            params = self.view(params)
        self._evaluate(time, version, gradients, params)

    def _evaluate(self, time, version, gradients, params):
        with np.errstate(all="ignore"):
            loss = self.problem.loss(params)
            held_out = [self.problem.held_out(params, part) for part in ("test", "validation")]
        if not math.isfinite(loss):     # what a diverged model predicts means nothing
            held_out = [None if scores is None else (math.nan, math.nan) for scores in held_out]
        self.history.record(time, version, gradients, loss, *held_out)
        if loss_diverged(self.problem, params, loss):
            self.diverged = True

    def maybe(self, time, version, arrived, gradients, params):
        if arrived >= self.next:
            self.next += self.every * ((arrived - self.next) // self.every + 1)
            self.record(time, version, gradients, params)

    def finish(self, time, version, gradients, params):
        if self._last_version != (version, gradients) and not self.diverged:
            self.record(time, version, gradients, params)


def progress_bar(config, backend):
    """A bar over the run's gradient budget, or None when ``config.progress`` is off."""
    return new_bar(config.progress, total=config.gradients, desc=f"{config.policy} ({backend})",
                   unit="gradient")


def new_bar(progress, *, total, desc, unit):
    """A tqdm.auto bar (a widget in Jupyter, text on stderr in a terminal), or None
    when ``progress`` is False. True shows it at once; a number of seconds shows
    it only once the work has lasted that long, so short work shows none."""
    if not progress:
        return None
    return _bar_class()(total=total, desc=desc, unit=unit,
                        delay=0 if progress is True else progress)


@functools.cache
def _bar_class():
    from tqdm.auto import tqdm

    class Bar(tqdm):
        """tqdm.auto's bar, except that a delayed bar whose work outlasted the delay
        is drawn when it closes. (tqdm draws only on an update at least
        ``mininterval`` after the last drawing, so work of many quick updates that
        all came within that time showed no bar at all.)"""

        def close(self):
            if not self.disable and self.delay > 0:
                now = self._time()
                if self.last_print_t < self.start_t + self.delay <= now:
                    self.last_print_t = now        # close() then draws the final bar
            super().close()

    return Bar


def show_progress(bar, done):
    """Move ``bar`` (or None) to ``done`` gradients."""
    if bar is not None:
        bar.update(done - bar.n)


def make_result(config, trace, evaluator, *, time, updates, gradients, failed, params,
                pulls, pushes, nodes=(), lost_nodes=(), client_drift=None,
                consensus_distance=None):
    """The Result; ``pulls`` and ``pushes`` count the messages sent (allreduce:
    ``updates`` counts its all-reduce steps), which give the bytes sent."""
    pushed, pulled = traffic_bytes(config, pulls=pulls, pushes=pushes, steps=updates)
    summary = summarize(config, trace, evaluator.history, time=time, updates=updates,
                        gradients=gradients, diverged=evaluator.diverged, failed=failed,
                        bytes_pushed=pushed, bytes_pulled=pulled,
                        nodes=nodes, lost_nodes=lost_nodes, client_drift=client_drift,
                        consensus_distance=consensus_distance)
    return Result(config=config, summary=summary, history=evaluator.history,
                  trace=trace, params=params)
