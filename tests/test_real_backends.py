"""Policy behaviour on real workers: threads and processes, checked alike.

The same invariants as on the simulated cluster, read off wall-clock traces:
one worker computes exactly what the simulated cluster computes, staleness is
never negative, sync waits at a barrier, ssp keeps the fastest worker within
S steps of the slowest, backup steps drop the slowest gradients, and hogwild
converges. Small problems; short sleeps (``delay``) release the GIL so that
threads really interleave.
"""
import numpy as np
import pytest

import asynclab
from asynclab.trace import APPLY, COMPUTE, DROP, FAIL, PULL, PUSH, QUEUE, WAIT

SMALL = asynclab.Logistic(features=50, examples=500)
SPARSE = asynclab.SparseLogistic(features=2000, examples=1000, nonzeros=10)
KINDS = {COMPUTE, PULL, PUSH, WAIT, QUEUE, APPLY, DROP, FAIL}
BACKENDS = ["thread", "process"]


def run(backend, **kw):
    return asynclab.run(**{"problem": SMALL, "backend": backend, "lr": 0.3, **kw})


def per_worker(result, kind):
    out = {}
    for e in result.trace.of_kind(kind):
        out.setdefault(e.worker, []).append(e)
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("policy,problem", [
    ("async", SMALL), ("sync", SMALL), ("local:3", SMALL), ("hogwild", SPARSE)])
def test_one_worker_computes_what_the_simulated_cluster_computes(backend, policy, problem):
    config = asynclab.Config(problem=problem, policy=policy, workers=1, gradients=200,
                             lr=0.3, staleness_aware=True, eval_points=21)
    real = asynclab.run(config, backend=backend)
    simulated = asynclab.run(config)
    np.testing.assert_allclose(real.params, simulated.params, rtol=0, atol=1e-12)
    assert real.summary.updates == simulated.summary.updates
    assert real.summary.gradients == simulated.summary.gradients == 200
    if policy != "hogwild":      # lock-free workers report checkpoints when they notice them
        assert real.history.gradients == simulated.history.gradients
        np.testing.assert_allclose(real.history.loss, simulated.history.loss, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_result_has_the_simulated_shape(backend):
    r = run(backend, policy="async", workers=3, gradients=300, delay="const:0.0005",
            latency=0.0005)
    s = r.summary
    sim = asynclab.run(problem=SMALL, workers=3, gradients=300, lr=0.3)
    assert set(s.to_dict()) == set(sim.summary.to_dict())
    assert (s.backend, s.workers, s.gradients, s.updates) == (backend, 3, 300, 300)
    assert s.time > 0 and s.gradients_per_second == pytest.approx(300 / s.time)
    assert s.final_loss < s.initial_loss and s.comm_fraction > 0
    assert 0 <= s.compute_fraction <= 1 and 0 <= s.idle_fraction <= 1
    assert {e.kind for e in r.trace.events} <= KINDS
    assert len(r.trace.of_kind(COMPUTE)) == len(r.trace.of_kind(PUSH)) == 300
    assert set(per_worker(r, COMPUTE)) == {0, 1, 2}       # every worker's events came back
    ends = [row[3] for row in r.trace.rows]
    assert ends == sorted(ends) and 0 <= min(ends) and max(ends) <= s.time + 1e-9
    h = r.history
    assert len(h.loss) >= 50 and h.time == sorted(h.time) and h.time[-1] <= s.time
    assert h.gradients[-1] == 300
    assert r.to_dict()["summary"]["backend"] == backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_sync_workers_wait_at_the_barrier(backend):
    r = run(backend, policy="sync", workers=3, gradients=60, delay="exp:0.001")
    applies = r.trace.of_kind(APPLY)
    assert r.summary.updates == 20 and all(e.staleness == 0 for e in applies)
    assert all(n == 3 for n in np.bincount([e.version for e in applies]))
    closed = {}
    for e in applies:
        closed[e.version] = max(closed.get(e.version, 0.0), e.end)
    for e in r.trace.of_kind(COMPUTE):
        if e.version > 0:      # nobody computes on version v before step v-1 closed
            assert e.start >= closed[e.version - 1]
    assert r.trace.of_kind(WAIT)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ssp_keeps_the_fastest_worker_within_s_steps_of_the_slowest(backend):
    bound = 1
    r = run(backend, policy=f"ssp:{bound}", workers=3, gradients=45, delay="const:0.002",
            speeds=(1, 1, 4))
    pushed = {w: sorted(e.end for e in es) for w, es in per_worker(r, APPLY).items()}
    for w, computes in per_worker(r, COMPUTE).items():
        for step, e in enumerate(sorted(computes, key=lambda e: e.start)):
            for other, ends in pushed.items():
                if other != w:
                    assert sum(t <= e.start for t in ends) >= min(step - bound, len(ends))
    waits = per_worker(r, WAIT)
    assert max(e.duration for e in waits[0] + waits[1]) > 0.002   # held back by worker 2


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("policy", ["async", "ssp:2", "local:2", "hogwild"])
def test_staleness_is_never_negative(backend, policy):
    r = run(backend, policy=policy, workers=3, gradients=120, delay="exp:0.0005")
    stale = r.trace.staleness()
    assert len(stale) > 0 and stale.min() >= 0
    assert r.summary.max_staleness == stale.max()
    if policy in ("async", "hogwild"):
        assert stale.max() > 0          # workers really overlapped


@pytest.mark.parametrize("backend", BACKENDS)
def test_backup_workers_drop_the_slowest_gradients(backend):
    r = run(backend, policy="backup:1", workers=3, gradients=90, delay="const:0.001",
            speeds=(1, 1, 3))
    applied = np.bincount([e.version for e in r.trace.of_kind(APPLY)])
    assert applied.max() == 2              # a step closes with workers - backups gradients
    assert r.summary.dropped == len(r.trace.of_kind(DROP)) > 0
    assert all(e.staleness > 0 for e in r.trace.of_kind(DROP))


@pytest.mark.parametrize("backend", BACKENDS)
def test_hogwild_converges_on_sparse_logistic(backend):
    r = run(backend, problem=SPARSE, policy="hogwild", workers=2, gradients=3000, lr=0.5,
            delay="const:0.00005")
    s = r.summary
    assert s.updates == s.gradients == 3000
    assert s.final_loss < 0.8 * s.initial_loss and not s.diverged
    assert r.trace.staleness().min() >= 0 and set(per_worker(r, APPLY)) == {0, 1}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("policy", ["async", "hogwild"])
def test_a_diverging_run_stops_early(backend, policy):
    r = run(backend, problem=asynclab.LeastSquares(features=20, examples=200), policy=policy,
            workers=2, gradients=1_000_000, lr=50.0)
    assert r.summary.diverged and r.summary.gradients < 1_000_000


MLP = asynclab.MLP(hidden=(16,))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("policy", ["async", "sync", "local:3", "hogwild"])
def test_one_worker_mlp_with_momentum_computes_what_the_simulated_cluster_computes(
        backend, policy):
    config = asynclab.Config(problem=MLP, policy=policy, workers=1, gradients=150, lr=0.05,
                             momentum=0.9, eval_points=11)
    real, simulated = asynclab.run(config, backend=backend), asynclab.run(config)
    np.testing.assert_allclose(real.params, simulated.params, rtol=0, atol=1e-12)
    assert real.summary.final_accuracy == pytest.approx(simulated.summary.final_accuracy)
    assert real.summary.final_validation_accuracy == pytest.approx(
        simulated.summary.final_validation_accuracy)
    if policy != "hogwild":      # lock-free workers report checkpoints when they notice them
        assert real.history.gradients == simulated.history.gradients
        for metric in ("accuracy", "test_loss", "validation_accuracy", "validation_loss"):
            np.testing.assert_allclose(getattr(real.history, metric),
                                       getattr(simulated.history, metric), atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("policy", ["async", "hogwild"])
def test_classification_reports_held_out_accuracy(backend, policy):
    r = asynclab.run(problem=MLP, backend=backend, policy=policy, workers=2, gradients=1500,
                     lr=0.1, momentum=0.5, target_accuracy=0.8, eval_points=20)
    h, s = r.history, r.summary
    assert len(h.accuracy) == len(h.test_loss) == len(h.loss) >= 10
    assert all(0 <= a <= 1 for a in h.accuracy) and h.accuracy[-1] == s.final_accuracy
    assert s.final_accuracy > 0.85 and h.test_loss[-1] < h.test_loss[0]
    assert len(h.validation_accuracy) == len(h.validation_loss) == len(h.loss)
    assert h.validation_accuracy[-1] == s.final_validation_accuracy > 0.85
    assert s.time_to_accuracy == h.time[h.reached(0.8, "validation_accuracy")]
