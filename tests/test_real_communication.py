"""Communication on real workers (threads and processes): a ring all-reduce
through shared memory, a background sender under overlap, latency laws, and
time in a pipe counted as communication. Where the issue says so, the real
workers compute exactly what the simulated cluster computes."""
import numpy as np
import pytest

import asynclab
from asynclab.backends.ring import Rounds, ring_phase
from asynclab.network import ring_sum
from asynclab.trace import APPLY, COMPUTE, FETCH, PULL, PUSH, SEND, WAIT

SMALL = asynclab.Logistic(features=50, examples=500)
BACKENDS = ["thread", "process"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("workers,gradients", [(1, 10), (2, 20), (3, 3 * 6 + 2)])
def test_allreduce_matches_the_simulated_parameters(backend, workers, gradients):
    config = asynclab.Config(problem=SMALL, policy="allreduce", workers=workers,
                             gradients=gradients, lr=0.4, seed=3, latency=0.0002,
                             delay="exp:0.0005", eval_points=7)
    real, simulated = asynclab.run(config, backend=backend), asynclab.run(config)
    np.testing.assert_allclose(real.params, simulated.params, rtol=0, atol=1e-12)
    assert real.summary.updates == simulated.summary.updates == -(-gradients // workers)
    assert real.summary.gradients == gradients
    assert real.history.gradients == simulated.history.gradients
    np.testing.assert_allclose(real.history.loss, simulated.history.loss, atol=1e-12)
    sync = asynclab.run(config, policy="sync")       # a partial last step too
    np.testing.assert_allclose(real.params, sync.params, rtol=0, atol=1e-12)
    if workers > 1:      # the ring's rounds are communication, the wait for the slowest wait
        kinds = {e.kind for e in real.trace.events}
        assert {COMPUTE, WAIT, PUSH, PULL, APPLY} <= kinds
        assert real.summary.transfer_fraction > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_allreduce_with_momentum_matches_sync_with_momentum(backend):
    """Every ring worker keeps the same velocity, so the shared parameters move as
    the simulated server's (and sync's) heavy ball moves them."""
    config = asynclab.Config(problem=SMALL, policy="allreduce", workers=2, gradients=24,
                             lr=0.3, momentum=0.8, seed=1, eval_points=4)
    real, simulated = asynclab.run(config, backend=backend), asynclab.run(config)
    sync = asynclab.run(config, policy="sync")
    np.testing.assert_allclose(real.params, simulated.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(simulated.params, sync.params, rtol=0, atol=1e-12)
    plain = asynclab.run(config, momentum=0.0)
    assert not np.allclose(plain.params, simulated.params)      # momentum did something


@pytest.mark.parametrize("backend", BACKENDS)
def test_allreduce_starts_from_the_problems_initial_parameters(backend):
    """An MLP does not start from zeros: every ring worker starts where the
    simulated one does, so they end with the same parameters."""
    config = asynclab.Config(problem=asynclab.MLP(hidden=(8,)), policy="allreduce", workers=2,
                             gradients=4, lr=0.1, seed=2, eval_points=3)
    real, simulated = asynclab.run(config, backend=backend), asynclab.run(config)
    assert real.history.loss[0] == pytest.approx(simulated.history.loss[0], abs=1e-12)
    np.testing.assert_allclose(real.params, simulated.params, rtol=0, atol=1e-12)


def test_the_shared_memory_ring_adds_in_the_order_of_ring_sum():
    """Three threads run the ring on one (3, d) array, as the backends do."""
    import threading

    from asynclab.backends.realtime import Board
    n, d = 3, 11
    grads = np.random.default_rng(1).standard_normal((n, d)) * 1e3
    buffers = grads.copy()
    board = Board(memoryview(bytearray(8 * Board.size(n))).cast("q"), n)
    rounds = Rounds(board, n)

    def worker(w):
        done = ring_phase(w, buffers, rounds, 0, lambda: False, gather=False)
        ring_phase(w, buffers, rounds, done, lambda: False, gather=True)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for row in buffers:
        np.testing.assert_array_equal(row, ring_sum(list(grads)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_allreduce_stalls_when_a_worker_is_lost(backend):
    with pytest.raises(asynclab.StalledError, match="worker 1 failed"):
        asynclab.run(problem=SMALL, backend=backend, policy="allreduce", workers=3,
                     gradients=300, delay="const:0.0003", fail="1:5")


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_overlapping_worker_computes_what_the_simulated_one_computes(backend):
    """With one worker the versions are fixed: gradient k+1 is computed on the
    parameters fetched after push k-1."""
    config = asynclab.Config(problem=SMALL, policy="async", workers=1, gradients=40, lr=0.3,
                             overlap=True, latency=0.0005, eval_points=5)
    real, simulated = asynclab.run(config, backend=backend), asynclab.run(config)
    np.testing.assert_allclose(real.params, simulated.params, rtol=0, atol=1e-12)
    assert real.trace.staleness().tolist() == simulated.trace.staleness().tolist() == \
        [0] + [1] * 39


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("policy", ["async", "ssp:1", "hogwild"])
def test_a_background_sender_overlaps_communication_with_computing(backend, policy):
    r = asynclab.run(problem=SMALL, backend=backend, policy=policy, workers=2, gradients=80,
                     overlap=True, latency=0.002, delay="const:0.004", lr=0.3)
    s = r.summary
    assert s.gradients == 80 and len(r.trace.of_kind(SEND)) == 80
    assert r.trace.of_kind(FETCH)
    # 4 ms of compute hides 2 x 2 ms of messages: most communication is hidden.
    assert s.overlap_fraction > 0.3 and s.transfer_fraction < s.overlap_fraction
    assert abs(s.compute_fraction + s.wait_fraction + s.queue_fraction
               + s.transfer_fraction - 1) < 1e-9
    plain = asynclab.run(problem=SMALL, backend=backend, policy=policy, workers=2,
                         gradients=80, latency=0.002, delay="const:0.004", lr=0.3)
    assert s.time < plain.summary.time


@pytest.mark.parametrize("backend", BACKENDS)
def test_waiting_at_the_bound_under_overlap_is_wait_not_communication(backend):
    """Under ssp:0 the fast worker spends about 3/4 of each step waiting for the
    slow one, while its sender is parked at the bound: that is wait, as on the
    simulated cluster, not its own messages (no latency: there are none)."""
    config = asynclab.Config(problem=SMALL, policy="ssp:0", workers=2, gradients=24,
                             overlap=True, speeds=(1, 4), compute="const:0.01",
                             delay="const:0.01", lr=0.3)
    real, simulated = asynclab.run(config, backend=backend), asynclab.run(config)
    assert simulated.summary.wait_fraction == pytest.approx(0.375, abs=0.02)
    assert simulated.summary.transfer_fraction == 0
    # A loaded machine adds a few ms of scheduling per 40 ms step and at the
    # start and end of the run: 0.1 is well above that and well below the 0.35
    # of communication the hand-over used to be recorded as.
    assert real.summary.wait_fraction == pytest.approx(simulated.summary.wait_fraction, abs=0.1)
    assert real.summary.transfer_fraction < 0.1
    assert real.trace.of_kind(WAIT)
    assert real.summary.overlap_fraction < 0.05     # nor is the sender's parked time a fetch


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_latency_law_is_drawn_per_message(backend):
    r = asynclab.run(problem=SMALL, backend=backend, policy="async", workers=2, gradients=200,
                     latency="exp:0.002", lr=0.3)
    pulls = [e.duration for e in r.trace.of_kind(PULL)]
    assert 0.0015 < np.mean(pulls) < 0.006 and np.std(pulls) > 0.001


def test_time_in_a_pipe_is_communication_not_idle():
    r = asynclab.run(problem=SMALL, backend="process", policy="async", workers=2,
                     gradients=200, lr=0.3)
    s = r.summary
    assert s.transfer_fraction > 0.02 and s.comm_fraction == s.transfer_fraction
    assert len(r.trace.of_kind(PUSH)) == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lock_free_worker_sends_no_messages_without_injected_delays(backend):
    # Hogwild! workers read and write the shared vector: nothing goes through a pipe,
    # so there is no pull or push to record (the process link's pipe is not used).
    r = asynclab.run(policy="hogwild", backend=backend, workers=2, gradients=200,
                     eval_points=2, problem=asynclab.LeastSquares(features=10, examples=100))
    assert r.trace.of_kind(PULL, PUSH) == [] and r.summary.comm_fraction == 0.0
    assert len(r.trace.of_kind(APPLY)) == 200


@pytest.mark.parametrize("args, needle", [
    (["--backend", "ray", "--policy", "allreduce"], "does not model policy 'allreduce'"),
    (["--backend", "ray", "--overlap"], "does not model overlap"),
    (["--backend", "ray", "--latency", "exp:0.01"], "does not model latency exp:0.01"),
    (["--backend", "thread", "--server-bandwidth", "1e6"], "simulated backend only"),
])
def test_what_a_backend_does_not_model_is_refused_in_one_line(capsys, args, needle):
    from asynclab.cli import main
    code = main(["run", *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1
