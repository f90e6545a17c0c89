"""Fewer rounds, no server (issue 21): diloco:H, gossip and data partitions.

Oracles first: gossip with one worker is sequential SGD, diloco:H with an
outer step of 1 and no outer momentum is local:H, an iid partition is
today's sampling; then DiLoCo's outer arithmetic by hand, the samplers, the
neighbour rule, the pair exchange and what the summaries report.
"""
import itertools
import threading

import numpy as np
import pytest
from helpers import SMALL, sgd_reference

import asynclab
from asynclab.backends.base import worker_streams
from asynclab.backends.peers import PeerModels
from asynclab.drift import ClientDrift, combined
from asynclab.gossip import Neighbours, neighbour_streams
from asynclab.outer import OuterNesterov
from asynclab.momentum import HeavyBall
from asynclab.partition import Minibatches, minibatches, parse_partition

DIGITS = asynclab.make_problem("logistic", dataset="digits")


# -- oracles ------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["simulated", "thread", "process"])
def test_gossip_with_one_worker_is_sequential_sgd(backend):
    problem = asynclab.Logistic(**SMALL)
    result = asynclab.run(problem=problem, policy="gossip", backend=backend, workers=1,
                          gradients=120, lr=0.2, batch=8, seed=5, latency=0.01)
    expected = sgd_reference(problem, lr=0.2, batch=8, seed=5, steps=120)
    np.testing.assert_array_equal(result.params, expected)
    s = result.summary
    assert (s.gradients, s.updates, s.mean_staleness, s.consensus_distance) == (120, 120, 0, 0)


def test_gossip_with_one_worker_and_momentum_is_async_with_one_worker():
    kw = dict(problem=asynclab.Logistic(**SMALL), workers=1, gradients=150, lr=0.1,
              momentum=0.9, seed=2, partition="shards:3")
    gossip, single = asynclab.run(policy="gossip", **kw), asynclab.run(policy="async", **kw)
    np.testing.assert_array_equal(gossip.params, single.params)
    assert gossip.history.loss == single.history.loss


@pytest.mark.parametrize("settings", [
    dict(workers=4, gradients=403),                               # a last partial round
    dict(workers=3, gradients=500, momentum=0.5, latency="exp:0.1"),
    dict(workers=4, gradients=403, overlap=True, buckets=3, latency=0.1),
    dict(workers=3, gradients=300, partition="dirichlet:0.5", straggler=(0.2, 4)),
])
def test_diloco_with_outer_step_one_and_no_outer_momentum_is_local_sgd(settings):
    kw = dict(problem=asynclab.Logistic(**SMALL), lr=0.3, seed=1, **settings)
    local = asynclab.run(policy="local:4", **kw)
    diloco = asynclab.run(policy="diloco:4", outer_lr=1, outer_momentum=0, **kw)
    np.testing.assert_array_equal(diloco.params, local.params)
    assert diloco.history.loss == local.history.loss
    assert diloco.trace.rows == local.trace.rows
    assert diloco.summary.client_drift == local.summary.client_drift
    # With its defaults (0.7, Nesterov 0.9) the outer step is another optimiser.
    default = asynclab.run(policy="diloco:4", **kw)
    assert default.config.policy.outer == (0.7, 0.9)
    assert not np.allclose(default.params, local.params)


def test_diloco_is_local_steps_then_a_nesterov_step_by_hand():
    problem, lr, H, rounds = asynclab.Logistic(**SMALL), 0.2, 3, 7
    outer_lr, mu = 0.6, 0.8
    result = asynclab.run(problem=problem, policy=f"diloco:{H}", workers=1, gradients=H * rounds,
                          lr=lr, batch=8, seed=4, outer_lr=outer_lr, outer_momentum=mu)
    rng = worker_streams(4, 1)[0][0]
    params, velocity = problem.initial_params(), None
    for _ in range(rounds):
        local, total = params, None
        for _ in range(H):      # inner SGD on a private copy; the update is the gradients' sum
            grad = problem.gradient(local, problem.sample(rng, 8))
            local = local - lr * grad
            total = grad if total is None else total + grad
        delta = lr * (total / 1)                  # local:H's displacement: the pseudo-gradient
        velocity = delta if velocity is None else mu * velocity + delta
        params = params - outer_lr * (delta + mu * velocity)
    np.testing.assert_array_equal(result.params, params)


def test_outer_nesterov_is_torch_sgd_with_nesterov():
    # torch.optim.SGD(nesterov=True): buf = mu buf + g (buf = g at first), p -= lr (g + mu buf)
    rng = np.random.default_rng(0)
    outer = OuterNesterov(0.7, 0.9, inner=HeavyBall(0.0))
    buf = None
    for _ in range(5):
        g = rng.standard_normal(6)
        buf = g if buf is None else 0.9 * buf + g
        np.testing.assert_allclose(outer.step(g / 0.5, 0.5), 0.7 * (g + 0.9 * buf), rtol=1e-13)


def test_the_default_partition_is_todays_sampling():
    problem = asynclab.Logistic(**SMALL)
    config = asynclab.Config(problem=problem, workers=3, seed=7)
    assert str(config.partition) == "iid" and config.to_dict()["partition"] == "iid"
    batches = minibatches(config, worker_streams(7, 3)[0])
    rngs = worker_streams(7, 3)[0]
    for w in range(3):
        for _ in range(5):
            np.testing.assert_array_equal(batches[w].draw(16), problem.sample(rngs[w], 16))
    explicit = asynclab.run(config.replace(partition="iid", workers=1, gradients=90))
    np.testing.assert_array_equal(explicit.params, sgd_reference(
        problem, lr=0.1, batch=32, seed=7, steps=90))


# -- partitions -----------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["dirichlet:0.1", "dirichlet:100", "shards:2", "shards:5"])
def test_a_partition_deals_every_training_example_to_one_worker(spec):
    parts = parse_partition(spec).parts(DIGITS, 4, seed=3)
    every = np.concatenate(parts)
    assert sorted(every) == list(range(DIGITS.train_examples))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    if spec.startswith("shards"):       # K shards, each of at most two labels where it is cut
        k = int(spec.split(":")[1])
        assert all(len(np.unique(DIGITS.train_labels[p])) <= 2 * k for p in parts)


def test_a_smaller_alpha_gives_each_worker_fewer_labels():
    def top_share(spec):
        parts = parse_partition(spec).parts(DIGITS, 8, seed=0)
        return np.mean([np.bincount(DIGITS.train_labels[p]).max() / len(p) for p in parts])
    skewed, mild, iid_like = (top_share(f"dirichlet:{alpha}") for alpha in (0.1, 10, 1000))
    assert skewed > 0.6 > mild > iid_like and iid_like < 0.2   # iid: about 0.1 and noise


def test_a_worker_draws_only_from_its_part_and_the_split_follows_the_seed():
    config = asynclab.Config(problem=DIGITS, workers=4, partition="shards:2", seed=1)
    batches = minibatches(config, worker_streams(1, 4)[0])
    for mine in batches:
        drawn = np.concatenate([mine.draw(32) for _ in range(20)])
        assert set(drawn) <= set(mine.part)
    again = config.partition.parts(DIGITS, 4, 1)
    other = config.partition.parts(DIGITS, 4, 2)
    assert all(np.array_equal(a, b.part) for a, b in zip(again, batches))
    assert not all(np.array_equal(a, b) for a, b in zip(again, other))
    assert isinstance(batches[0], Minibatches)


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_real_backends_draw_from_the_same_parts(backend):
    # Under sync every step averages one gradient per worker at the same
    # parameters: timing changes only the order of a sum, so the simulated run
    # is an oracle, and a worker drawing from another part would be far off.
    cfg = asynclab.Config(problem=DIGITS, policy="sync", workers=2, gradients=60, lr=0.3,
                          partition="shards:1", eval_points=2)
    real = asynclab.run(cfg.replace(backend=backend))
    oracle = asynclab.run(cfg)
    np.testing.assert_allclose(real.params, oracle.params, rtol=1e-9, atol=1e-12)
    assert not np.allclose(oracle.params, asynclab.run(cfg.replace(partition="iid")).params)


def test_client_drift_grows_with_local_steps_and_with_non_iid_data():
    def drift(partition, steps):
        r = asynclab.run(problem=DIGITS, policy=f"local:{steps}", workers=4, gradients=960,
                         lr=0.2, partition=partition, eval_points=2)
        return r.summary.client_drift
    iid = [drift("iid", h) for h in (1, 4, 16)]
    skewed = [drift("shards:2", h) for h in (1, 4, 16)]
    assert iid == sorted(iid) and skewed == sorted(skewed)
    assert all(s > 2 * i for s, i in zip(skewed, iid))


def test_client_drift_is_the_local_models_mean_distance_from_their_average():
    meter = ClientDrift()
    u1, u2 = np.array([1.0, 0.0]), np.array([0.0, 3.0])
    meter.add(u1)
    meter.add(u2)
    meter.close(lr=0.5)
    # local models p - lr u: their average is p - lr (u1 + u2) / 2, each at lr |u1 - u2| / 2
    expected = 0.5 * np.linalg.norm(u1 - u2) / 2
    assert meter.value == pytest.approx(expected)
    half = [ClientDrift(), ClientDrift()]       # the same vectors cut in two slices (Ray shards)
    for k in range(2):
        half[k].add(u1[k:k + 1])
        half[k].add(u2[k:k + 1])
        half[k].close(lr=0.5)
    assert combined(half) == pytest.approx(expected)
    one = asynclab.run(problem=asynclab.Logistic(**SMALL), policy="local:4", workers=1,
                       gradients=40)
    assert one.summary.client_drift == 0
    assert asynclab.run(policy="sync", gradients=40).summary.client_drift is None


# -- gossip ---------------------------------------------------------------------------------
def test_ring_neighbours_alternate_right_then_left():
    assert [Neighbours(0, 5, "ring", None).next() for _ in range(1)] == [1]
    ring = Neighbours(0, 5, "ring", None)
    assert [ring.next() for _ in range(4)] == [1, 4, 1, 4]
    pair = Neighbours(1, 2, "ring", None)
    assert [pair.next() for _ in range(3)] == [0, 0, 0]
    assert Neighbours(0, 1, "ring", None).next() is None


def test_complete_neighbours_are_uniform_over_the_others_and_reproducible():
    def picks(seed):
        rng = neighbour_streams(seed, 6)[2]
        chooser = Neighbours(2, 6, "complete", rng)
        return [chooser.next() for _ in range(5000)]
    drawn = picks(0)
    counts = np.bincount(drawn, minlength=6)
    assert counts[2] == 0 and all(abs(c - 1000) < 150 for i, c in enumerate(counts) if i != 2)
    assert picks(0) == drawn and picks(1) != drawn


def test_each_exchange_is_a_message_on_both_links():
    result = asynclab.run(problem=asynclab.Logistic(**SMALL), policy="gossip", workers=4,
                          gradients=200, compute="const:1", latency=0.25, eval_points=5)
    pushes, fetches = result.trace.of_kind("push"), result.trace.of_kind("fetch")
    assert len(pushes) == len(fetches) == 200
    assert {round(e.duration, 12) for e in pushes + fetches} == {0.25}
    for push, fetch in zip(pushes, fetches):     # recorded together: same times, a neighbour
        assert (push.start, push.end) == (fetch.start, fetch.end)
        assert (fetch.worker - push.worker) % 4 in (1, 3)
    # A link carries one exchange at a time: no worker's exchanges overlap.
    for w in range(4):
        mine = sorted((e.start, e.end) for e in pushes + fetches if e.worker == w)
        assert all(a[1] <= b[0] + 1e-12 for a, b in zip(mine, mine[1:]))
    assert result.summary.queue_fraction > 0


def test_gossip_reports_the_average_model_and_its_consensus_distance():
    problem = asynclab.Logistic(**SMALL)
    ring = asynclab.run(problem=problem, policy="gossip", workers=16, gradients=1600, lr=0.3)
    complete = asynclab.run(problem=problem, policy="gossip", workers=16, gradients=1600,
                            lr=0.3, topology="complete")
    assert ring.history.loss[-1] == problem.loss(ring.params)
    assert 0 < complete.summary.consensus_distance < ring.summary.consensus_distance
    assert ring.summary.mean_staleness > 0 and ring.summary.updates == 1600
    assert asynclab.run(problem=problem, policy="async").summary.consensus_distance is None
    # The topology is gossip's alone: other policies ignore it.
    a, b = (asynclab.run(problem=problem, policy="async", topology=t) for t in TOPOLOGY_PAIR)
    np.testing.assert_array_equal(a.params, b.params)


TOPOLOGY_PAIR = ("ring", "complete")


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_gossip_runs_on_real_workers(backend):
    result = asynclab.run(problem=asynclab.Logistic(**SMALL), policy="gossip", backend=backend,
                          workers=3, gradients=300, lr=0.2, latency=0.002, topology="complete",
                          eval_points=5)
    s = result.summary
    assert (s.gradients, s.updates) == (300, 300) and not s.diverged
    assert s.consensus_distance > 0 and s.final_loss < s.initial_loss
    assert len(result.trace.of_kind("push")) == len(result.trace.of_kind("fetch")) == 300
    assert len(result.history.loss) == 5


def exchanges(peers, workers, rounds):
    """Each worker averages with its right neighbour ``rounds`` times, no step.
    The threads meet at a barrier after each round: within a round the four
    exchanges race for their shared locks, so they happen in any order."""
    barrier = threading.Barrier(workers)

    def run(w):
        zero = np.zeros(peers.models.shape[1])
        for _ in range(rounds):
            peers.exchange(w, (w + 1) % workers, zero, 0, lambda: (0.0, 0.0), lambda: False)
            barrier.wait()
    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def worst_round_contraction(workers):
    """How much one round of ring exchanges, in the worst of its orders, shrinks
    the models' distance from their average (the 2-norm of the round's averaging
    matrix on the vectors that sum to zero)."""
    def average(i, j):
        m = np.eye(workers)
        m[[i, i, j, j], [i, j, i, j]] = 0.5
        return m
    spread = np.eye(workers) - 1.0 / workers
    worst = 0.0
    for order in itertools.permutations(range(workers)):
        product = np.eye(workers)
        for w in order:
            product = average(w, (w + 1) % workers) @ product
        worst = max(worst, np.linalg.norm(product @ spread, 2))
    return worst


def test_pair_exchanges_are_atomic_and_cannot_deadlock():
    # Averaging two models keeps their sum. With concurrent exchanges on a ring
    # (each pair shares a worker with the next), an exchange that was not atomic
    # would overwrite a neighbour's fresh average and lose or create mass, or
    # leave a row half written (every row starts, and must stay, constant).
    workers, dim, rounds = 4, 200_000, 40   # large rows: numpy lets go of the GIL while it adds
    models = np.arange(workers, dtype=float)[:, None] * np.ones(dim) * 1024.0
    peers = PeerModels(models, np.zeros(workers, dtype=np.int64),
                       [threading.Lock() for _ in range(workers)])
    total = models.sum(axis=0).copy()
    start = np.linalg.norm(models[:, 0] - total[0] / workers)
    exchanges(peers, workers, rounds)
    np.testing.assert_allclose(models.sum(axis=0), total, rtol=1e-12)
    assert (models == models[:, :1]).all()
    # Each of its own exchanges changes its model twice (the average, its step);
    # each of its left neighbour's once.
    assert list(peers.versions) == [3 * rounds] * workers
    # They agree by now, whatever order each round's exchanges took: the worst
    # order halves the spread (0.5), so 40 rounds leave at most 0.5**40 of it.
    contraction = worst_round_contraction(workers)
    assert contraction <= 0.5 + 1e-12
    bound = contraction ** rounds * start
    assert np.linalg.norm(models[:, 0] - total[0] / workers) <= bound + 1e-9


def test_a_worker_waiting_for_a_lock_stops_with_the_run():
    peers = PeerModels(np.zeros((2, 3)), np.zeros(2, dtype=np.int64),
                       [threading.Lock() for _ in range(2)])
    peers.locks[1].acquire()            # as if a dead worker held it
    assert peers.exchange(0, 1, np.zeros(3), 0, lambda: (0.0, 0.0), lambda: True) is None
    assert peers.locks[0].acquire(blocking=False)      # it let go of its own
    assert peers.snapshot().shape == (2, 3)            # the last snapshot does not hang


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("fields, words", [
    (dict(policy="diloco:0"), "policy 'diloco:0': diloco:H needs H >= 1"),
    (dict(policy="diloco:x"), "unknown policy 'diloco:x'; allowed: .*diloco:H"),
    (dict(policy="diloco:2", outer_lr=0), "outer_lr must be greater than 0, got 0"),
    (dict(policy="diloco:2", outer_lr=float("inf")), "outer_lr must be a finite number"),
    (dict(policy="diloco:2", outer_momentum=1), r"outer_momentum must be in \[0, 1\), got 1"),
    (dict(policy="diloco:2", outer_momentum=-0.1), "outer_momentum must be in"),
    (dict(policy="local:2", outer_lr=0.5), "outer_lr = 0.5 sets the outer optimiser of "
                                           "diloco:H, which policy 'local:2' does not have"),
    (dict(policy="sync", outer_momentum=0.5), "outer_momentum = 0.5 sets the outer"),
    (dict(partition="dirichlet"), "partition must be iid, dirichlet:ALPHA .* got 'dirichlet'"),
    (dict(partition="dirichlet:0"), "partition must be iid, dirichlet:ALPHA"),
    (dict(partition="dirichlet:nan"), "partition must be"),
    (dict(partition="shards:1.5"), "partition must be"),
    (dict(partition="shards:0"), "partition must be"),
    (dict(partition="random"), "partition must be"),
    (dict(partition="dirichlet:0.5", problem="least-squares"),
     "partition 'dirichlet:0.5' splits the data by label: it needs a classification problem"),
    (dict(partition="shards:300"), "4 workers x 300 shards = 1200 shards but the problem has "
                                   "only 1000 training examples"),
    (dict(topology="star"), "topology must be ring or complete, got 'star'"),
    (dict(policy="gossip", overlap=True), "policy 'gossip' does not support overlap"),
    (dict(policy="gossip", staleness_aware=True), "policy 'gossip' does not support "
                                                  "staleness_aware"),
    (dict(policy="gossip", fail="1:10"), "policy 'gossip' does not support fail"),
    (dict(policy="gossip", compress="topk:0.1"), "policy 'gossip' does not support "
                                                 "compress='topk:0.1'"),
])
def test_bad_input_is_one_line_naming_the_value(fields, words):
    with pytest.raises(ValueError, match=words) as err:
        asynclab.Config(**fields)
    assert "\n" not in str(err.value)


def test_ray_refuses_gossip_in_one_line():
    from asynclab.backends import check_config
    with pytest.raises(ValueError, match="the ray backend does not model policy 'gossip'"):
        check_config(asynclab.Config(policy="gossip", backend="ray"))


def test_compare_gives_the_outer_optimiser_to_diloco_only():
    config = asynclab.Config(problem=asynclab.Logistic(**SMALL), policy="diloco:4",
                             outer_lr=1, outer_momentum=0, gradients=200)
    runs = asynclab.compare(["local:4", "diloco:4", "gossip"], config)
    assert runs["local:4"].config.outer_lr is None
    np.testing.assert_array_equal(runs["diloco:4"].params, runs["local:4"].params)
    assert runs["gossip"].summary.consensus_distance > 0


def test_absurd_sizes_are_refused_up_front():
    # gossip keeps every worker's model; local:H and diloco:H keep a round's updates
    # (the client drift is measured on them): workers x parameters x 8 bytes.
    problem = asynclab.Logistic(features=6000, examples=100)
    for policy in ("gossip", "local:4", "diloco:4"):
        with pytest.raises(ValueError, match=f"{policy}: workers x parameters x 8 bytes = "
                                             r"4.8e\+09 is more than a run may take"):
            asynclab.Config(policy=policy, workers=100_000, problem=problem)


@pytest.mark.parametrize("backend", ["simulated", "thread"])
def test_gossip_counts_each_exchange_as_a_model_each_way(backend):
    config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=200),
                             policy="gossip", workers=3, gradients=60, backend=backend)
    s = asynclab.run(config).summary
    nbytes = config.problem.nbytes
    assert s.bytes_pushed == s.bytes_pulled == s.updates * nbytes > 0
    assert s.bytes_sent == 2 * s.updates * nbytes
    alone = asynclab.run(config.replace(workers=1)).summary      # no neighbour: no message
    assert alone.bytes_sent == 0
