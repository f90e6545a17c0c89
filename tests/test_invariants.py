"""Properties every simulated run must have, over many random configurations."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asynclab
from helpers import SMALL, activity_by_worker

PROBLEM = asynclab.Logistic(**SMALL)

configs = st.builds(
    asynclab.Config,
    problem=st.just(PROBLEM),
    policy=st.sampled_from(["sync", "async", "hogwild", "ssp:0", "ssp:1", "ssp:3",
                            "backup:1", "local:2", "local:3"]),
    workers=st.integers(2, 6),
    gradients=st.integers(1, 150),
    lr=st.just(0.2),
    batch=st.just(4),
    seed=st.integers(0, 2**32 - 1),
    compute=st.sampled_from(["const:1", "exp:1", "lognormal:1:1", "exp:0.01"]),
    straggler=st.sampled_from([None, (0.2, 5.0)]),
    latency=st.sampled_from([0.0, 0.05, 0.5]),
    bandwidth=st.sampled_from([math.inf, 1e5]),
    apply_time=st.sampled_from([0.0, 0.02]),
    staleness_aware=st.booleans(),
    eval_points=st.just(5),
)
property_settings = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


@given(configs)
@property_settings
def test_no_worker_is_in_two_events_at_once(config):
    result = asynclab.run(config)
    for events in activity_by_worker(result).values():
        events.sort()
        for (s1, e1, *_), (s2, e2, *_) in zip(events, events[1:]):
            assert s2 >= e1 - 1e-9 * max(1.0, e1)
            assert e1 >= s1 and e2 >= s2


@given(configs)
@property_settings
def test_budget_updates_and_staleness_add_up(config):
    result = asynclab.run(config)
    s = result.summary
    assert s.gradients == config.gradients
    applied = result.trace.of_kind("apply")
    if config.timing.message_time(PROBLEM.nbytes) > 0:
        assert len(applied) + s.dropped == len(result.trace.of_kind("push"))
    assert all(e.staleness >= 0 for e in result.trace.of_kind("apply", "drop"))
    if not config.policy.aggregate:
        assert s.updates == s.gradients
    if config.policy.aggregate:
        assert s.max_staleness == 0
        assert all(e.staleness >= 1 for e in result.trace.of_kind("drop"))
    assert abs(s.compute_fraction + s.comm_fraction + s.idle_fraction - 1) < 1e-9
    assert 0 <= s.idle_fraction <= 1 + 1e-12


@given(configs.filter(lambda c: c.policy.name in ("sync", "local:2", "local:3")))
@property_settings
def test_sync_barrier_no_step_starts_before_the_last_one_ended(config):
    result = asynclab.run(config)
    computes = result.trace.of_kind("compute")
    by_version = {}
    for e in computes:
        first, last = by_version.get(e.version, (math.inf, -math.inf))
        by_version[e.version] = (min(first, e.start), max(last, e.end))
    versions = sorted(by_version)
    for v, nxt in zip(versions, versions[1:]):
        assert by_version[nxt][0] >= by_version[v][1]


@given(configs.filter(lambda c: c.policy.name.startswith("ssp")))
@property_settings
def test_ssp_no_worker_runs_more_than_s_steps_ahead(config):
    result = asynclab.run(config)
    bound = config.policy.bound
    pushes = {w: sorted(e.end for e in result.trace.of_kind("apply") if e.worker == w)
              for w in range(config.workers)}
    started = {w: 0 for w in range(config.workers)}
    for e in sorted(result.trace.of_kind("compute"), key=lambda e: e.start):
        clock = started[e.worker]          # steps this worker completed before this one
        started[e.worker] += 1
        # Every other worker must have completed at least clock - bound steps by now.
        for other, times in pushes.items():
            if other != e.worker:
                done = np.searchsorted(times, e.start, side="right")
                assert done >= clock - bound or done == len(times)


@given(configs)
@settings(max_examples=15, deadline=None)
def test_same_seed_same_trace_other_seed_other_trace(config):
    a, b = asynclab.run(config), asynclab.run(config)
    assert a.trace.rows == b.trace.rows
    assert a.history == b.history
    np.testing.assert_array_equal(a.params, b.params)
    other = asynclab.run(config.replace(seed=config.seed + 1))
    if config.gradients > 5 and config.compute.kind != "const":
        assert other.trace.rows != a.trace.rows


def test_a_simulated_run_pauses_the_cycle_collector_and_restores_it():
    import gc

    from asynclab.backends import simulated
    seen = []
    original = simulated.Simulation.run

    def spy(self):
        seen.append(gc.isenabled())
        return original(self)

    simulated.Simulation.run = spy
    try:
        assert gc.isenabled()
        asynclab.run(problem=asynclab.Logistic(features=10, examples=100), gradients=20)
        assert seen == [False] and gc.isenabled()          # paused during, restored after
        gc.disable()
        asynclab.run(problem=asynclab.Logistic(features=10, examples=100), gradients=20)
        assert not gc.isenabled()                           # as it was: still off
    finally:
        gc.enable()
        simulated.Simulation.run = original
    with pytest.raises(asynclab.StalledError):              # and after a run that fails
        asynclab.run(problem=asynclab.Logistic(features=10, examples=100), policy="sync",
                     workers=2, gradients=20, fail="1:0")
    assert gc.isenabled()
