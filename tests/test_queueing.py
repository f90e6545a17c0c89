"""The simulated clock against what queueing theory predicts by hand."""
import math

import numpy as np
import pytest

import asynclab

PROBLEM = asynclab.LeastSquares(features=5, examples=100)


def harmonic(n):
    return sum(1 / k for k in range(1, n + 1))


@pytest.mark.parametrize("workers", [1, 2, 4, 8])
def test_sync_step_waits_for_the_maximum_of_n_exponentials(workers):
    steps = 3000
    r = asynclab.run(problem=PROBLEM, policy="sync", workers=workers,
                     gradients=steps * workers, compute="exp:1", seed=11, eval_points=2)
    # E[max of n Exp(1)] = H_n; Var = sum 1/k^2 < pi^2/6, so 5 standard errors:
    tolerance = 5 * math.pi / math.sqrt(6 * steps)
    assert r.summary.time / steps == pytest.approx(harmonic(workers), abs=tolerance)


@pytest.mark.parametrize("workers", [2, 4, 8])
def test_async_delivers_n_gradients_per_unit_time_with_staleness_n_minus_1(workers):
    r = asynclab.run(problem=PROBLEM, policy="async", workers=workers, gradients=20000,
                     compute="exp:1", seed=3, eval_points=2)
    assert r.summary.gradients_per_second == pytest.approx(workers, rel=0.03)
    assert r.summary.mean_staleness == pytest.approx(workers - 1, rel=0.03)
    assert r.summary.idle_fraction < 0.01


def test_constant_times_give_exact_step_times():
    """compute 2 s, latency 0.5 s + 800 bytes at 1600 B/s = 1 s per message."""
    problem = asynclab.LeastSquares(features=100, examples=100)      # 800 bytes
    r = asynclab.run(problem=problem, policy="sync", workers=3, gradients=30,
                     compute="const:2", latency=0.5, bandwidth=1600, eval_points=2)
    assert r.summary.time == pytest.approx(10 * (1 + 2 + 1))
    assert r.summary.comm_fraction == pytest.approx(0.5)
    assert r.summary.idle_fraction == pytest.approx(0.0, abs=1e-12)


def test_server_apply_time_caps_throughput():
    r = asynclab.run(problem=PROBLEM, policy="async", workers=8, gradients=2000,
                     compute="const:0.01", apply_time=0.1, eval_points=2)
    assert r.summary.gradients_per_second == pytest.approx(10, rel=0.01)


def test_lock_free_writers_do_not_queue_at_the_server():
    kw = dict(problem=PROBLEM, workers=8, gradients=2000, compute="const:0.01",
              apply_time=0.1, eval_points=2)
    assert asynclab.run(policy="hogwild", **kw).summary.gradients_per_second == pytest.approx(800)


def test_speed_factors_and_stragglers_slow_the_right_workers():
    r = asynclab.run(problem=PROBLEM, policy="async", workers=3, gradients=3000,
                     compute="const:1", speeds=(1, 1, 3), eval_points=2)
    counts = np.bincount([e.worker for e in r.trace.of_kind("compute")], minlength=3)
    assert counts[0] == pytest.approx(3 * counts[2], rel=0.01)
    s = asynclab.run(problem=PROBLEM, policy="async", workers=1, gradients=4000,
                     compute="const:1", straggler=(0.25, 5), eval_points=2)
    # Mean time per gradient: 0.75 * 1 + 0.25 * 5 = 2.
    assert s.summary.time / 4000 == pytest.approx(2.0, rel=0.05)


def test_lognormal_mean_is_the_given_mean():
    r = asynclab.run(problem=PROBLEM, policy="async", workers=1, gradients=20000,
                     compute="lognormal:2:1", eval_points=2)
    assert r.summary.time / 20000 == pytest.approx(2.0, rel=0.05)


def test_backup_workers_cut_the_straggler_tail():
    kw = dict(problem=PROBLEM, workers=8, gradients=8000, compute="exp:1", seed=4,
              eval_points=2)
    sync, backup = asynclab.run(policy="sync", **kw), asynclab.run(policy="backup:2", **kw)
    # A step closes on the 6th gradient of 8 instead of the 8th. It would then take
    # E = H_8 - H_2 = 1.218 (the 6th order statistic) if late workers were
    # interrupted; they are not (they finish, and join the next step late), so it
    # takes somewhat longer, still well under sync's H_8 = 2.718.
    assert sync.summary.time / sync.summary.updates == pytest.approx(harmonic(8), rel=0.05)
    assert backup.summary.time / backup.summary.updates < 0.6 * harmonic(8)
    assert backup.summary.dropped > 0
