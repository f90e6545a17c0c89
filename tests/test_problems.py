import numpy as np
import pytest

import asynclab
from asynclab.problems import make_problem

PROBLEMS = [
    asynclab.LeastSquares(features=8, examples=50),
    asynclab.Logistic(features=8, examples=50),
    asynclab.SparseLogistic(features=30, examples=50, nonzeros=4, overlap=0.3, hot=5),
]


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_gradient_matches_finite_differences(problem):
    rng = np.random.default_rng(1)
    w = 0.3 * rng.standard_normal(problem.dim)
    grad = problem.gradient(w, np.arange(problem.examples))
    h = 1e-6
    numeric = np.array([(problem.loss(w + h * e) - problem.loss(w - h * e)) / (2 * h)
                        for e in np.eye(problem.dim)])
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_minibatch_gradient_is_mean_of_single_example_gradients(problem):
    w = np.linspace(-1, 1, problem.dim)
    idx = np.array([3, 7, 7, 20])
    singles = np.mean([problem.gradient(w, np.array([i])) for i in idx], axis=0)
    np.testing.assert_allclose(problem.gradient(w, idx), singles, rtol=1e-12, atol=1e-15)


def test_sparse_gradient_touches_only_the_examples_features():
    p = asynclab.SparseLogistic(features=1000, examples=100, nonzeros=5)
    coords, values = p.sparse_gradient(np.zeros(p.dim), np.array([0, 1]))
    cols, _, _ = p.data
    assert set(coords) == set(cols[[0, 1]].ravel())
    assert len(values) == 10


def test_overlap_makes_examples_share_features():
    def shared(overlap):
        cols = asynclab.SparseLogistic(features=5000, examples=200, overlap=overlap).data[0]
        sets = [set(r) for r in cols]
        return np.mean([bool(sets[i] & sets[i + 1]) for i in range(len(sets) - 1)])
    assert shared(0.0) < 0.1 < 0.9 < shared(0.8)


def test_data_comes_from_the_problem_seed_only():
    a, b = asynclab.Logistic(seed=3, features=5, examples=20), asynclab.Logistic(seed=3, features=5, examples=20)
    np.testing.assert_array_equal(a.data[0], b.data[0])
    assert not np.array_equal(a.data[0], asynclab.Logistic(seed=4, features=5, examples=20).data[0])


def test_pickled_problem_regenerates_identical_data():
    import pickle
    p = asynclab.Logistic(features=5, examples=20)
    _ = p.data
    blob = pickle.dumps(p)
    assert len(blob) < 1000          # the recipe travels, not the data
    np.testing.assert_array_equal(pickle.loads(blob).data[0], p.data[0])


def test_nbytes_is_the_parameter_vector():
    assert asynclab.Logistic(features=1000).nbytes == 8000


def test_bad_problem_inputs_name_the_value():
    with pytest.raises(ValueError, match="unknown problem 'mnist'"):
        make_problem("mnist")
    with pytest.raises(ValueError, match="features must be a positive integer, got 0"):
        asynclab.Logistic(features=0)
    with pytest.raises(ValueError, match="overlap must be in"):
        asynclab.SparseLogistic(overlap=2)


def _digest(arrays):
    import hashlib
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("problem, train, test", [
    # Digests of the training data as generated before held-out sets existed, and of
    # the test sets as generated before validation sets existed.
    (asynclab.LeastSquares(), "c5ff1dfafd7dcf6c", None),
    (asynclab.Logistic(features=1000, examples=2000), "901d39821d8d5dae", "51d50b95e5c003ab"),
    (asynclab.SparseLogistic(), "053f9a367a1489a7", "f66dfc85da376dff"),
    (asynclab.Logistic(features=7, examples=33, seed=5), "7d30da5e654d083f", "4679d1f609224808"),
    (asynclab.SparseLogistic(features=300, examples=40, overlap=0.5, seed=2), "34c98a9ed9a3b2b7",
     "6de5cb0e225fed75"),
], ids=lambda x: getattr(x, "name", x))
def test_synthetic_training_and_test_data_are_what_they_always_were(problem, train, test):
    assert _digest(problem.data) == train
    if test is None:
        return
    assert _digest(problem._sets["test"]) == test
    # The validation set comes after it in the same stream: as many examples, others.
    validation, test = problem._sets["validation"], problem._sets["test"]
    assert len(validation[-1]) == len(test[-1]) == problem.validation_examples
    assert not np.array_equal(validation[0], test[0])


@pytest.mark.parametrize("problem", PROBLEMS[1:], ids=lambda p: p.name)
@pytest.mark.parametrize("part", ["test", "validation"])
def test_synthetic_classifiers_hold_out_a_quarter_more_examples_twice(problem, part):
    w = 0.3 * np.random.default_rng(0).standard_normal(problem.dim)
    loss, accuracy = problem.held_out(w, part)
    assert problem.test_examples == problem.validation_examples == problem.examples // 4 == 12
    assert loss > 0 and 0 <= accuracy <= 1 and (accuracy * 12) % 1 == 0
    assert problem.held_out(w) == problem.held_out(w, "test")
    # Same kind of data: a model fitted to the training set does well on it.
    big = type(problem)(**{**{f: getattr(problem, f) for f in ("features", "seed")},
                           "examples": 2000})
    fit = asynclab.run(problem=big, policy="sync", workers=1, gradients=400, lr=0.5).params
    assert big.held_out(fit, part)[1] > 0.8


@pytest.mark.parametrize("problem", PROBLEMS + [asynclab.MLP(hidden=(4,))],
                         ids=lambda p: p.name)
def test_held_out_names_its_parts(problem):
    with pytest.raises(ValueError, match="^part must be one of validation, test, got 'valid'$"):
        problem.held_out(np.zeros(problem.dim), "valid")


def test_least_squares_has_no_held_out_set():
    p = asynclab.LeastSquares(**{"features": 8, "examples": 50})
    assert p.held_out(np.zeros(8)) is None and p.test_examples == 0 and not p.classification
    assert p.held_out(np.zeros(8), "validation") is None and p.validation_examples == 0
