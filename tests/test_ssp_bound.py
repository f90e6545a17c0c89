"""The largest staleness ssp:S allows, and that the engine never exceeds it.

A worker w reads the weights at clock c. It was admitted, so the slowest clock was
at least c - S: every other worker had completed at least c - S steps (and may
have a gradient in flight that lands after w's read). Until w's gradient lands,
w's clock stays c, so the slowest clock is at most c and no other worker may
start a step beyond c + S: each completes at most step c + S + 1. So each of the
N - 1 others applies at most 2S + 1 gradients between w's read and w's apply:

    staleness <= (N - 1)(2S + 1)

With overlap=True a worker's sender fetches only once the bound lets the worker go
on (the slowest clock is still at least c - S at the read), but the worker computes
on those weights only after handing over the gradient it computed meanwhile, which
lands in between; its clock reaches c + 1 first, so each other worker can complete
up to step c + S + 2: staleness <= (N - 1)(2S + 2) + 1 while the budget lasts. A
worker whose budget is spent sends without waiting at the bound, one more step:
(N - 1)(2S + 3) + 1 over a whole run. Lesson 05 derives them and shows them reached.
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


def bound(workers, S, overlap=False, budget_ends=True):
    """The largest staleness ssp:S allows; with overlap, over a whole run or (not
    ``budget_ends``) over the gradients that land before its last one begins."""
    if overlap:
        return (workers - 1) * (2 * S + 2 + budget_ends) + 1
    return (workers - 1) * (2 * S + 1)


def largest_while_the_budget_lasts(result):
    """The largest staleness of the gradients that landed before the run's last
    gradient began (no worker had run out of gradients yet); 0 if none did."""
    last = max(e.start for e in result.trace.of_kind("compute"))
    return max((e.staleness for e in result.trace.of_kind("apply") if e.end < last), default=0)


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
def test_with_overlap_no_gradient_is_staler_than_the_looser_bounds(config):
    result = asynclab.run(config)
    n, S = config.workers, int(config.policy.bound)
    assert result.summary.max_staleness <= bound(n, S, overlap=True)
    assert largest_while_the_budget_lasts(result) <= bound(n, S, overlap=True,
                                                           budget_ends=False)


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


def test_a_simulated_cluster_reaches_the_bounds():
    """Lesson 05's cluster built for it: worker 0 ten times faster, constant compute
    times, 3% of gradients 150x slower. Some seed reaches the bound exactly (the old
    estimate (S + 1)(N - 1) is exceeded), and with overlap the bound while the budget
    lasts."""
    adversary = asynclab.Config(problem=PROBLEM, workers=8, gradients=300, eval_points=2,
                                compute="const:1", speeds=(0.1,), straggler=(0.03, 150))
    for S in (1, 2, 4):
        largest = max(r.summary.max_staleness for r in
                      asynclab.run_many(adversary.replace(policy=f"ssp:{S}"), seeds=20))
        assert largest == bound(8, S) > (S + 1) * 7
        overlapped = asynclab.run_many(adversary.replace(policy=f"ssp:{S}", overlap=True),
                                       seeds=20)
        assert max(map(largest_while_the_budget_lasts, overlapped)) == \
            bound(8, S, overlap=True, budget_ends=False)


def test_lesson_05s_transfer_question_asks_for_this_bound():
    from asynclab.course import questions
    q = questions.get("05-ssp-bound")
    right = q.options[q.right()[0]].value
    assert "7 workers under ssp:5" in q.question and right == bound(7, 5)
    assert (5 + 1) * (7 - 1) in [o.value for o in q.options if not o.correct]
