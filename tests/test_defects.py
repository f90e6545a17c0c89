"""The six defects of issue 11, each pinned by a test that failed before the fix."""
import json
import pathlib

import numpy as np
import pytest

import asynclab
from asynclab.backends.coordinator import Coordinator
from asynclab.backends.realtime import Board
from asynclab.cli import main
from asynclab.trace import COMPUTE

SMALL = asynclab.Logistic(features=50, examples=500)
BACKENDS = ["simulated", "thread", "process"]


# 1. fail=[(w, 0)] was accepted and nothing failed: now the worker is lost before its first gradient.
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_failing_after_zero_gradients_never_computes(backend):
    r = asynclab.run(problem=SMALL, backend=backend, policy="async", workers=3, gradients=90,
                     delay="const:0.0003", fail="1:0")
    assert r.summary.failed_workers == (1,) and r.summary.gradients == 90
    assert not [e for e in r.trace.of_kind(COMPUTE) if e.worker == 1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_sync_without_a_worker_from_the_start_stalls(backend):
    with pytest.raises(asynclab.StalledError, match="worker 2 failed"):
        asynclab.run(problem=SMALL, backend=backend, policy="sync", workers=3, gradients=30,
                     delay="const:0.0003", fail="2:0")


# 2. A process killed while parked at a barrier was later "released" and granted budget.
def test_a_worker_lost_while_parked_is_never_released_nor_granted_budget():
    config = asynclab.Config(problem=SMALL, policy="backup:1", workers=3, gradients=30)
    board = Board(memoryview(bytearray(8 * Board.size(3))).cast("q"), 3)
    coordinator = Coordinator(config, board, now=lambda: 0.0)
    grad = np.ones(SMALL.dim)
    assert [coordinator.begin(w) for w in range(3)] == [1, 1, 1]
    board.set_computed(0, 1)
    coordinator.push(0, grad, 0, 0.0)
    assert coordinator.begin(0) is None            # parked until the step closes
    coordinator.fail(0)                            # the process is killed there
    board.set_computed(1, 1)
    coordinator.push(1, grad, 0, 0.0)              # closes the step (2 of 3)
    assert 0 not in coordinator.take_released()
    assert coordinator.begin(0) == 0               # a lost worker gets nothing
    assert coordinator.budget.left == 30 - 3       # its one gradient was computed


def test_the_parameter_server_forgets_a_lost_parked_worker():
    server = asynclab.server.ParameterServer(asynclab.parse_policy("sync"), np.zeros(2), 3, 0.1)
    server.push(0, np.ones(2), 0)
    assert not server.may_start(0)
    with pytest.raises(asynclab.StalledError):
        server.fail(0)
    assert all(0 not in parked for parked in server._blocked.values())


# 3. Divergence: the simulated backend stopped when the loss became non-finite, the
#    real ones only when the parameters did. One rule now: the loss, at a checkpoint.
@pytest.mark.parametrize("backend", ["thread", "process"])
def test_every_backend_stops_a_diverging_run_at_the_same_checkpoint(backend):
    config = asynclab.Config(problem=asynclab.LeastSquares(features=20, examples=200),
                             policy="async", workers=1, gradients=200_000, lr=1.5,
                             eval_points=20_000)
    simulated, real = asynclab.run(config), asynclab.run(config, backend=backend)
    assert simulated.summary.diverged and real.summary.diverged
    # The loss overflowed while the parameters were still finite (about 1e153).
    assert np.isfinite(simulated.params).all()
    assert real.summary.gradients == simulated.summary.gradients
    assert real.history.gradients == simulated.history.gradients
    np.testing.assert_allclose(real.params, simulated.params, rtol=1e-12)


# 4. local:H at the end of the budget: the real backends gave the last gradients to the
#    first worker to ask, the simulator one at a time. Now a local:H step shares them
#    out by worker id on every backend (server.Budget).
@pytest.mark.parametrize("backend", ["thread", "process"])
@pytest.mark.parametrize("policy,workers,gradients", [
    ("local:3", 2, 26), ("local:3", 2, 27), ("local:2", 3, 19), ("local:4", 3, 3 * 4 * 2 + 5)])
def test_the_last_partial_step_is_shared_alike_on_every_backend(backend, policy, workers,
                                                                 gradients):
    config = asynclab.Config(problem=SMALL, policy=policy, workers=workers, gradients=gradients,
                             lr=0.3, delay="exp:0.0005", seed=2)
    simulated, real = asynclab.run(config), asynclab.run(config, backend=backend)
    count = lambda r: np.bincount([e.worker for e in r.trace.of_kind(COMPUTE)],  # noqa: E731
                                  minlength=workers).tolist()
    assert count(real) == count(simulated)
    assert real.summary.updates == simulated.summary.updates
    np.testing.assert_allclose(real.params, simulated.params, rtol=0, atol=1e-12)


def test_the_last_gradients_of_a_step_go_to_the_lowest_worker_ids():
    r = asynclab.run(problem=SMALL, policy="local:3", workers=2, gradients=6 * 4 + 3,
                     compute="exp:1", seed=5)
    last = [e.worker for e in r.trace.of_kind(COMPUTE) if e.version == 4]
    assert sorted(last) == [0, 0, 1]


# 5. --batch larger than the problem's examples: a clear error before anything runs.
def test_a_batch_larger_than_the_examples_is_refused(capsys):
    code = main(["run", "--examples", "50", "--batch", "51"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "batch must be at most the problem's 50 examples, got 51" in err


# 6. backup:B: the engine, like TensorFlow's SyncReplicasOptimizer, does not interrupt
#    late workers, so a step is not simply the (N-B)-th order statistic.
def test_a_backup_step_takes_longer_than_the_n_minus_b_th_order_statistic():
    r = asynclab.run(problem=SMALL, policy="backup:2", workers=8, gradients=8000,
                     compute="exp:1", seed=4, eval_points=2)
    order_statistic = sum(1 / k for k in range(3, 9))      # E[6th fastest of 8] = H_8 - H_2
    assert r.summary.time / r.summary.updates > 1.15 * order_statistic


def test_the_quiz_no_longer_states_the_order_statistic():
    bank = pathlib.Path(asynclab.__file__).parent / "course" / "quizbank" / "05.json"
    question = next(q for q in json.loads(bank.read_text())["questions"] if q["id"] == "05-backup")
    text = question["options"][0]["explanation"]
    assert "set by the (N - B)-th fastest" not in text and "not interrupted" in text
