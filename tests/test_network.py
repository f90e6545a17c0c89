"""The network model (asynclab/network.py) on the simulated cluster: every
formula of issue 11 checked exactly for constant times, and properties over
many random configurations.

Notation: N workers, constant compute time c, message time m = latency +
S / bandwidth for S bytes, s = S / server_bandwidth, K gradients per worker.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asynclab
from asynclab.backends.base import message_clocks, worker_streams
from asynclab.network import Link, MessageClock, parse_latency, ring_chunks, ring_sum, ring_time
from asynclab.trace import FETCH, PULL, PUSH, QUEUE, SEND, WAIT

PROBLEM = asynclab.LeastSquares(features=100, examples=100)      # S = 800 bytes
S = PROBLEM.nbytes
SMALL = asynclab.Logistic(features=20, examples=300)


def run(**kw):
    return asynclab.run(**{"problem": PROBLEM, "eval_points": 2, **kw})


# -- overlap ----------------------------------------------------------------------------
def overlapped_time(K, c, m):
    """Finite-run time of one overlapping worker, derived by hand.

    The first pull is in the foreground (m), then gradient 1 (c). The worker
    hands gradient k over at h_k; its sender pushes (m) and, while gradients
    remain to be started, fetches (m), so h_k = h_{k-1} + max(c, 2m). No
    gradient is left to start once the second-to-last push has arrived, so
    that push is not followed by a fetch: h_K = h_{K-1} + max(c, m). The run
    ends when the last push arrives, at h_K + m.
    """
    if K == 1:
        return m + c + m
    return m + c + (K - 2) * max(c, 2 * m) + max(c, m) + m


@pytest.mark.parametrize("c,latency", [(2.0, 0.5), (1.0, 0.5), (1.0, 0.6), (0.3, 1.0)])
@pytest.mark.parametrize("workers", [1, 3])
def test_overlap_finite_run_time_is_exact(c, latency, workers):
    K = 9
    r = run(policy="async", workers=workers, gradients=workers * K, compute=f"const:{c}",
            latency=latency, overlap=True)
    assert r.summary.time == pytest.approx(overlapped_time(K, c, latency), rel=1e-12)
    plain = run(policy="async", workers=workers, gradients=workers * K, compute=f"const:{c}",
                latency=latency)
    assert plain.summary.time == pytest.approx(K * (c + 2 * latency), rel=1e-12)


@pytest.mark.parametrize("c", [0.5, 1.0, 3.0])
def test_overlap_throughput_is_n_over_max_c_2m_and_without_n_over_c_plus_2m(c):
    """m = 0.25 s latency + 800 B at 1600 B/s = 0.75 s."""
    N, K, m = 4, 400, 0.75
    kw = dict(policy="async", workers=N, gradients=N * K, compute=f"const:{c}", latency=0.25,
              bandwidth=1600)
    over, plain = run(overlap=True, **kw), run(**kw)
    assert plain.summary.gradients_per_second == pytest.approx(N / (c + 2 * m), rel=1e-12)
    # Steady state N / max(c, 2m); the run's ends cost less than one period.
    assert over.summary.gradients_per_second == pytest.approx(N / max(c, 2 * m), rel=2 / K)
    assert over.summary.time == pytest.approx(overlapped_time(K, c, m), rel=1e-12)


def test_overlap_hides_communication_and_staleness_grows():
    kw = dict(policy="async", workers=1, gradients=50, compute="const:2", latency=0.5)
    over, plain = run(overlap=True, **kw), run(**kw)
    # One worker: its own last gradient is still in flight, so every gradient but
    # the first misses one update.
    assert plain.summary.mean_staleness == 0 and over.summary.max_staleness == 1
    assert over.summary.mean_staleness == pytest.approx(49 / 50)
    s = over.summary
    # Only the first pull is not hidden. Gradient k's send and fetch run during
    # gradient k+1: 49 sends and 48 fetches (none after the last two pushes) of 0.5 s.
    assert s.transfer_fraction == pytest.approx(0.5 / s.time)
    assert s.overlap_fraction == pytest.approx((49 + 48) * 0.5 / s.time)
    kinds = {e.kind for e in over.trace.events}
    assert {SEND, FETCH} <= kinds and len(over.trace.of_kind(SEND)) == 50


def test_a_worker_waits_for_its_busy_link_and_that_is_transfer():
    """c = 0.3 < 2m = 2: the computer waits for its sender most of each period."""
    r = run(policy="async", workers=1, gradients=20, compute="const:0.3", latency=1.0,
            overlap=True)
    waits = r.trace.of_kind(PUSH)       # at hand-overs 2..20: 2m - c, the last m - c
    assert len(waits) == 19 and all(e.duration == pytest.approx(1.7) for e in waits[:-1])
    assert waits[-1].duration == pytest.approx(0.7)
    assert r.summary.transfer_fraction > 0.7


# -- the server's shared link ----------------------------------------------------------------
@pytest.mark.parametrize("c", [0.5, 1.0, 1.5, 2.0, 4.0])
@pytest.mark.parametrize("workers", [2, 4])
def test_sync_step_time_with_a_shared_server_link(c, workers):
    """Derivation: after a barrier the N pulls leave one after another, so
    worker k holds the parameters at k·s and pushes at k·s + c. If c >= (N-1)s
    the pushes find the link free and the last arrives at c + (N+1)s; if not,
    they queue behind the pulls and the link never idles: 2·N·s. So a step
    takes max(2Ns, c + (N+1)s)."""
    s, steps = 0.5, 6
    r = run(policy="sync", workers=workers, gradients=workers * steps, compute=f"const:{c}",
            server_bandwidth=S / s)
    assert r.summary.time / steps == pytest.approx(max(2 * workers * s, c + (workers + 1) * s),
                                                   rel=1e-12)
    queued = sum(e.duration for e in r.trace.of_kind(QUEUE))
    pulls_wait = steps * s * workers * (workers - 1) / 2       # the k-th pull waits (k-1)s
    push_wait = steps * sum(max(0.0, (workers - 1) * s - c) for _ in range(workers))
    assert queued == pytest.approx(pulls_wait + push_wait, rel=1e-9)


def test_async_saturates_at_server_bandwidth_over_2s():
    s = 0.01
    rates = [run(policy="async", workers=n, gradients=4000, compute="const:0.05",
                 server_bandwidth=S / s).summary.gradients_per_second for n in (1, 4, 20, 80)]
    assert rates[0] == pytest.approx(1 / (0.05 + 2 * s))
    assert rates == sorted(rates)
    assert rates[-2] == pytest.approx(1 / (2 * s), rel=1e-3)     # S·... = 50 gradients/s
    assert rates[-1] == pytest.approx(1 / (2 * s), rel=1e-3)


@pytest.mark.parametrize("k", [1, 2, 4, 8])
@pytest.mark.parametrize("c", [0.5, 3.0])
def test_a_server_link_k_times_as_fast_as_the_workers_is_k_shards(k, c):
    """Worker links of bandwidth B (a message takes m = S/B on them) and a server
    link of k·B, i.e. k shards with links like the workers', each carrying S/k of
    every message: the server's link takes a new message every s = m/k. After a
    barrier pull k starts at k·s and arrives at k·s + m; its push is ready at
    k·s + m + c. If the pushes find the link free, the last arrives at
    c + (N-1)s + 2m; if not, the link never idles and the last push starts at
    (2N-1)s: a step takes max((2N-1)s + m, c + (N-1)s + 2m), which for k = 1 is
    the one-link formula max(2Ns, c + (N+1)s)."""
    workers, steps, m = 8, 5, 0.25
    s = m / k
    r = run(policy="sync", workers=workers, gradients=workers * steps, compute=f"const:{c}",
            bandwidth=S / m, server_bandwidth=k * S / m)
    expected = max((2 * workers - 1) * s + m, c + (workers - 1) * s + 2 * m)
    assert r.summary.time / steps == pytest.approx(expected, rel=1e-12)
    if k == 1:
        assert expected == pytest.approx(max(2 * workers * s, c + (workers + 1) * s))


def test_async_saturates_at_server_bandwidth_over_2s_even_with_slower_worker_links():
    m, k = 0.04, 4                   # worker links: 0.04 s a message; the server's: 4x faster
    rates = [run(policy="async", workers=n, gradients=4000, compute="const:0.05",
                 bandwidth=S / m, server_bandwidth=k * S / m).summary.gradients_per_second
             for n in (1, 40, 80)]
    assert rates[0] == pytest.approx(1 / (0.05 + 2 * m))
    assert rates[1] == pytest.approx(rates[2], rel=1e-3) == pytest.approx(k / (2 * m), rel=1e-3)


def test_the_servers_apply_is_queue_time():
    r = run(policy="async", workers=8, gradients=400, compute="const:0.01", apply_time=0.1)
    assert r.trace.of_kind(QUEUE) and not r.trace.of_kind(WAIT)
    s = r.summary
    assert s.queue_fraction > 0.8 and s.idle_fraction == pytest.approx(
        s.queue_fraction + s.wait_fraction)


@pytest.mark.parametrize("policy", ["allreduce", "hogwild"])
def test_a_policy_without_a_server_ignores_the_servers_link_and_apply_time(policy):
    """So one Config compares every policy (README, Communication; lesson 09)."""
    plain = run(policy=policy, workers=3, gradients=60, latency=0.01)
    served = run(policy=policy, workers=3, gradients=60, latency=0.01,
                 server_bandwidth=S / 0.5, apply_time=0.5)
    assert served.summary.time == plain.summary.time
    np.testing.assert_array_equal(served.params, plain.params)
    assert not served.trace.of_kind(QUEUE)


# -- ring all-reduce ------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [2, 3, 5])
def test_allreduce_step_is_compute_plus_the_ring(workers):
    c, latency, bandwidth, steps = 1.0, 0.1, 4000.0, 7
    r = run(policy="allreduce", workers=workers, gradients=workers * steps,
            compute=f"const:{c}", latency=latency, bandwidth=bandwidth)
    ring = 2 * (workers - 1) * (latency + S / (workers * bandwidth))
    assert ring_time(workers, latency, S, bandwidth) == pytest.approx(ring)
    assert r.summary.time == pytest.approx(steps * (c + ring), rel=1e-12)
    assert r.summary.transfer_fraction == pytest.approx(ring / (c + ring), rel=1e-9)


@pytest.mark.parametrize("steps", [1, 2, 3, 5, 8])
def test_allreduce_parameters_equal_syncs_after_every_step(steps):
    """Same seed, same gradients; only the order of the additions (a ring) differs."""
    kw = dict(problem=SMALL, workers=3, gradients=3 * steps, lr=0.4, batch=8,
              compute="exp:1", seed=4, eval_points=2)
    sync = asynclab.run(policy="sync", latency=0.3, **kw)
    ring = asynclab.run(policy="allreduce", latency=0.3, bandwidth=1e3, **kw)
    np.testing.assert_allclose(ring.params, sync.params, rtol=0, atol=1e-12)
    assert ring.summary.updates == sync.summary.updates == steps
    assert ring.summary.time != sync.summary.time


def test_a_partial_last_ring_step_averages_the_lowest_worker_ids_gradients():
    """A budget that is not a multiple of N: the last step averages the gradients
    of workers 0..extra-1 (so does sync's: tests/test_review_defects.py)."""
    from helpers import sgd_reference
    kw = dict(problem=SMALL, lr=0.4, batch=8, seed=4)
    ring = asynclab.run(policy="allreduce", workers=3, gradients=3 * 4 + 2, compute="exp:1",
                        eval_points=2, **kw)
    full = sgd_reference(steps=4, workers=3, **kw)
    from asynclab.backends.base import worker_streams
    rngs, _ = worker_streams(4, 3)
    for _ in range(4):
        for r in rngs:
            SMALL.sample(r, 8)
    idx = np.concatenate([SMALL.sample(rngs[w], 8) for w in (0, 1)])
    expected = full - 0.4 * SMALL.gradient(full, idx)
    np.testing.assert_allclose(ring.params, expected, rtol=0, atol=1e-12)


def test_allreduce_is_a_barrier_policy_that_never_pulls():
    r = asynclab.run(problem=SMALL, policy="allreduce", workers=4, gradients=40,
                     compute="exp:1", latency=0.05, seed=1)
    by_step = {}
    for e in r.trace.of_kind("compute"):
        by_step.setdefault(e.version, []).append(e)
    for v in range(1, 10):     # nobody computes step v before step v-1's ring has ended
        ring_end = max(e.end for e in r.trace.of_kind(PULL) if e.version == v - 1)
        assert min(e.start for e in by_step[v]) >= ring_end
    assert r.summary.mean_staleness == 0 and r.summary.updates == 10


def test_ring_sum_adds_chunks_in_ring_order():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(10) * 10.0 ** rng.integers(-8, 8, 10) for _ in range(4)]
    chunks = ring_chunks(10, 4)
    assert [c.stop - c.start for c in chunks] == [2, 3, 2, 3]
    total = ring_sum(grads)
    for c, part in enumerate(chunks):     # chunk c starts at worker c, then c+1, ...
        acc = grads[c][part].copy()
        for j in range(1, 4):
            acc = acc + grads[(c + j) % 4][part]
        np.testing.assert_array_equal(total[part], acc)
    np.testing.assert_allclose(total, sum(grads), rtol=1e-12)


# -- latency laws ---------------------------------------------------------------------------
def test_latency_is_a_number_or_a_law():
    assert parse_latency(0.05) == parse_latency("0.05") == parse_latency("const:0.05") == 0.05
    law = parse_latency("exp:0.05")
    assert (law.kind, law.mean) == ("exp", 0.05)
    for bad in ("exp:-1", "normal:1", "-0.1", "nan", "inf", "exp:", True):
        with pytest.raises(ValueError, match="latency must be"):
            parse_latency(bad)


def test_a_constant_latency_draws_nothing_and_streams_are_unchanged():
    rng = np.random.default_rng(7)
    before = rng.bit_generator.state
    clock = MessageClock(0.05, 1e6, rng)
    assert [clock.message_time(1000) for _ in range(5)] == [0.05 + 1e-3] * 5
    assert rng.bit_generator.state == before
    # The network streams are a third child: the first two are as before.
    old = np.random.SeedSequence(3).spawn(2)
    new = np.random.SeedSequence(3).spawn(3)[:2]
    for a, b in zip(old, new):
        assert a.spawn_key == b.spawn_key
        assert np.random.default_rng(a).random() == np.random.default_rng(b).random()
    data, timing = worker_streams(3, 2)
    first = np.random.SeedSequence(3).spawn(3)[0].spawn(2)[0]
    assert data[0].random() == np.random.default_rng(first).random()


def test_latency_law_is_drawn_per_message_from_each_workers_own_stream():
    r = run(policy="async", workers=2, gradients=4000, compute="const:1", latency="exp:0.2")
    pulls = [e.duration for e in r.trace.of_kind(PULL)]
    assert np.mean(pulls) == pytest.approx(0.2, rel=0.05) and np.std(pulls) > 0.15
    again = run(policy="async", workers=2, gradients=4000, compute="const:1", latency="exp:0.2")
    assert again.trace.rows == r.trace.rows
    # Worker 0's messages are its stream's draws, in order, whatever worker 1 does.
    clock = message_clocks(asynclab.Config(workers=2, latency="exp:0.2"))[0]
    mine = [e.duration for e in r.trace.events if e.worker == 0 and e.kind in (PULL, PUSH)]
    np.testing.assert_allclose(mine[:20], [clock.latency() for _ in range(20)], rtol=1e-9)


# -- defaults keep their numbers -----------------------------------------------------------------
def test_defaults_record_no_new_kinds():
    for policy in ("sync", "async", "ssp:1", "backup:1", "local:2", "hogwild"):
        r = asynclab.run(problem=SMALL, policy=policy, workers=3, gradients=60, latency=0.1)
        assert {e.kind for e in r.trace.events} <= {"compute", "pull", "push", "wait",
                                                    "apply", "drop"}


def test_link_serves_first_come_first_served():
    link = Link()
    assert [link.reserve(t, 1.0) for t in (0.0, 0.2, 0.5, 5.0)] == [0.0, 1.0, 2.0, 5.0]


# -- properties ---------------------------------------------------------------------------
configs = st.builds(
    asynclab.Config,
    problem=st.just(SMALL),
    policy=st.sampled_from(["sync", "async", "hogwild", "ssp:1", "backup:1", "local:2",
                            "allreduce"]),
    workers=st.integers(2, 6),
    gradients=st.integers(1, 120),
    lr=st.just(0.2),
    batch=st.just(4),
    seed=st.integers(0, 2**32 - 1),
    compute=st.sampled_from(["const:1", "exp:1", "lognormal:1:1", "exp:0.01"]),
    straggler=st.sampled_from([None, (0.2, 5.0)]),
    latency=st.sampled_from([0.0, 0.05, "exp:0.05", "lognormal:0.3:1"]),
    bandwidth=st.sampled_from([math.inf, 1e5]),
    server_bandwidth=st.sampled_from([math.inf, 1e4, 1e5]),
    apply_time=st.sampled_from([0.0, 0.02]),
    eval_points=st.just(5),
).flatmap(lambda c: st.sampled_from(
    [c, c.replace(overlap=True)] if not c.policy.aggregate else [c]))
property_settings = settings(max_examples=80, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


@given(configs)
@property_settings
def test_no_link_carries_two_messages_at_once(config):
    r = asynclab.run(config)
    messages = [e for e in r.trace.events if e.kind in (PULL, PUSH, SEND, FETCH)
                and not (config.policy.ring or (config.overlap and e.kind == PUSH))]
    for w in range(config.workers):          # a worker's own link
        mine = sorted((e.start, e.end) for e in messages if e.worker == w)
        for (_, e1), (s2, _) in zip(mine, mine[1:]):
            assert s2 >= e1 - 1e-9
    if config.policy.has_server and math.isfinite(config.server_bandwidth):
        # The server's link holds each message while its own share of the bytes moves
        # (S / server_bandwidth: the whole message when it is the slower link).
        hold = SMALL.nbytes / config.server_bandwidth
        busy = sorted(e.start for e in messages)
        assert all(b - a >= hold * (1 - 1e-9) for a, b in zip(busy, busy[1:]))


@given(configs)
@property_settings
def test_where_the_time_went_sums_to_one(config):
    s = asynclab.run(config).summary
    parts = (s.compute_fraction, s.wait_fraction, s.queue_fraction, s.transfer_fraction)
    assert sum(parts) == pytest.approx(1.0, abs=1e-9)
    assert all(-1e-12 <= x <= 1 + 1e-12 for x in parts)
    assert s.idle_fraction == pytest.approx(s.wait_fraction + s.queue_fraction, abs=1e-12)
    assert s.comm_fraction == s.transfer_fraction
    assert 0 <= s.overlap_fraction <= s.compute_fraction + 1e-12
    assert s.overlap_fraction == 0 or config.overlap


@given(st.builds(
    asynclab.Config, problem=st.just(SMALL),
    policy=st.sampled_from(["async", "ssp:0", "ssp:2", "hogwild"]),
    workers=st.integers(2, 6), gradients=st.integers(1, 150), batch=st.just(4),
    compute=st.sampled_from(["const:1", "const:0.1"]),
    speeds=st.sampled_from([(), (1, 3), (1, 2.5)]),
    latency=st.sampled_from([0.0, 0.05, 0.5, 2.0]),
    bandwidth=st.sampled_from([math.inf, 1e4]),
    server_bandwidth=st.sampled_from([math.inf, 1e4, 1e5]),
    apply_time=st.sampled_from([0.0, 0.02]),
    eval_points=st.just(2)))
@property_settings
def test_overlap_never_lowers_throughput(config):
    """With constant times (each worker's k-th gradient then takes the same
    time either way), handing pushes to a background sender never ends a run later."""
    plain, over = asynclab.run(config), asynclab.run(config.replace(overlap=True))
    assert over.summary.gradients == plain.summary.gradients
    assert over.summary.time <= plain.summary.time * (1 + 1e-9)


def test_the_timeline_draws_background_messages_on_a_thin_lane_and_queue_in_its_style():
    from asynclab import plots
    r = run(policy="async", workers=3, gradients=24, compute="exp:1", latency=0.3,
            overlap=True, server_bandwidth=4000)
    from matplotlib.figure import Figure
    timeline = plots.Timeline(Figure().add_subplot())
    ax = timeline.update(r)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"compute", "queueing",
            "sent in background"} <= set(labels)
    lane = timeline.bars["background"].get_path().vertices[:, 1]
    assert np.allclose(sorted(set(np.round(lane % 1, 6))), [0.25, 0.4])   # a thin lane
    main = timeline.bars["compute"].get_path().vertices[:, 1]
    assert np.allclose(np.ptp(main[:5]), 0.65)  # the row leaves room for the lane
    plain = plots.timeline(run(policy="async", workers=3, gradients=24)).axes[0]
    plain_labels = [t.get_text() for t in plain.get_legend().get_texts()]
    assert "queueing" not in plain_labels
    assert "sent in background" not in plain_labels


def test_a_constant_latency_shares_one_message_clock_and_draws_no_stream():
    config = asynclab.Config(problem=PROBLEM, workers=5, latency=0.01, bandwidth=1e4)
    clocks = message_clocks(config)
    assert len(clocks) == 5 and all(c is clocks[0] for c in clocks) and clocks[0].rng is None
    law = message_clocks(config.replace(latency="exp:0.01"))
    assert len({id(c) for c in law}) == 5 and all(c.rng is not None for c in law)
