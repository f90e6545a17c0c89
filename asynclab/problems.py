"""Training problems: synthetic data, a full-data loss and a minibatch gradient.

Every problem is a frozen dataclass. Its data is generated from its own
``seed`` the first time it is needed (no downloads), so two problems with the
same fields hold identical data in every process that builds them. Parameters
are one float64 vector of length ``dim``; the loss is the mean over all
examples. ``nbytes`` is the size of that vector, which the communication model
charges for every push and pull.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np


def _sigmoid(z):
    # 0.5 * (1 + tanh(z / 2)) is the logistic function without overflow.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True)
class Problem:
    """Base class: subclasses define ``features`` (or ``dim``), ``loss`` and
    ``gradient``."""

    examples: int = 2000
    seed: int = 0

    name = "problem"

    @property
    def dim(self) -> int:
        """Length of the parameter vector: one weight per feature."""
        return self.features

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type in ("int", int) and field.name != "seed":
                if not isinstance(value, (int, np.integer)) or value < 1:
                    raise ValueError(
                        f"{self.name}: {field.name} must be a positive integer, got {value!r}")

    @property
    def nbytes(self) -> int:
        """Size in bytes of the parameter vector (float64)."""
        return 8 * self.dim

    def initial_params(self) -> np.ndarray:
        return np.zeros(self.dim)

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """Indices of one minibatch, drawn uniformly with replacement."""
        return rng.integers(0, self.examples, size=batch)

    def _data_rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def __getstate__(self):
        # Pickle the recipe, not the generated data: a worker process
        # regenerates identical data from the seed instead of receiving it.
        return {k: v for k, v in self.__dict__.items() if k != "data"}


@dataclass(frozen=True)
class LeastSquares(Problem):
    """Linear regression: loss = mean of (x.w - y)^2 / 2."""

    features: int = 100
    noise: float = 0.1

    name = "least-squares"

    @cached_property
    def data(self):
        rng = self._data_rng()
        X = rng.standard_normal((self.examples, self.features))
        w_true = rng.standard_normal(self.features) / np.sqrt(self.features)
        y = X @ w_true + self.noise * rng.standard_normal(self.examples)
        return X, y

    def loss(self, w):
        X, y = self.data
        r = X @ w - y
        return 0.5 * float(r @ r) / self.examples

    def gradient(self, w, idx):
        X, y = self.data
        Xb = X[idx]
        return Xb.T @ (Xb @ w - y[idx]) / len(idx)


@dataclass(frozen=True)
class Logistic(Problem):
    """Dense logistic regression with labels in {0, 1} and 5% label noise.

    Features are standard normal, so the loss's curvature is about 1/4 near
    zero and learning rates around 0.1-1 converge in a few hundred steps.
    """

    features: int = 1000
    label_noise: float = 0.05

    name = "logistic"

    @cached_property
    def data(self):
        rng = self._data_rng()
        X = rng.standard_normal((self.examples, self.features))
        w_true = 3.0 * rng.standard_normal(self.features) / np.sqrt(self.features)
        y = (X @ w_true > 0).astype(float)
        flip = rng.random(self.examples) < self.label_noise
        y[flip] = 1.0 - y[flip]
        return X, y

    def loss(self, w):
        X, y = self.data
        z = X @ w
        # log(1 + exp(-z)) for y=1 and log(1 + exp(z)) for y=0, overflow-free.
        return float(np.mean(np.logaddexp(0.0, np.where(y > 0, -z, z))))

    def gradient(self, w, idx):
        X, y = self.data
        Xb = X[idx]
        return Xb.T @ (_sigmoid(Xb @ w) - y[idx]) / len(idx)


@dataclass(frozen=True)
class SparseLogistic(Problem):
    """Logistic regression where each example touches only ``nonzeros`` features.

    A fraction ``overlap`` of each example's features is drawn from a small
    shared pool of ``hot`` features, the rest from the whole space. With
    ``overlap=0`` two examples rarely share a feature, which is the regime where
    lock-free Hogwild! updates seldom collide; raising it makes collisions
    common. ``sparse_gradient`` returns only the touched coordinates.
    """

    features: int = 10000
    nonzeros: int = 10
    overlap: float = 0.0
    hot: int = 10
    label_noise: float = 0.05

    name = "sparse-logistic"

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.overlap <= 1.0:
            raise ValueError(f"sparse-logistic: overlap must be in [0, 1], got {self.overlap!r}")
        if self.nonzeros > self.features or self.hot > self.features:
            raise ValueError(
                f"sparse-logistic: nonzeros ({self.nonzeros}) and hot ({self.hot}) "
                f"must not exceed features ({self.features})")

    @cached_property
    def data(self):
        """Rows as (cols, vals): two (examples, nonzeros) arrays, plus labels."""
        rng = self._data_rng()
        n, k = self.examples, self.nonzeros
        from_hot = rng.random((n, k)) < self.overlap
        cols = np.where(from_hot, rng.integers(0, self.hot, (n, k)),
                        rng.integers(0, self.features, (n, k)))
        vals = rng.standard_normal((n, k))
        w_true = 3.0 * rng.standard_normal(self.features) / np.sqrt(k)
        z = np.sum(vals * w_true[cols], axis=1)
        y = (z > 0).astype(float)
        flip = rng.random(n) < self.label_noise
        y[flip] = 1.0 - y[flip]
        return cols, vals, y

    def loss(self, w):
        cols, vals, y = self.data
        z = np.sum(vals * w[cols], axis=1)
        return float(np.mean(np.logaddexp(0.0, np.where(y > 0, -z, z))))

    def sparse_gradient(self, w, idx):
        """The minibatch gradient as (coordinates, values); coordinates may repeat."""
        cols, vals, y = self.data
        c, v = cols[idx], vals[idx]
        r = (_sigmoid(np.sum(v * w[c], axis=1)) - y[idx]) / len(idx)
        return c.ravel(), (v * r[:, None]).ravel()

    def gradient(self, w, idx):
        c, v = self.sparse_gradient(w, idx)
        return np.bincount(c, weights=v, minlength=self.features)


PROBLEMS = {cls.name: cls for cls in (LeastSquares, Logistic, SparseLogistic)}


def make_problem(spec) -> Problem:
    """A Problem from an instance or a name such as ``"logistic"``."""
    if isinstance(spec, Problem):
        return spec
    if spec not in PROBLEMS:
        raise ValueError(f"unknown problem {spec!r}; choose one of {', '.join(PROBLEMS)}")
    return PROBLEMS[spec]()
