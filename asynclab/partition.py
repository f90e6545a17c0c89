"""How the training data is split among the workers: ``Config(partition=...)``.

* ``iid`` (the default): every worker draws its minibatches from all the
  training data (:meth:`Problem.sample`), as before, bit for bit.
* ``dirichlet:ALPHA`` (Hsu, Qi & Brown 2019), classification problems: worker
  w's label distribution is drawn from Dir(ALPHA·p), p the classes' shares of
  the training data, and its examples are drawn class by class from that
  distribution, without replacement, until it holds its equal share (when a
  class runs out, its weight goes to the classes left). Small ALPHA (0.1):
  each worker holds one or two classes; large ALPHA (100): close to iid.
* ``shards:K`` (McMahan et al. 2017, the "pathological" non-IID split),
  classification problems: the training examples are sorted by label, cut
  into N·K equal shards, and each worker is dealt K of them at random; with
  K = 2 most workers see two classes only.

A partition is one small piece every backend uses the same way: each worker
draws its minibatches uniformly, with replacement, from its own part of the
data (:class:`Minibatches`). The split is drawn from the run's seed, from a
stream of its own (so the minibatch and timing streams are unchanged), and
is the same on every backend. With ``local:H`` a non-IID partition is FedAvg
on non-IID clients; ``Summary.client_drift`` measures what it does to the
local models (:mod:`asynclab.drift`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .streams import seed_of

PARTITION_FORMS = ("iid, dirichlet:ALPHA (ALPHA a number > 0) or shards:K (K a whole "
                   "number >= 1)")


@dataclass(frozen=True)
class Partition:
    kind: str = "iid"            # "iid", "dirichlet" or "shards"
    value: float | int | None = None     # ALPHA, or K

    def __str__(self):
        return self.kind if self.value is None else f"{self.kind}:{self.value:g}"

    @property
    def iid(self) -> bool:
        return self.kind == "iid"

    def check(self, problem, workers):
        """ValueError (one line) if this split cannot be made for ``problem``
        among ``workers``."""
        if self.iid:
            return
        if not problem.classification:
            raise ValueError(f"partition {str(self)!r} splits the data by label: it needs a "
                             f"classification problem (logistic, sparse-logistic, mlp), not "
                             f"{problem.name!r}; allowed there: iid")
        examples = problem.train_examples
        pieces = workers * self.value if self.kind == "shards" else workers
        if pieces > examples:
            what = (f"{workers} workers x {self.value} shards = {pieces} shards" if
                    self.kind == "shards" else f"{workers} workers (one example each at least)")
            raise ValueError(f"partition {str(self)!r}: {what} but the problem has only "
                             f"{examples} training examples")

    def parts(self, problem, workers, seed):
        """Each worker's training examples (sorted indices), or None under iid."""
        if self.iid:
            return None
        rng = np.random.default_rng(seed_of(seed, "partition"))
        _, label = np.unique(problem.train_labels, return_inverse=True)
        if self.kind == "shards":
            return _shards(label, workers, self.value, rng)
        return _dirichlet(label, workers, self.value, rng)


def parse_partition(spec) -> Partition:
    """A Partition from an instance or a string such as ``"dirichlet:0.5"``."""
    if isinstance(spec, Partition):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"partition must be {PARTITION_FORMS}, got {spec!r}")
    if spec == "iid":
        return Partition()
    kind, _, arg = spec.partition(":")
    try:
        value = float(arg)
    except ValueError:
        value = math.nan
    if kind == "dirichlet" and math.isfinite(value) and value > 0:
        return Partition(kind, value)
    if kind == "shards" and value >= 1 and value == int(value) and math.isfinite(value):
        return Partition(kind, int(value))
    raise ValueError(f"partition must be {PARTITION_FORMS}, got {spec!r}")


class Minibatches:
    """One worker's minibatches: drawn from its random stream ``rng`` out of its
    ``part`` of the training data (None: all of it, exactly as Problem.sample)."""

    def __init__(self, problem, rng, part=None):
        self.problem, self.rng, self.part = problem, rng, part

    def draw(self, batch) -> np.ndarray:
        """Indices of one minibatch of ``batch`` examples, with replacement."""
        if self.part is None:
            return self.problem.sample(self.rng, batch)
        return self.part[self.rng.integers(0, len(self.part), size=batch)]


def minibatches(config, rngs) -> list:
    """Every worker's Minibatches: worker w draws from ``rngs[w]`` (its minibatch
    stream, asynclab.backends.base.worker_streams) out of its part of the data."""
    parts = config.partition.parts(config.problem, config.workers, config.seed)
    return [Minibatches(config.problem, rng, None if parts is None else parts[w])
            for w, rng in enumerate(rngs)]


def _sizes(examples, workers):
    """Equal shares of ``examples``, the first ones one larger."""
    share, extra = divmod(examples, workers)
    return [share + (w < extra) for w in range(workers)]


def _shards(label, workers, k, rng):
    order = np.argsort(label, kind="stable")           # by label, then by index
    shards = np.array_split(order, workers * k)
    dealt = rng.permutation(workers * k)
    return [np.sort(np.concatenate([shards[s] for s in dealt[w * k:(w + 1) * k]]))
            for w in range(workers)]


def _dirichlet(label, workers, alpha, rng):
    classes = label.max() + 1
    pools = [rng.permutation(np.flatnonzero(label == c)) for c in range(classes)]
    left = np.array([len(pool) for pool in pools])
    taken = np.zeros(classes, dtype=int)
    prior = left / left.sum()
    parts = []
    for need in _sizes(len(label), workers):
        wanted = np.nan_to_num(rng.dirichlet(alpha * prior))   # this worker's label shares
        mine = []
        while need:
            weights = np.where(left > 0, wanted, 0.0)
            if not weights.sum() > 0:             # its classes ran out: any class left
                weights = (left > 0).astype(float)
            counts = np.minimum(rng.multinomial(need, weights / weights.sum()), left)
            mine += [pools[c][taken[c]:taken[c] + counts[c]] for c in np.flatnonzero(counts)]
            taken, left, need = taken + counts, left - counts, need - counts.sum()
        parts.append(np.sort(np.concatenate(mine)))
    return parts
