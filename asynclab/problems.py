"""Training problems: data, a full-data loss, a minibatch gradient, held-out metrics.

Every problem is a frozen dataclass. Its data is generated from its own
``seed`` (synthetic problems) or loaded from a data set (:class:`MLP`, see
:mod:`asynclab.datasets`; never downloaded) the first time it is needed, so
two problems with the same fields hold identical data in every process that
builds them. Parameters are one float64 vector of length ``dim``; the loss is
the mean over all training examples. ``nbytes`` is the size of that vector,
which the communication model charges for every push and pull.

Classification problems also keep two held-out sets: ``held_out(w, part)``
gives the loss and the accuracy on the ``"validation"`` set (for choices:
a target accuracy, tuning) or the ``"test"`` set (the final report only).
Synthetic ones draw the test set from the same random stream *after* their
training data, and the validation set after the test set (same true weights,
same label noise), so their training and test data are exactly what they
were before they had a validation set.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import datasets
from .mlp import ACTIVATIONS, Network


def _sigmoid(z):
    # 0.5 * (1 + tanh(z / 2)) is the logistic function without overflow.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _logistic_loss(z, y):
    # log(1 + exp(-z)) for y=1 and log(1 + exp(z)) for y=0, overflow-free.
    return float(np.mean(np.logaddexp(0.0, np.where(y > 0, -z, z))))


HELD_OUT = ("validation", "test")     # the parts held_out() evaluates


def _binary_held_out(z, y):
    """(loss, accuracy) of scores ``z`` against labels ``y`` in {0, 1}."""
    return _logistic_loss(z, y), float(np.mean((z > 0) == (y > 0)))


@dataclass(frozen=True)
class Problem:
    """Base class: subclasses define ``features`` (or ``dim``), ``loss`` and
    ``gradient``; classifiers set ``classification`` and define
    ``_held_out(w, part)`` and the sizes of their held-out sets."""

    examples: int = 2000
    seed: int = 0

    name = "problem"
    classification = False   # True: held_out() gives a held-out loss and an accuracy

    @property
    def dim(self) -> int:
        """Length of the parameter vector: one weight per feature."""
        return self.features

    @property
    def train_examples(self) -> int:
        """How many training examples minibatches are drawn from."""
        return self.examples

    @property
    def test_examples(self) -> int:
        """How many examples ``held_out(w, "test")`` evaluates (0: none)."""
        return 0

    @property
    def train_labels(self):
        """The class of each training example (classification problems; None
        otherwise), which a non-IID partition splits the data by."""
        return None

    @property
    def validation_examples(self) -> int:
        """How many examples ``held_out(w, "validation")`` evaluates (0: none)."""
        return 0

    def held_out(self, w, part="test"):
        """(loss, accuracy) on the held-out ``part``, "validation" or "test";
        None if the problem has no held-out sets."""
        if part not in HELD_OUT:
            raise ValueError(f"part must be one of {', '.join(HELD_OUT)}, got {part!r}")
        return self._held_out(w, part) if self.classification else None

    def __post_init__(self):
        seed = self.seed
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"{self.name}: seed must be a whole number >= 0, got {seed!r}")
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
        return rng.integers(0, self.train_examples, size=batch)

    def _data_rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def __getstate__(self):
        # Pickle the recipe (the fields), not what is derived from it (every
        # cached_property: the data): a worker process rebuilds identical data
        # from the fields instead of receiving it.
        cls = type(self)
        return {k: v for k, v in self.__dict__.items()
                if not isinstance(getattr(cls, k, None), cached_property)}


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
    The test set and then the validation set have ``examples // 4`` more
    examples of the same kind each, drawn after the training set.
    (Multinomial logistic regression on a real data set is
    ``make_problem("logistic", dataset="digits")``, an :class:`MLP` without
    hidden layers.)

    The defaults (50 features, 1,000 examples) are a problem a model learns
    from: the default run reaches about 89% held-out accuracy, as a fully
    fitted model does (with 1,000 features and 2,000 examples it would
    overfit, about 74%).
    """

    examples: int = 1000
    features: int = 50
    label_noise: float = 0.05

    name = "logistic"
    classification = True

    @property
    def test_examples(self):
        return max(1, self.examples // 4)

    validation_examples = test_examples      # as many as the test set

    @cached_property
    def _sets(self):
        """{"train", "test", "validation"} -> (X, y), drawn in that order."""
        rng = self._data_rng()
        X = rng.standard_normal((self.examples, self.features))
        w_true = 3.0 * rng.standard_normal(self.features) / np.sqrt(self.features)
        sets = {"train": (X, self._labels(rng, X @ w_true))}
        for part in ("test", "validation"):
            X = rng.standard_normal((self.test_examples, self.features))
            sets[part] = X, self._labels(rng, X @ w_true)
        return sets

    def _labels(self, rng, z):
        y = (z > 0).astype(float)
        flip = rng.random(len(y)) < self.label_noise
        y[flip] = 1.0 - y[flip]
        return y

    @property
    def data(self):
        """The training set: (X, y)."""
        return self._sets["train"]

    @property
    def train_labels(self):
        return self.data[1]

    def loss(self, w):
        X, y = self.data
        return _logistic_loss(X @ w, y)

    def _held_out(self, w, part):
        X, y = self._sets[part]
        return _binary_held_out(X @ w, y)

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
    common. ``sparse_gradient`` returns only the touched coordinates. The
    test set and then the validation set have ``examples // 4`` more examples
    of the same kind each, drawn after the training set.
    """

    features: int = 10000
    nonzeros: int = 10
    overlap: float = 0.0
    hot: int = 10
    label_noise: float = 0.05

    name = "sparse-logistic"
    classification = True

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.overlap <= 1.0:
            raise ValueError(f"sparse-logistic: overlap must be in [0, 1], got {self.overlap!r}")
        if self.nonzeros > self.features or self.hot > self.features:
            raise ValueError(
                f"sparse-logistic: nonzeros ({self.nonzeros}) and hot ({self.hot}) "
                f"must not exceed features ({self.features})")

    @property
    def test_examples(self):
        return max(1, self.examples // 4)

    validation_examples = test_examples      # as many as the test set

    @cached_property
    def _sets(self):
        """{"train", "test", "validation"} -> (cols, vals, y), drawn in that order."""
        rng = self._data_rng()
        cols, vals = self._rows(rng, self.examples)
        w_true = 3.0 * rng.standard_normal(self.features) / np.sqrt(self.nonzeros)
        sets = {"train": (cols, vals, self._labels(rng, cols, vals, w_true))}
        for part in ("test", "validation"):
            cols, vals = self._rows(rng, self.test_examples)
            sets[part] = cols, vals, self._labels(rng, cols, vals, w_true)
        return sets

    def _rows(self, rng, n):
        k = self.nonzeros
        from_hot = rng.random((n, k)) < self.overlap
        cols = np.where(from_hot, rng.integers(0, self.hot, (n, k)),
                        rng.integers(0, self.features, (n, k)))
        return cols, rng.standard_normal((n, k))

    def _labels(self, rng, cols, vals, w_true):
        y = (np.sum(vals * w_true[cols], axis=1) > 0).astype(float)
        flip = rng.random(len(y)) < self.label_noise
        y[flip] = 1.0 - y[flip]
        return y

    @property
    def data(self):
        """Training rows as (cols, vals): two (examples, nonzeros) arrays, plus labels."""
        return self._sets["train"]

    @property
    def train_labels(self):
        return self.data[2]

    def loss(self, w):
        cols, vals, y = self.data
        return _logistic_loss(np.sum(vals * w[cols], axis=1), y)

    def _held_out(self, w, part):
        cols, vals, y = self._sets[part]
        return _binary_held_out(np.sum(vals * w[cols], axis=1), y)

    def sparse_gradient(self, w, idx):
        """The minibatch gradient as (coordinates, values); coordinates may repeat."""
        cols, vals, y = self.data
        c, v = cols[idx], vals[idx]
        r = (_sigmoid(np.sum(v * w[c], axis=1)) - y[idx]) / len(idx)
        return c.ravel(), (v * r[:, None]).ravel()

    def gradient(self, w, idx):
        c, v = self.sparse_gradient(w, idx)
        return np.bincount(c, weights=v, minlength=self.features)


def _hidden_sizes(hidden):
    """``hidden`` as a tuple of positive whole numbers: from a tuple, a list,
    one number, or text such as "128,64"; ValueError naming it otherwise."""
    items = hidden.split(",") if isinstance(hidden, str) else (
        hidden if isinstance(hidden, (tuple, list)) else (hidden,))
    sizes = []
    for item in items:
        item = item.strip() if isinstance(item, str) else item
        whole = (isinstance(item, str) and item.isdigit()) or (
            isinstance(item, (int, np.integer)) and not isinstance(item, bool))
        if not whole or int(item) < 1:
            raise ValueError(f"mlp: hidden must be layer sizes that are positive whole numbers "
                             f"(e.g. 64 or 128,64), got {hidden!r}")
        sizes.append(int(item))
    return tuple(sizes)


@dataclass(frozen=True)
class MLP(Problem):
    """A multilayer perceptron classifying a real data set (:mod:`asynclab.mlp`).

    ``hidden`` gives the sizes of the hidden layers, e.g. ``(64,)`` or
    ``(128, 64)``; with ``()`` this is multinomial logistic regression (and is
    named "logistic"). ``activation`` is "relu" (He initialisation) or "tanh"
    (Glorot); the weights are drawn from ``seed``, which also draws the
    digits' validation and test sets (a data file's validation set). ``examples``
    keeps only the first that many training examples (None: all). ``dataset`` is "digits" (shipped with scikit-learn)
    or "mnist" / "fashion-mnist" read from ``data_path``
    (see :mod:`asynclab.datasets`).
    """

    examples: int | None = None
    dataset: str = "digits"
    hidden: tuple = (64,)
    activation: str = "relu"
    data_path: str | None = None

    classification = True

    def __post_init__(self):
        super().__post_init__()
        datasets.check(self.dataset, self.data_path)
        object.__setattr__(self, "hidden", _hidden_sizes(self.hidden))
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"mlp: activation must be one of {', '.join(ACTIVATIONS)}, "
                             f"got {self.activation!r}")
        if self.examples is not None and (not isinstance(self.examples, (int, np.integer))
                                          or isinstance(self.examples, bool) or self.examples < 1):
            raise ValueError(f"{self.name}: examples must be a positive integer or None, "
                             f"got {self.examples!r}")

    @property
    def name(self):
        return "mlp" if self.hidden else "logistic"

    @cached_property
    def data(self) -> datasets.Split:
        split = datasets.load(self.dataset, self.data_path, seed=self.seed)
        if self.examples is not None:
            split = split._replace(X_train=split.X_train[:self.examples],
                                   y_train=split.y_train[:self.examples])
        return split

    @cached_property
    def network(self) -> Network:
        classes = datasets.CLASSES
        return Network((self.features, *self.hidden, classes), self.activation)

    @property
    def features(self) -> int:
        """Inputs per example (pixels)."""
        return self.data.X_train.shape[1]

    @property
    def dim(self) -> int:
        return self.network.dim

    @property
    def train_examples(self):
        return len(self.data.y_train)

    @property
    def train_labels(self):
        return self.data.y_train

    @property
    def test_examples(self):
        return len(self.data.y_test)

    @property
    def validation_examples(self):
        return len(self.data.y_validation)

    def initial_params(self):
        if not self.hidden:
            return np.zeros(self.dim)     # convex: start at zero, like the synthetic problems
        return self.network.initial(np.random.default_rng([self.seed, 1]))

    def loss(self, w):
        return self.network.loss(w, self.data.X_train, self.data.y_train)

    def gradient(self, w, idx):
        return self.network.gradient(w, self.data.X_train[idx], self.data.y_train[idx])

    def _held_out(self, w, part):
        X, y = getattr(self.data, "X_" + part), getattr(self.data, "y_" + part)
        return self.network.loss_and_accuracy(w, X, y)


PROBLEMS = {"least-squares": LeastSquares, "logistic": Logistic,
            "sparse-logistic": SparseLogistic, "mlp": MLP}


def make_problem(spec, **options) -> Problem:
    """A Problem from an instance or a name such as ``"logistic"``, with
    ``options`` for its fields (``features=50``, ``hidden=(128, 64)``...).

    ``"logistic"`` with a ``dataset`` is multinomial logistic regression on
    it: an :class:`MLP` without hidden layers.
    """
    if isinstance(spec, Problem):
        problem, name = spec, spec.name
    elif spec not in PROBLEMS:
        raise ValueError(f"unknown problem {spec!r}; choose one of {', '.join(PROBLEMS)}")
    else:
        problem, name = None, spec
    if name == "logistic" and options.get("dataset") is not None and not isinstance(problem, MLP):
        if "hidden" in options:
            raise ValueError("hidden does not apply to problem 'logistic'; problem 'mlp' "
                             "has hidden layers")
        problem = MLP(dataset=options["dataset"], data_path=options.get("data_path"), hidden=())
    problem = problem or PROBLEMS[name]()
    known = {f.name for f in dataclasses.fields(problem)}
    for key in options:
        if key not in known:
            hint = ("; data sets go with problems mlp and logistic"
                    if key in ("dataset", "data_path") else "")
            raise ValueError(f"{key} does not apply to problem {problem.name!r}{hint}")
    return dataclasses.replace(problem, **options) if options else problem
