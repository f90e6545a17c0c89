"""The random streams of a run: every one a child of ``SeedSequence(seed)``.

A run draws from several independent streams, each for one purpose, so that
switching one feature on never changes the numbers another draws. Child k of
``SeedSequence(seed)`` is the same whether 2 or 6 children are spawned, so a
stream added later leaves the earlier ones, and every result that did not use
it, bit for bit as they were.

=====  ============  =====================================================
child  name          what it draws
=====  ============  =====================================================
0      minibatches   each worker's minibatch indices (one child per worker)
1      timing        compute times, stragglers, injected delays (per worker)
2      network       latencies drawn from a law (per worker)
3      compression   randk's coordinates, QSGD's rounding (per worker)
4      partition     how a non-IID split deals out the examples (one stream)
5      gossip        a worker's next neighbour on a complete graph (per worker)
=====  ============  =====================================================
"""
from __future__ import annotations

import numpy as np

STREAMS = ("minibatches", "timing", "network", "compression", "partition", "gossip")


def seed_of(seed: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` of a run with ``seed``."""
    return np.random.SeedSequence(seed).spawn(len(STREAMS))[STREAMS.index(name)]


def worker_seeds(seed: int, name: str, workers: int) -> list:
    """One SeedSequence per worker for stream ``name``."""
    return seed_of(seed, name).spawn(workers)


def generators(seed: int, name: str, workers: int) -> list:
    """One generator per worker for stream ``name``."""
    return [np.random.default_rng(s) for s in worker_seeds(seed, name, workers)]
