"""Sending fewer bytes: compressed pushes, error feedback, and what every message costs.

``compress`` says what a worker sends for its update (a push to the server, or
its part of an all-reduce); pulls of the parameters stay dense.

* ``none``: the dense vector, 8 bytes per coordinate (float64, ``problem.nbytes``).
* ``topk:F``: the k = ceil(F·d) coordinates of largest magnitude, each as a value
  (8 bytes, float64 like a dense coordinate) and an index (4 bytes, uint32):
  12 bytes per kept coordinate, or the dense 8·d if that is fewer (F > 2/3).
* ``randk:F``: k = ceil(F·d) coordinates drawn at random, unscaled (a contraction,
  as in Stich et al. 2018). The receiver draws the same coordinates from the
  worker's stream (a seed shared when the run starts), so only the values go:
  8 bytes per kept coordinate.
* ``qsgd:s``: QSGD (Alistarh et al. 2017): every coordinate rounded at random to
  one of s levels of the vector's norm, unbiased; ceil(log2(2s+1)) bits per
  coordinate (its sign and level) plus the norm (8 bytes), or 8·d if that is fewer.

Each form is a compressor, ``compress(vector, rng) -> (dense reconstruction,
bytes)``; the reconstruction is what the receiver adds up. Every worker has its
own :class:`WorkerCompression`: its compressor, its random stream and its
**error feedback** memory (Seide et al. 2014; Stich et al. 2018; Karimireddy et
al. 2019): what it did not send is added to its next update, so nothing is lost,
only delayed. ``error_feedback=False`` drops it instead. By default (None) it is
on for top-k and random-k, biased compressors that need it, and off for QSGD:
unbiased, it needs none, and its error can be larger than the vector itself
(by up to min(d/s², √d/s) in square norm), so that a memory of it grows
without bound (50 parameters, 2 levels: losses of 1e3 to 5e8, whatever the
learning rate); ``error_feedback=True`` turns it on all the same.

Every backend's push path calls ``WorkerCompression.send``; the message sizes
(:func:`message_sizes`) time the messages and count ``bytes_sent``. Under
``allreduce`` (:func:`gathered_bytes`) the workers all-gather their compressed
messages round the ring and each adds them up (as SparCML, Renggli et al. 2019,
does for sparse vectors) when that sends fewer bytes than the dense ring.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

VALUE_BYTES = 8      # one value: float64, as a coordinate of a dense message
INDEX_BYTES = 4      # one coordinate's index: uint32 (limits keep d below 2**32)
NORM_BYTES = 8       # QSGD's norm: one float64
MAX_LEVELS = 65536
FORMS = (f"none, topk:F or randk:F (F in (0, 1], the share of coordinates sent), or "
         f"qsgd:LEVELS (a whole number from 1 to {MAX_LEVELS})")


@dataclass(frozen=True)
class Compression:
    """A compression form, parsed from ``"none"``, ``"topk:0.01"``, ``"randk:0.1"``
    or ``"qsgd:4"`` (:func:`parse_compression`)."""
    kind: str = "none"
    fraction: float = 1.0     # topk, randk: the share of coordinates sent
    levels: int = 0           # qsgd: s, the levels of the norm

    def __str__(self):
        if self.kind == "qsgd":
            return f"qsgd:{self.levels}"
        if self.kind == "none":
            return "none"
        text = repr(self.fraction)
        return f"{self.kind}:{text[:-2] if text.endswith('.0') else text}"

    def kept(self, dim) -> int:
        """Coordinates a top-k or random-k message keeps: ceil(F·d), at least 1."""
        return min(dim, max(1, math.ceil(self.fraction * dim)))

    def nbytes(self, dim) -> float:
        """Bytes of one compressed message of a ``dim``-vector (see the module docstring)."""
        dense = VALUE_BYTES * dim
        if self.kind == "topk":
            return float(min(self.kept(dim) * (VALUE_BYTES + INDEX_BYTES), dense))
        if self.kind == "randk":
            return float(self.kept(dim) * VALUE_BYTES)
        if self.kind == "qsgd":
            bits = (2 * self.levels).bit_length()         # ceil(log2(2s + 1))
            return float(min(math.ceil(dim * bits / 8) + NORM_BYTES, dense))
        return float(dense)

    def error_feedback(self, asked) -> bool:
        """Whether workers keep an error-feedback memory: ``asked`` (True or
        False), or for None the default: on for topk and randk, off otherwise."""
        return self.kind in ("topk", "randk") if asked is None else asked and self.kind != "none"

    def compressor(self, dim):
        if self.kind == "topk":
            return TopK(self.kept(dim), self.nbytes(dim))
        if self.kind == "randk":
            return RandK(self.kept(dim), self.nbytes(dim))
        if self.kind == "qsgd":
            return QSGD(self.levels, self.nbytes(dim))
        return None


def parse_compression(spec) -> Compression:
    """A Compression from an instance or a string such as ``"topk:0.01"``."""
    if isinstance(spec, Compression):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"compress must be {FORMS}; got {spec!r}")
    if spec == "none":
        return Compression()
    kind, _, arg = spec.partition(":")
    try:
        if kind in ("topk", "randk"):
            fraction = float(arg)
            if 0 < fraction <= 1:
                return Compression(kind, fraction=fraction)
        elif kind == "qsgd" and arg.isdigit() and 1 <= int(arg) <= MAX_LEVELS:
            return Compression(kind, levels=int(arg))
    except ValueError:
        pass
    raise ValueError(f"compress must be {FORMS}; got {spec!r}")


def check_compression(config):
    """Policies and settings compression cannot go with (ValueError, one line)."""
    compression, policy = config.compress, config.policy
    if compression.kind == "none":
        return
    if policy.lock_free:
        raise ValueError(f"compress={str(compression)!r}: policy {policy.name!r} writes each "
                         "step into the shared parameters itself, with no receiver to decode "
                         "a compressed message; compress applies to sync, async, ssp:S, "
                         "backup:B, local:H and allreduce")
    if config.overlap and policy.aggregate:
        raise ValueError(f"compress={str(compression)!r} with overlap under {policy.name!r}: "
                         "overlap sends that policy's gradient in buckets while it is still "
                         "being computed, before a compressor could see all of it; compress "
                         "with overlap applies to async and ssp:S")


# -- the compressors: compress(vector, rng) -> (dense reconstruction, bytes) -------------
class TopK:
    """The k coordinates of largest magnitude (ties: numpy's argpartition decides)."""

    def __init__(self, k, nbytes):
        self.k, self.nbytes = k, nbytes

    def compress(self, vector, rng=None):
        if self.k >= len(vector):
            return vector, self.nbytes         # every coordinate: the vector itself
        return self._kept(vector, self.chosen(vector, rng)), self.nbytes

    def chosen(self, vector, rng):
        return np.argpartition(np.abs(vector), -self.k)[-self.k:]

    @staticmethod
    def _kept(vector, coordinates):
        """The vector with every other coordinate zero."""
        out = np.zeros_like(vector)
        out[coordinates] = vector[coordinates]
        return out


class RandK(TopK):
    """k coordinates drawn without replacement from ``rng``, unscaled."""

    def chosen(self, vector, rng):
        return rng.choice(len(vector), self.k, replace=False)


class QSGD:
    """Each coordinate |v_i|/‖v‖ rounded at random to one of the levels 0, 1/s, ..., 1,
    up with probability the remainder, so the expectation is v itself."""

    def __init__(self, levels, nbytes):
        self.levels, self.nbytes = levels, nbytes

    def compress(self, vector, rng):
        s = self.levels
        uniform = rng.random(len(vector))       # drawn whatever the vector, for a steady stream
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            return np.zeros_like(vector), self.nbytes
        with np.errstate(invalid="ignore"):     # a diverged vector stays NaN
            scaled = np.abs(vector) * (s / norm)
            level = np.floor(scaled)
            level += uniform < scaled - level
            return np.sign(vector) * level * (norm / s), self.nbytes


# -- one worker's compression ---------------------------------------------------------------
class ErrorFeedback:
    """A worker's memory of what it computed but did not send: ``residual``
    (None until the first send). The sum of what it sent plus the residual is
    the sum of its updates (to rounding)."""

    def __init__(self):
        self.residual = None

    def corrected(self, update):
        """The update plus what earlier messages left out."""
        return update if self.residual is None else update + self.residual

    def remember(self, corrected, sent):
        self.residual = corrected - sent


class WorkerCompression:
    """What one worker sends for its updates: ``send(update)`` returns the dense
    reconstruction the receiver adds up; ``nbytes`` is each message's size.
    Randomness (randk's coordinates, QSGD's rounding) comes from ``rng``, the
    worker's own compression stream. With ``compress="none"`` the update goes
    as it is (the same array)."""

    def __init__(self, compression, error_feedback, dim, rng):
        self.compressor = compression.compressor(dim)
        self.nbytes = compression.nbytes(dim)
        self.rng = rng
        self.memory = ErrorFeedback() if compression.error_feedback(error_feedback) else None

    def send(self, update):
        if self.compressor is None:
            return update
        if self.memory is None:
            return self.compressor.compress(update, self.rng)[0]
        corrected = self.memory.corrected(update)
        sent, _ = self.compressor.compress(corrected, self.rng)
        self.memory.remember(corrected, sent)
        return sent


# -- what messages cost -------------------------------------------------------------------
def gathered_bytes(compression, dim, workers) -> float | None:
    """Under allreduce: the bytes of each worker's compressed message when the
    ring all-gathers them, N - 1 rounds of one message each (every worker then
    adds the N reconstructions up), or None when the dense ring's 2(N-1) rounds
    of S/N bytes send fewer: the all-gather sends (N-1)·m bytes per worker, so
    it is chosen when m·N < 2·S. ``topk:1`` (m = S) always keeps the dense ring."""
    m, dense = compression.nbytes(dim), VALUE_BYTES * dim
    return m if compression.kind != "none" and m * workers < 2 * dense else None


@dataclass(frozen=True)
class MessageSizes:
    pull: float      # bytes of one pull (or fetch) of the parameters: dense
    push: float      # bytes of one push of an update: compressed
    ring: float      # allreduce: bytes one worker sends in one step's all-reduce
    gathered: float | None    # allreduce: the all-gathered message's bytes, or None (dense ring)


def message_sizes(config) -> MessageSizes:
    dim, n = config.problem.dim, config.workers
    dense, compression = float(config.problem.nbytes), config.compress
    gathered = gathered_bytes(compression, dim, n)
    ring = (n - 1) * gathered if gathered is not None else 2 * (n - 1) * dense / n
    return MessageSizes(dense, compression.nbytes(dim), ring, gathered)


def traffic_bytes(config, *, pulls, pushes, steps) -> tuple:
    """``(bytes_pushed, bytes_pulled)`` of a run that made ``pulls`` pulls and
    ``pushes`` pushes, or under allreduce ``steps`` all-reduce steps (every
    worker sends its ring messages each step). Pushed: every message carrying
    updates (pushes, ring messages); pulled: every pull or fetch of parameters."""
    sizes = message_sizes(config)
    if config.policy.ring:
        return steps * config.workers * sizes.ring, 0.0
    return pushes * sizes.push, pulls * sizes.pull
