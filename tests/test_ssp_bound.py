"""The largest staleness ssp:S allows, and that the engine never exceeds it.

A worker w reads the weights at clock c. It was admitted, so the slowest clock was
at least c - S: every other worker had completed at least c - S steps (and may
have a gradient in flight that lands after w's read). Until w's gradient lands,
w's clock stays c, so the slowest clock is at most c and no other worker may
start a step beyond c + S: each completes at most step c + S + 1. So each of the
N - 1 others applies at most 2S + 1 gradients between w's read and w's apply:

    staleness <= (N - 1)(2S + 1)

With overlap=True a worker computes on the weights fetched after its gradient
before last landed (its read can be two clocks old) and may start while its
previous gradient is still on the way (others run one step further), and its own
previous gradient lands in between: staleness <= (N - 1)(2S + 5) + 1.
Lesson 05 derives both and shows them reached.
"""
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asynclab
from asynclab.policies import parse_policy
from asynclab.server import ParameterServer
from helpers import SMALL

PROBLEM = asynclab.Logistic(**SMALL)


def bound(workers, S, overlap=False):
    if overlap:
        return (workers - 1) * (2 * S + 5) + 1
    return (workers - 1) * (2 * S + 1)


@st.composite
def ssp_configs(draw, overlap):
    workers = draw(st.integers(2, 9))
    speeds = tuple(draw(st.lists(st.sampled_from([0.05, 0.1, 0.5, 1.0, 2.0, 10.0]),
                                 max_size=workers)))
    return asynclab.Config(
        problem=PROBLEM, policy=f"ssp:{draw(st.integers(0, 5))}", workers=workers,
        gradients=draw(st.integers(1, 400)), lr=0.1, batch=4, eval_points=2,
        seed=draw(st.integers(0, 2**32 - 1)),
        compute=draw(st.sampled_from(["const:1", "exp:1", "lognormal:1:1", "lognormal:1:0.3"])),
        speeds=speeds,
        straggler=draw(st.sampled_from([None, (0.01, 100.0), (0.1, 10.0), (0.3, 5.0),
                                        (0.03, 1000.0)])),
        latency=draw(st.sampled_from([0.0, 0.1, "exp:0.2", 1.0])),
        apply_time=draw(st.sampled_from([0.0, 0.05])),
        server_bandwidth=draw(st.sampled_from([math.inf, 1e5])),
        overlap=overlap)


property_settings = settings(max_examples=80, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


@given(ssp_configs(overlap=False))
@property_settings
def test_no_gradient_is_staler_than_n_minus_1_times_2s_plus_1(config):
    result = asynclab.run(config)
    assert result.summary.max_staleness <= bound(config.workers, int(config.policy.bound))


@given(ssp_configs(overlap=True))
@property_settings
def test_with_overlap_no_gradient_is_staler_than_the_looser_bound(config):
    result = asynclab.run(config)
    assert result.summary.max_staleness <= bound(config.workers, int(config.policy.bound),
                                                 overlap=True)


def test_the_bound_is_reached_by_the_servers_own_rules():
    """The worst schedule, played against the ParameterServer: worker 0 runs S steps
    ahead while the others each hold a gradient read at version 0; then, while its
    gradient is in flight, every other worker applies until the bound stops it."""
    for workers in (2, 3, 8):
        for S in (0, 1, 2, 4):
            server = ParameterServer(parse_policy(f"ssp:{S}"), np.zeros(2), workers, lr=0.1)
            reads = {}
            for w in range(workers):
                assert server.may_start(w)
                reads[w] = server.read()[1]
            for _ in range(S):                       # worker 0 runs S steps ahead
                server.push(0, np.ones(2), reads[0])
                assert server.may_start(0)
                reads[0] = server.read()[1]
            others = list(range(1, workers))
            applied = dict.fromkeys(others, 0)
            while others:                             # the others, round robin, until parked
                for u in list(others):
                    server.push(u, np.ones(2), reads[u])
                    applied[u] += 1
                    if server.may_start(u):
                        reads[u] = server.read()[1]
                    else:
                        others.remove(u)
            assert set(applied.values()) <= {2 * S + 1}
            staleness, applied_0, _ = server.push(0, np.ones(2), reads[0])
            assert applied_0 and staleness == bound(workers, S), (workers, S)


def test_a_simulated_cluster_reaches_the_bound():
    """Lesson 05's cluster built for it: worker 0 ten times faster, constant compute
    times, 3% of gradients 100x slower. Some seed reaches the bound exactly, and the
    old estimate (S + 1)(N - 1) is exceeded."""
    adversary = asynclab.Config(problem=PROBLEM, workers=8, gradients=300, eval_points=2,
                                compute="const:1", speeds=(0.1,), straggler=(0.03, 100))
    for S in (1, 2, 4):
        largest = max(r.summary.max_staleness for r in
                      asynclab.run_many(adversary.replace(policy=f"ssp:{S}"), seeds=20))
        assert largest == bound(8, S) > (S + 1) * 7
    largest = max(r.summary.max_staleness for r in
                  asynclab.run_many(adversary.replace(policy="ssp:0", overlap=True), seeds=20))
    assert largest == bound(8, 0, overlap=True)


def test_lesson_05s_transfer_question_asks_for_this_bound():
    from asynclab.course import questions
    q = questions.get("05-ssp-bound")
    right = q.options[q.right()[0]].value
    assert "6 workers under ssp:4" in q.question and right == bound(6, 4)
    assert (4 + 1) * (6 - 1) in [o.value for o in q.options if not o.correct]
