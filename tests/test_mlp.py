"""The MLP: backpropagation against finite differences, initialisation,
accuracy on hand-made cases, and the MLP as an asynclab problem."""
import pickle

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import asynclab
from asynclab.mlp import Network
from asynclab.problems import make_problem

SHAPES = [(6, 3), (6, 5, 3), (6, 4, 5, 3), (3, 8, 2)]


def _case(sizes, seed=0, n=7):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    return X, y, rng


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "-".join(map(str, s)))
def test_backpropagation_matches_finite_differences(sizes, activation):
    net = Network(sizes, activation)
    X, y, rng = _case(sizes)
    w = net.initial(rng) + 0.1 * rng.standard_normal(net.dim)   # non-zero biases too
    h = 1e-6
    numeric = np.array([(net.loss(w + h * e, X, y) - net.loss(w - h * e, X, y)) / (2 * h)
                        for e in np.eye(net.dim)])
    np.testing.assert_allclose(net.gradient(w, X, y), numeric, rtol=1e-5, atol=1e-8)


def test_the_flat_vector_holds_each_layer_s_weights_then_biases():
    net = Network((3, 4, 2))
    assert net.dim == 3 * 4 + 4 + 4 * 2 + 2
    w = np.arange(net.dim, dtype=float)
    (W1, b1), (W2, b2) = net.unpack(w)
    assert W1.shape == (3, 4) and W1[0, 0] == 0 and b1[0] == 12 and W2[0, 0] == 16
    assert b2.tolist() == [24.0, 25.0]
    W1[0, 0] = -1.0                     # views: writing a layer writes the vector
    assert w[0] == -1.0


@pytest.mark.parametrize("activation, spread", [("relu", lambda i, o: np.sqrt(2 / i)),
                                                ("tanh", lambda i, o: np.sqrt(2 / (i + o)))])
def test_initialisation_is_he_or_glorot_and_comes_from_the_seed(activation, spread):
    net = Network((400, 300, 10), activation)
    w = net.initial(np.random.default_rng(3))
    np.testing.assert_array_equal(w, net.initial(np.random.default_rng(3)))
    (W1, b1), (W2, b2) = net.unpack(w)
    assert not b1.any() and not b2.any()
    # He: normal with std sqrt(2 / inputs); Glorot uniform: std sqrt(2 / (inputs + outputs)).
    assert W1.std() == pytest.approx(spread(400, 300), rel=0.02)
    if activation == "tanh":
        assert np.abs(W1).max() <= np.sqrt(6 / 700)


def test_accuracy_and_loss_on_a_hand_made_case():
    # No hidden layer, W = identity, b = 0: the logits are the inputs themselves.
    net = Network((3, 3))
    w = np.concatenate([np.eye(3).ravel(), np.zeros(3)])
    X = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]])
    y = np.array([0, 1, 2, 2])                  # the last one is predicted as 0: wrong
    loss, accuracy = net.loss_and_accuracy(w, X, y)
    assert accuracy == 0.75
    right, wrong = np.log(1 + 2 * np.exp(-5)), 5 + np.log(1 + 2 * np.exp(-5))
    assert loss == pytest.approx((3 * right + wrong) / 4, rel=1e-12)
    assert net.loss(w, X, y) == loss


def test_binary_held_out_accuracy_on_a_hand_made_case():
    p = asynclab.Logistic(features=2, examples=8)
    X, y = p._sets["test"]                     # 2 held-out examples
    w = np.array([1.0, 0.0])
    _, accuracy = p.held_out(w)
    assert accuracy == np.mean((X[:, 0] > 0) == (y > 0))
    assert p.held_out(-w)[1] == 1 - accuracy


def test_mlp_problem_on_digits():
    p = asynclab.MLP(hidden=(16,))
    assert (p.features, p.train_examples, p.validation_examples, p.test_examples) == (
        64, 1079, 359, 359)
    assert p.dim == 64 * 16 + 16 + 16 * 10 + 10 and p.name == "mlp"
    w = p.initial_params()
    np.testing.assert_array_equal(w, asynclab.MLP(hidden=(16,)).initial_params())
    assert not np.array_equal(w, asynclab.MLP(hidden=(16,), seed=1).initial_params())
    loss, accuracy = p.held_out(w)
    assert 0 <= accuracy <= 1 and loss > 0
    assert p.held_out(w, "test") == (loss, accuracy)
    assert p.held_out(w, "validation") == p.network.loss_and_accuracy(
        w, p.data.X_validation, p.data.y_validation) != (loss, accuracy)
    idx = np.array([0, 5, 5, 9])
    X, y = p.data.X_train[idx], p.data.y_train[idx]
    np.testing.assert_array_equal(p.gradient(w, idx), p.network.gradient(w, X, y))
    # A minibatch gradient is the mean of the examples' gradients.
    singles = np.mean([p.gradient(w, np.array([i])) for i in idx], axis=0)
    np.testing.assert_allclose(p.gradient(w, idx), singles, rtol=1e-10, atol=1e-14)
    assert asynclab.MLP(examples=100).train_examples == 100


def test_logistic_on_a_dataset_is_an_mlp_without_hidden_layers():
    p = make_problem("logistic", dataset="digits")
    assert isinstance(p, asynclab.MLP) and p.hidden == () and p.name == "logistic"
    assert p.dim == 64 * 10 + 10 and not p.initial_params().any()
    assert (p.train_examples, p.validation_examples, p.test_examples) == (1079, 359, 359)
    r = asynclab.run(problem=p, policy="sync", workers=2, gradients=600, lr=0.5, seed=1,
                     target_accuracy=0.85)
    assert r.summary.problem == "logistic" and r.summary.final_accuracy > 0.85
    assert r.summary.final_validation_accuracy > 0.85 and r.summary.time_to_accuracy > 0


def test_the_mlp_pickles_as_a_recipe():
    p = asynclab.MLP(hidden=(8,), activation="tanh")
    p.data, p.network
    blob = pickle.dumps(p)
    assert len(blob) < 1000
    q = pickle.loads(blob)
    assert q == p and "data" not in q.__dict__
    for x, y in zip(q.data, p.data):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(q.initial_params(), p.initial_params())


@pytest.mark.parametrize("kwargs, needle", [
    (dict(hidden=(0,)), "hidden must be layer sizes that are positive whole numbers"),
    (dict(hidden="64,x"), "got '64,x'"),
    (dict(hidden=(2.5,)), "got (2.5,)"),
    (dict(activation="sigmoid"), "activation must be one of relu, tanh, got 'sigmoid'"),
    (dict(dataset="cifar"), "unknown dataset 'cifar'; choose one of digits, mnist, fashion-mnist"),
    (dict(examples=0), "examples must be a positive integer or None, got 0"),
])
def test_bad_mlp_options_name_the_value(kwargs, needle):
    with pytest.raises(ValueError) as info:
        asynclab.MLP(**kwargs)
    assert needle in str(info.value)


def test_hidden_sizes_from_text():
    assert asynclab.MLP(hidden="128, 64").hidden == (128, 64)
    assert asynclab.MLP(hidden=32).hidden == (32,)


def test_options_that_do_not_apply_are_refused():
    with pytest.raises(ValueError, match="dataset does not apply to problem 'least-squares'"):
        make_problem("least-squares", dataset="digits")
    with pytest.raises(ValueError, match="hidden does not apply to problem 'logistic'"):
        make_problem("logistic", dataset="digits", hidden=(4,))
    with pytest.raises(ValueError, match="features does not apply to problem 'logistic'"):
        make_problem("logistic", dataset="digits", features=3)
    assert make_problem("logistic", features=3).features == 3


BLAS_THREADS_SEEN = []


class _BlasProbe(asynclab.LeastSquares):
    """Least squares that notes how many threads BLAS may use while it computes."""

    def gradient(self, w, idx=None):
        BLAS_THREADS_SEEN.extend(i["num_threads"] for i in threadpool_info()
                                 if i["user_api"] == "blas")
        return super().gradient(w, idx)


def test_a_simulated_run_keeps_blas_to_one_thread_and_its_numbers():
    from asynclab.backends.simulated import Simulation
    BLAS_THREADS_SEEN.clear()
    cfg = asynclab.Config(problem=_BlasProbe(features=20, examples=200), workers=3,
                          gradients=30, eval_points=3)
    with threadpool_limits(limits=2, user_api="blas"):
        pinned = asynclab.run(cfg)
        assert BLAS_THREADS_SEEN and set(BLAS_THREADS_SEEN) == {1}
        assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {2}
        free = Simulation(cfg).run()            # the loop itself, under the caller's 2 threads
    np.testing.assert_array_equal(pinned.params, free.params)
    mlp = asynclab.MLP(hidden=(16,))
    cfg = asynclab.Config(problem=mlp, policy="async", gradients=200, eval_points=4)
    with threadpool_limits(limits=2, user_api="blas"):
        free = Simulation(cfg).run()
    pinned = asynclab.run(cfg)
    np.testing.assert_array_equal(pinned.params, free.params)
    assert pinned.history.accuracy == free.history.accuracy
