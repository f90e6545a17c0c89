"""The thread backend's own promises: injected delays, BLAS limits, progress.

Policy behaviour shared with the process backend is tested in
test_real_backends.py.
"""
import dataclasses

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import asynclab
from asynclab.backends.realtime import Slowdown
from asynclab.trace import COMPUTE, PULL, PUSH

SMALL = asynclab.Logistic(features=50, examples=500)


def run(**kw):
    return asynclab.run(**{"problem": SMALL, "backend": "thread", "lr": 0.3, **kw})


def test_injected_latency_and_delays_show_in_the_trace():
    r = run(policy="async", workers=2, gradients=40, latency=0.002, delay="const:0.001",
            speeds=(1, 3))
    for kind in (PULL, PUSH):
        events = r.trace.of_kind(kind)
        assert len(events) == 40 and min(e.duration for e in events) >= 0.002
    computes = {w: [e.duration for e in r.trace.of_kind(COMPUTE) if e.worker == w]
                for w in (0, 1)}
    assert min(computes[0]) >= 0.001 and min(computes[1]) >= 0.003
    assert r.summary.comm_fraction > 0


def test_bandwidth_charges_each_message_for_the_parameter_vector():
    r = run(policy="async", workers=1, gradients=5, bandwidth=SMALL.nbytes / 0.004)
    assert min(e.duration for e in r.trace.of_kind(PULL, PUSH)) >= 0.004


def test_stragglers_and_speeds_stretch_the_compute_time():
    config = asynclab.Config(workers=2, speeds=(1, 3), straggler=(1.0, 2.0))
    fixed = Slowdown(config.replace(delay="const:0.01"), 1, np.random.default_rng(0))
    assert fixed.seconds(123.0) == pytest.approx(0.01 * 3 * 2)
    stretch = Slowdown(config, 1, np.random.default_rng(0))      # no delay: scale the real time
    assert stretch.seconds(0.5) == pytest.approx(0.5 * (3 * 2 - 1))
    assert Slowdown(asynclab.Config(workers=2), 0, np.random.default_rng(0)).seconds(0.5) == 0


@dataclasses.dataclass(frozen=True)
class BlasSpy(asynclab.Logistic):
    """Records how many BLAS threads were allowed while gradients were computed."""

    def gradient(self, w, idx):
        seen = self.__dict__.setdefault("seen", set())
        seen.update(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
        return super().gradient(w, idx)


def test_blas_is_limited_to_one_thread_during_the_run_and_restored_after():
    before = [lib["num_threads"] for lib in threadpool_info()]
    spy = BlasSpy(features=50, examples=500)
    run(problem=spy, policy="async", workers=2, gradients=20)
    assert spy.__dict__["seen"] == {1}
    assert [lib["num_threads"] for lib in threadpool_info()] == before


def test_local_sgd_sends_one_update_per_h_gradients():
    r = run(policy="local:4", workers=2, gradients=80, delay="const:0.0002")
    assert (r.summary.updates, r.summary.gradients) == (10, 80)
    assert len(r.trace.of_kind(COMPUTE)) == 80


def test_progress_bar_counts_the_budget(capsys):
    run(policy="async", workers=2, gradients=50, progress=True)
    err = capsys.readouterr().err
    assert "50/50" in err and "async (thread)" in err
