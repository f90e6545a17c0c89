"""How messages move on the simulated cluster (all times in seconds, sizes in bytes).

A *message* is one push or one pull of the parameter vector (``nbytes``), or
under gradient buckets one part of a push (:mod:`asynclab.buckets`).

* Every worker has its own **link**, which carries one message at a time:
  a message holds it for ``latency + nbytes / bandwidth``. ``latency`` is a
  constant or a law (``exp:0.05``), drawn per message from the worker's own
  network stream (:class:`MessageClock`); a constant draws nothing.
* The server has one shared **link** (``server_bandwidth``, default
  unlimited). Every push and pull of a server-based policy crosses it, first
  come first served: a message waits for it (*queue*), holds it for
  ``nbytes / server_bandwidth``, its bytes at the link's own rate, and
  arrives once its bytes have moved at the lower of the two bandwidths and
  its latency has passed (latency holds no shared link: it is not
  serialised). A server link no faster than the workers' links carries one
  message at a time; one k times as fast as a worker's link carries up to k
  at once, each at its worker's pace. That is also a server sharded over k
  machines with links like the workers': each shard's link carries S/k of
  every message, so k shards move N messages in ``N·S/(k·bandwidth)``.
* A **ring all-reduce** among N workers (``allreduce``) has no server: a
  reduce-scatter then an all-gather, 2(N-1) rounds in which every worker sends
  S/N bytes to its neighbour over its own link. (Compressed, it may all-gather
  the workers' compressed messages instead: :mod:`asynclab.compression`.) A round ends when its slowest
  message has arrived, so with a constant latency it takes
  ``2(N-1)·(latency + S/(N·bandwidth))`` (Thakur, Rabenseifner & Gropp 2005;
  Patarasuk & Yuan 2009). :func:`ring_sum` is the order in which the ring
  adds the gradients up, shared by the simulated and the real workers.

:class:`Link` is the one-message-at-a-time rule; :class:`Network` answers the
simulated backend's one question: when does this message start moving, and
when does it arrive.
"""
from __future__ import annotations

import math

import numpy as np

from .timing import Distribution

LATENCY_FORMS = ("a number of seconds >= 0, or a law const:MEAN, exp:MEAN or "
                 "lognormal:MEAN:SIGMA (MEAN > 0)")


def parse_latency(spec):
    """A constant latency (a float) or a law (a Distribution); ``const:X`` is the float X."""
    if isinstance(spec, Distribution):
        law = spec
    else:
        try:
            if isinstance(spec, bool):
                raise TypeError
            seconds = float(spec)          # a number, or a string holding one
        except (TypeError, ValueError):
            seconds = None
        if seconds is not None:
            if not (math.isfinite(seconds) and seconds >= 0):
                raise ValueError(f"latency must be {LATENCY_FORMS}, got {spec!r}")
            return seconds
        try:
            law = Distribution.parse(spec)
        except ValueError:
            raise ValueError(f"latency must be {LATENCY_FORMS}, got {spec!r}") from None
    return law.mean if law.kind == "const" else law


class MessageClock:
    """Seconds one worker's messages take on its link: latency + bytes / bandwidth.

    A latency law is drawn one message at a time from the worker's own stream
    ``rng``, in the order the worker sends its messages.
    """

    def __init__(self, latency, bandwidth, rng=None):
        self.law = latency if isinstance(latency, Distribution) else None
        self.constant = 0.0 if self.law else latency
        self.bandwidth, self.rng = bandwidth, rng

    @property
    def instant(self) -> bool:
        """True if every message takes no time at all."""
        return self.law is None and self.constant == 0 and math.isinf(self.bandwidth)

    def latency(self) -> float:
        return self.constant if self.law is None else float(self.law.draw(self.rng, 1)[0])

    def latencies(self, count) -> np.ndarray:
        """The latencies of the next ``count`` messages (the same draws, in order)."""
        if self.law is None:
            return np.full(count, self.constant)
        return self.law.draw(self.rng, count)

    def message_time(self, nbytes) -> float:
        return self.latency() + nbytes / self.bandwidth


class Link:
    """A link that takes messages one after another, first come first served,
    each holding it for the seconds it asks for.

    Requests must come in the order of their ``ready`` times (the event loop
    makes them in time order), so reserving the next free slot at request
    time is first come, first served.
    """

    def __init__(self):
        self.free_at = 0.0     # when the last message reserved so far lets go of it

    def reserve(self, ready, hold) -> float:
        """Reserve the link for ``hold`` seconds from ``ready`` on; returns the start."""
        start = max(ready, self.free_at)
        self.free_at = start + hold
        return start


class Network:
    """The links of a simulated run.

    ``server_bandwidth`` is that of the server's shared link (inf: no shared
    link, every worker has its own path to the server, as before).
    """

    def __init__(self, timing, nbytes, clocks, server_bandwidth=math.inf, push_nbytes=None):
        self.nbytes, self.clocks = nbytes, clocks
        # A push may be smaller than a pull (compressed: asynclab.compression).
        self.push_nbytes = nbytes if push_nbytes is None else push_nbytes
        self.bandwidth, self.server_bandwidth = timing.bandwidth, server_bandwidth
        self.server = Link() if math.isfinite(server_bandwidth) else None
        # Seconds a message's bytes take through both links: the slower one sets the pace.
        self.transfer = nbytes / min(timing.bandwidth, server_bandwidth)
        # Seconds a message holds the server's link: its bytes at the link's own rate
        # (the same as ``transfer`` unless the server's link is the faster one).
        self.hold = nbytes / server_bandwidth
        constant = not isinstance(timing.latency, Distribution)
        # The one message time of the default model (nothing varies, nothing queues),
        # computed as before so that default runs keep their numbers bit for bit.
        self.fixed = (timing.latency + nbytes / timing.bandwidth
                      if constant and self.server is None else None)
        self.fixed_push = (timing.latency + self.push_nbytes / timing.bandwidth
                           if self.fixed is not None else None)

    def send(self, worker, ready, nbytes=None):
        """A message of ``worker`` ready at ``ready``: (start, end), when its
        bytes start moving (after any queue for the server's link) and when it
        has arrived. ``nbytes``: a part of a message (default: a whole one)."""
        transfer, hold = self.transfer, self.hold
        if nbytes is not None:
            transfer = nbytes / min(self.bandwidth, self.server_bandwidth)
            hold = nbytes / self.server_bandwidth
        latency = self.clocks[worker].latency()
        start = ready if self.server is None else self.server.reserve(ready, hold)
        return start, start + transfer + latency

    def allreduce(self, workers, nbytes=None, gathered=None):
        """Seconds of one ring all-reduce among ``workers`` of ``nbytes``
        (default: the whole vector): (reduce-scatter, all-gather).

        Each of the 2(N-1) rounds lasts as long as its slowest message; every
        worker draws its latency for each round from its own stream. With
        ``gathered`` (bytes of each worker's compressed message, see
        :func:`asynclab.compression.gathered_bytes`) the ring all-gathers those
        messages instead: N - 1 rounds of one message each, ``(seconds, 0.0)``.
        """
        rounds = workers - 1
        if rounds == 0:
            return 0.0, 0.0
        if gathered is None:
            count, each = 2 * rounds, (self.nbytes if nbytes is None else nbytes) / (
                workers * self.bandwidth)
        else:
            count, each = rounds, gathered / self.bandwidth
        if self.clocks[0].law is None:        # every round takes the same time
            seconds = rounds * (self.clocks[0].constant + each)
            return (seconds, seconds) if gathered is None else (seconds, 0.0)
        slowest = np.max([clock.latencies(count) for clock in self.clocks], axis=0)
        times = slowest + each
        if gathered is not None:
            return float(times.sum()), 0.0
        return float(times[:rounds].sum()), float(times[rounds:].sum())


def ring_time(workers, latency, nbytes, bandwidth):
    """Seconds of a ring all-reduce with a constant latency: 2(N-1)(latency + S/(N·bandwidth))."""
    return 2 * (workers - 1) * (latency + nbytes / (workers * bandwidth))


def ring_chunks(dim, workers):
    """The slices a ring all-reduce cuts a vector of ``dim`` into, one per worker."""
    bounds = np.linspace(0, dim, workers + 1).astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def ring_sum(gradients):
    """The sum of ``gradients`` (one array per worker, in worker order) added up
    in the order a ring all-reduce adds them.

    In round r of the reduce-scatter, worker i adds chunk (i - 1 - r) mod N
    received from worker i - 1 to its own. So chunk c starts at worker c and
    collects the gradients of workers c+1, c+2, ... in turn. The real ring
    (:mod:`asynclab.backends.ring`) performs the same additions, so both give
    the same bits.
    """
    n, dim = len(gradients), len(gradients[0])
    stacked = np.asarray(gradients)
    # chunk[i]: the chunk coordinate i belongs to; its j-th term comes from worker chunk + j.
    chunk = np.zeros(dim, dtype=np.intp)
    for c, part in enumerate(ring_chunks(dim, n)):
        chunk[part] = c
    coordinates = np.arange(dim)
    total = stacked[chunk, coordinates]
    for j in range(1, n):
        total += stacked[(chunk + j) % n, coordinates]
    return total
