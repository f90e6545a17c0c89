"""The engine against plain SGD written out by hand."""
import numpy as np
import pytest

import asynclab
from helpers import SMALL, sgd_reference

ALL_POLICIES = ["sync", "async", "hogwild", "ssp:0", "ssp:3", "backup:0", "local:1", "local:4"]


@pytest.mark.parametrize("problem", [asynclab.Logistic(**SMALL), asynclab.LeastSquares(**SMALL)],
                         ids=lambda p: p.name)
@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_one_worker_is_sequential_sgd(policy, problem):
    result = asynclab.run(problem=problem, policy=policy, workers=1, gradients=120, lr=0.2,
                          batch=8, seed=5, latency=0.3, straggler=(0.2, 4))
    expected = sgd_reference(problem, lr=0.2, batch=8, seed=5, steps=120)
    if policy.startswith("local:") and policy != "local:1":
        # Local steps are summed before one server update: same steps, other rounding.
        np.testing.assert_allclose(result.params, expected, rtol=1e-12, atol=1e-14)
    else:
        np.testing.assert_array_equal(result.params, expected)
    assert result.summary.gradients == 120
    assert result.summary.mean_staleness == 0


def test_one_worker_staleness_aware_is_sequential_sgd():
    problem = asynclab.Logistic(**SMALL)
    result = asynclab.run(problem=problem, policy="async", staleness_aware=True, workers=1,
                          gradients=50, lr=0.2, batch=8, seed=1)
    np.testing.assert_array_equal(
        result.params, sgd_reference(problem, lr=0.2, batch=8, seed=1, steps=50))


@pytest.mark.parametrize("workers", [2, 5])
def test_sync_is_minibatch_sgd_with_n_times_the_batch(workers):
    problem = asynclab.Logistic(**SMALL)
    steps = 40
    result = asynclab.run(problem=problem, policy="sync", workers=workers,
                          gradients=steps * workers, lr=0.3, batch=6, seed=2,
                          compute="lognormal:1:1", latency=0.1)
    expected = sgd_reference(problem, lr=0.3, batch=6, seed=2, steps=steps, workers=workers)
    np.testing.assert_allclose(result.params, expected, rtol=1e-12, atol=1e-14)
    assert result.summary.updates == steps


def test_ssp0_and_sync_differ_only_in_aggregation():
    """Same barrier, but ssp:0 applies each gradient on its own."""
    kw = dict(problem=asynclab.Logistic(**SMALL), workers=3, gradients=90, seed=3)
    sync, ssp0 = asynclab.run(policy="sync", **kw), asynclab.run(policy="ssp:0", **kw)
    assert sync.summary.updates == 30 and ssp0.summary.updates == 90
    assert sync.summary.max_staleness == 0 and ssp0.summary.max_staleness == 2


def test_staleness_aware_step_divides_lr_by_staleness_plus_one():
    problem = asynclab.LeastSquares(**SMALL)
    run = asynclab.run(problem=problem, policy="async", staleness_aware=True, workers=3,
                       gradients=30, lr=0.1, batch=4, seed=0, eval_points=2)
    # Replay the run's applies by hand from its trace: each worker's gradients
    # come from its own minibatch stream, in order, on the version it read.
    from asynclab.backends.base import worker_streams
    rngs, _ = worker_streams(0, 3)
    versions = [problem.initial_params()]
    applies = run.trace.of_kind("apply")     # recorded in the order applied
    for e in applies:
        g = problem.gradient(versions[e.version], problem.sample(rngs[e.worker], 4))
        versions.append(versions[-1] - 0.1 / (e.staleness + 1) * g)
    assert any(e.staleness > 0 for e in applies)
    np.testing.assert_array_equal(run.params, versions[-1])
