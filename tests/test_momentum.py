"""Momentum: heavy-ball oracles, and "asynchrony begets momentum" measured."""
import numpy as np
import pytest

import asynclab
from asynclab.backends.base import worker_streams
from asynclab.implicit_momentum import Quadratic, fit_momentum, measure_implicit_momentum
from helpers import SMALL, sgd_reference

MLP = asynclab.MLP(hidden=(8,), examples=300)
PROBLEMS = [asynclab.Logistic(**SMALL), MLP]


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
@pytest.mark.parametrize("policy", ["sync", "async", "hogwild", "ssp:2", "backup:0", "local:1",
                                    "local:4"])
def test_one_worker_with_momentum_is_sequential_momentum_sgd(policy, problem):
    result = asynclab.run(problem=problem, policy=policy, workers=1, gradients=80, lr=0.1,
                          momentum=0.9, batch=8, seed=5, latency=0.3)
    expected = sgd_reference(problem, lr=0.1, batch=8, seed=5, steps=80, momentum=0.9)
    if policy == "local:4":
        # The worker's own velocity moves its copy; it sends its displacement / lr.
        np.testing.assert_allclose(result.params, expected, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_array_equal(result.params, expected)
    plain = sgd_reference(problem, lr=0.1, batch=8, seed=5, steps=80)
    assert not np.allclose(expected, plain)        # momentum really changed the steps


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
@pytest.mark.parametrize("workers", [2, 5])
def test_sync_with_momentum_is_large_batch_momentum_sgd(workers, problem):
    steps = 30
    result = asynclab.run(problem=problem, policy="sync", workers=workers,
                          gradients=steps * workers, lr=0.2, momentum=0.8, batch=6, seed=2,
                          compute="lognormal:1:1", latency=0.1)
    expected = sgd_reference(problem, lr=0.2, batch=6, seed=2, steps=steps, workers=workers,
                             momentum=0.8)
    np.testing.assert_allclose(result.params, expected, rtol=1e-10, atol=1e-13)
    assert result.summary.updates == steps


def _replay(problem, run, lr, momentum, batch, per_worker):
    """The run's applies replayed by hand from its trace: each gradient from its
    worker's minibatch stream on the version it read, through one velocity
    (the server's) or one per worker (lock-free)."""
    rngs, _ = worker_streams(run.config.seed, run.config.workers)
    versions = [problem.initial_params()]
    velocity = {}
    for e in run.trace.of_kind("apply"):
        key = e.worker if per_worker else "server"
        g = problem.gradient(versions[e.version], problem.sample(rngs[e.worker], batch))
        velocity[key] = momentum * velocity.get(key, 0.0) + lr * g
        versions.append(versions[-1] - velocity[key])
    return versions[-1]


@pytest.mark.parametrize("policy, per_worker", [("async", False), ("hogwild", True)])
def test_async_momentum_is_one_server_velocity_and_hogwild_one_per_worker(policy, per_worker):
    problem = asynclab.LeastSquares(**SMALL)
    run = asynclab.run(problem=problem, policy=policy, workers=3, gradients=60, lr=0.05,
                       momentum=0.7, batch=4, seed=1, eval_points=2)
    assert run.summary.max_staleness > 0
    np.testing.assert_allclose(run.params, _replay(problem, run, 0.05, 0.7, 4, per_worker),
                               rtol=1e-12, atol=1e-14)
    other = _replay(problem, run, 0.05, 0.7, 4, not per_worker)
    assert not np.allclose(run.params, other)


def test_momentum_zero_is_plain_sgd_bit_for_bit():
    kw = dict(problem=asynclab.Logistic(**SMALL), policy="async", workers=3, gradients=90,
              seed=3)
    np.testing.assert_array_equal(asynclab.run(**kw).params,
                                  asynclab.run(**kw, momentum=0.0).params)


def test_the_fit_recovers_explicit_momentum():
    # One worker, explicit momentum 0.6: the path is exactly heavy ball.
    q = Quadratic(features=10, examples=200)
    r = asynclab.backends.simulated.run(
        asynclab.Config(problem=q, policy="async", workers=1, gradients=200, lr=0.1,
                        momentum=0.6, eval_points=2), record_path=True)
    assert r.path.shape == (201, 10) and np.array_equal(r.path[-1], r.params)
    mu, eta = fit_momentum(r.path, q.gradient)
    assert mu == pytest.approx(0.6, abs=1e-6) and eta == pytest.approx(0.1, rel=1e-6)


QUADRATIC = asynclab.Config(problem=Quadratic(features=10, examples=200), policy="async",
                            gradients=300, lr=0.1, eval_points=2)


@pytest.mark.parametrize("workers", [2, 4, 8])
def test_asynchrony_begets_momentum_near_one_minus_one_over_n(workers):
    """Mitliagkas et al. (2016): with exponential compute times, async SGD on N
    workers is momentum SGD with mu = 1 - 1/N in expectation.

    Tolerance 0.08: the estimator (200 seeds, lr=0.1) was measured over 6
    disjoint groups of seeds per N: standard deviation 0.006-0.017, and a
    bias towards 0 of 0.016-0.034 (finite-seed noise in the step it regresses
    on, shrinking as seeds grow: 0.03-0.06 with 100 seeds, 0.00-0.03 with
    400). So 0.035 + 3 x 0.015 = 0.08, well below the 0.125-0.25 gap between
    the values for N = 2, 4, 8 that the test tells apart.
    """
    mu, eta = measure_implicit_momentum(QUADRATIC.replace(workers=workers))
    assert mu == pytest.approx(1 - 1 / workers, abs=0.08)
    # The expected step is (1 - mu) * lr * gradient: the rate shrinks as momentum grows.
    assert eta == pytest.approx((1 - mu) * 0.1, rel=0.25)


@pytest.mark.parametrize("policy, workers", [("sync", 4), ("async", 1)])
def test_no_implicit_momentum_without_staleness(policy, workers):
    mu, eta = measure_implicit_momentum(QUADRATIC.replace(policy=policy, workers=workers),
                                        seeds=range(3))
    assert abs(mu) < 1e-6 and eta == pytest.approx(0.1, rel=1e-6)


def test_explicit_momentum_on_top_of_asynchrony_can_be_too_much():
    """What the README says: on digits, momentum 0.9 helps sync and breaks async
    with 4 workers (whose implicit momentum is already about 0.75)."""
    kw = dict(problem=asynclab.MLP(), workers=4, gradients=2000, lr=0.1, eval_points=2)
    accuracy = {(policy, m): asynclab.run(policy=policy, momentum=m, **kw).summary.final_accuracy
                for policy in ("sync", "async") for m in (0.5, 0.9)}
    assert accuracy["sync", 0.9] > 0.96 and accuracy["async", 0.5] > 0.96
    assert accuracy["async", 0.9] < 0.5
