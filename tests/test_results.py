import json
import math

import numpy as np
import pytest

import asynclab
from asynclab import plots
from asynclab.results import History, summarize
from asynclab.trace import Trace

PROBLEM = asynclab.LeastSquares(features=10, examples=200)


def test_result_exports_to_plain_json():
    r = asynclab.run(problem=PROBLEM, policy="ssp:1", workers=3, gradients=60, latency=0.1)
    d = json.loads(r.to_json(trace=True))
    assert d["config"]["policy"] == "ssp:1" and d["config"]["problem"] == "least-squares"
    assert d["summary"]["gradients"] == 60
    assert len(d["history"]["loss"]) == len(r.history.loss)
    kinds = {e["kind"] for e in d["trace"]}
    assert {"compute", "pull", "push", "apply"} <= kinds
    first = d["trace"][0]
    assert set(first) == {"worker", "kind", "start", "end", "version", "staleness"}


def test_events_are_frozen_records():
    r = asynclab.run(problem=PROBLEM, gradients=10)
    e = r.trace.events[0]
    with pytest.raises(Exception):
        e.start = 3.0


def test_divergence_stops_the_run_and_says_so():
    r = asynclab.run(problem=PROBLEM, policy="async", workers=4, gradients=5000, lr=5.0)
    assert r.summary.diverged
    assert not math.isfinite(r.summary.final_loss)
    assert r.summary.gradients < 5000            # it stopped early
    assert json.loads(r.to_json())["summary"]["final_loss"] is None


def test_time_to_target_is_first_crossing():
    r = asynclab.run(problem=PROBLEM, policy="async", gradients=400, lr=0.2,
                     target_loss=0.05, eval_points=50)
    t = r.summary.time_to_target
    assert t is not None
    i = r.history.time.index(t)
    assert r.history.loss[i] <= 0.05 < min(r.history.loss[:i])
    assert r.history.reached(0.05) == i and r.history.updates_to(0.05) == r.history.updates[i]
    assert r.history.time_to(-1.0) is None and r.history.updates_to(-1.0) is None


def test_history_is_monotone_in_time_updates_and_gradients():
    r = asynclab.run(problem=PROBLEM, policy="backup:1", workers=4, gradients=400)
    for key in ("time", "updates", "gradients"):
        xs = getattr(r.history, key)
        assert all(a <= b for a, b in zip(xs, xs[1:]))
    assert r.history.gradients[-1] == 400 and r.history.updates[-1] == r.summary.updates


@pytest.mark.parametrize("policy", ["sync", "async", "local:8", "local:64"])
def test_eval_points_counts_gradients_whatever_an_update_carries(policy):
    # A worker's update under local:H carries H gradients, and one update may
    # cross several checkpoints: the loss is still evaluated eval_points times
    # (once at the start, then about every 4000 / 20 gradients).
    r = asynclab.run(problem=PROBLEM, policy=policy, workers=4, gradients=4000,
                     eval_points=21)
    assert len(r.history.loss) == 21 and r.history.gradients[-1] == 4000


def test_config_replace_and_validation():
    c = asynclab.Config(workers=2)
    assert c.replace(workers=5).workers == 5 and c.workers == 2
    with pytest.raises(ValueError, match="speeds has 3 entries for 2 workers"):
        c.replace(speeds=(1, 1, 1))
    with pytest.raises(ValueError, match="gradients must be a whole number"):
        c.replace(gradients=2.5)


def test_compare_runs_each_policy_on_the_same_cluster():
    rs = asynclab.compare("sync,async", problem=PROBLEM, workers=3, gradients=90,
                          compute="const:1")
    assert list(rs) == ["sync", "async"]
    assert rs["sync"].summary.time == pytest.approx(30.0)
    assert rs["async"].summary.time == pytest.approx(30.0)


@pytest.mark.parametrize("policies, needle", [
    (",", "policies must name at least one policy, got ','"),
    ([], "policies must name at least one policy"),
    ("sync,async,sync", "policies lists 'sync' twice"),      # one row each: not collapsed
    (["async", asynclab.parse_policy("async")], "policies lists 'async' twice"),
])
def test_compare_refuses_no_policy_or_one_twice(policies, needle):
    with pytest.raises(ValueError, match=needle):
        asynclab.compare(policies, problem=PROBLEM, gradients=10)


def test_plots_return_figures_with_the_expected_content():
    rs = asynclab.compare(["sync", "async"], problem=PROBLEM, workers=3, gradients=60,
                          latency=0.2)
    fig = plots.timeline(rs["sync"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "compute", "communication", "idle (waiting)"]
    assert len(ax.get_yticks()) == 3
    fig = plots.convergence(rs, x="updates", target=0.1)
    assert [l.get_label() for l in fig.axes[0].get_lines()][:2] == ["sync", "async"]
    assert plots.staleness_histogram(rs).axes[0].get_xlabel().startswith("staleness")
    bars = plots.utilisation(rs["async"]).axes[0].patches
    assert len(bars) == 9
    with pytest.raises(ValueError, match="x must be"):
        plots.convergence(rs, x="epochs")
    # A partial timeline for the replay shows nothing after `until`.
    fig = plots.timeline(rs["async"], until=1.0)
    assert fig.axes[0].get_xlim()[1] == 1.0


def test_golden_trace(request):
    """The simulated clock's event times for a fixed config, stored once.

    Timing depends only on numpy's random streams, not on floating-point
    arithmetic of the gradients, so it is stable across machines.
    """
    path = request.path.parent / "golden" / "trace_ssp1_3workers.json"
    r = asynclab.run(problem=PROBLEM, policy="ssp:1", workers=3, gradients=24, seed=42,
                     compute="lognormal:1:0.8", latency=0.05, straggler=(0.2, 3))
    rows = [[w, k, round(s, 12), round(e, 12), v, st] for w, k, s, e, v, st in r.trace.rows]
    if not path.exists():
        path.write_text(json.dumps(rows, indent=0))
        pytest.skip("golden trace written; commit it")
    assert rows == json.loads(path.read_text())


def test_a_stalled_sync_run_raises_with_the_partial_result():
    with pytest.raises(asynclab.StalledError, match="worker 2 failed") as info:
        asynclab.run(problem=PROBLEM, policy="sync", workers=3, gradients=300, fail=[(2, 10)])
    partial = info.value.result
    assert partial.failed_workers == [2]
    assert 0 < partial.summary.gradients < 300


def test_backup_workers_cover_a_lost_worker():
    r = asynclab.run(problem=PROBLEM, policy="backup:1", workers=3, gradients=300,
                     fail=[(2, 10)])
    assert r.failed_workers == [2] and r.summary.gradients == 300


def test_ssp_goes_on_without_a_lost_worker():
    r = asynclab.run(problem=PROBLEM, policy="ssp:1", workers=3, gradients=300, fail={0: 5})
    assert r.failed_workers == [0] and r.summary.gradients == 300
    assert [e.worker for e in r.trace.of_kind("fail")] == [0]


def test_progress_bar_can_be_shown(capsys):
    asynclab.run(problem=PROBLEM, gradients=50, progress=True)
    assert "50/50" in capsys.readouterr().err


def test_history_records_held_out_metrics_for_classifiers_only():
    logistic = asynclab.run(problem=asynclab.Logistic(features=10, examples=400),
                            policy="async", gradients=300, lr=0.3, eval_points=10,
                            target_accuracy=0.8)
    h, s = logistic.history, logistic.summary
    assert len(h.accuracy) == len(h.test_loss) == len(h.loss) >= 10
    assert len(h.validation_accuracy) == len(h.validation_loss) == len(h.loss)
    assert h.accuracy[-1] == s.final_accuracy > 0.8 and h.test_loss[-1] < h.test_loss[0]
    assert h.validation_accuracy[-1] == s.final_validation_accuracy > 0.8
    assert h.validation_loss[-1] < h.validation_loss[0]
    assert h.validation_accuracy != h.accuracy          # two sets, two curves
    # The target accuracy is read on the validation set.
    i = h.reached(0.8, "validation_accuracy")
    assert s.time_to_accuracy == h.time[i]
    assert h.validation_accuracy[i] >= 0.8 > max(h.validation_accuracy[:i])
    assert h.updates_to(0.8, "validation_accuracy") == h.updates[i]
    assert h.time_to(1.01, "accuracy") is None and h.time_to(1.01, "validation_accuracy") is None
    assert h.reached(max(h.accuracy), "accuracy") == h.accuracy.index(max(h.accuracy))
    d = json.loads(logistic.to_json())
    assert d["summary"]["final_accuracy"] == s.final_accuracy
    assert d["summary"]["final_validation_accuracy"] == s.final_validation_accuracy
    assert d["history"]["accuracy"] == h.accuracy
    assert d["history"]["validation_accuracy"] == h.validation_accuracy
    assert d["history"]["validation_loss"] == h.validation_loss
    plain = asynclab.run(problem=PROBLEM, gradients=50, eval_points=5)
    assert plain.history.accuracy == [None] * len(plain.history.loss) == plain.history.test_loss
    assert plain.history.validation_accuracy == plain.history.accuracy
    assert plain.history.validation_loss == plain.history.accuracy
    assert plain.summary.final_accuracy is None and plain.summary.time_to_accuracy is None
    assert plain.summary.final_validation_accuracy is None
    with pytest.raises(ValueError, match="metric must be one of loss, test_loss, accuracy, "
                                         "validation_loss, validation_accuracy, got 'error'"):
        h.reached(0.5, "error")


def test_time_to_accuracy_reads_the_validation_set_not_the_test_set():
    """A summary's time to the target is the first point whose validation accuracy
    reached it; the test accuracy may get there sooner, later or never."""
    history = History()
    for t, test, validation in ((0, 0.1, 0.1), (1, 0.9, 0.5), (2, 0.6, 0.85), (3, 0.7, 0.95)):
        history.record(t, t, t, 1.0 / (t + 1), (0.5, test), (0.5, validation))
    config = asynclab.Config(problem=asynclab.Logistic(features=5, examples=40),
                             target_accuracy=0.8)
    s = summarize(config, Trace(), history, time=3, updates=3, gradients=3, diverged=False,
                  failed=())
    assert s.time_to_accuracy == 2 and history.time_to(0.8, "accuracy") == 1
    assert (s.final_accuracy, s.final_validation_accuracy) == (0.7, 0.95)


def test_a_diverged_classifier_reports_no_accuracy():
    from asynclab.backends.base import Evaluator
    problem = asynclab.MLP(hidden=(8,))
    evaluator = Evaluator(problem, budget=10, points=2)
    evaluator.record(0.0, 0, 0, problem.initial_params())
    evaluator.record(1.0, 1, 1, np.full(problem.dim, np.inf))
    h = evaluator.history
    assert evaluator.diverged and 0 < h.accuracy[0] < 1 and math.isnan(h.accuracy[1])
    assert math.isnan(h.test_loss[1])
    assert 0 < h.validation_accuracy[0] < 1 and math.isnan(h.validation_accuracy[1])
    assert math.isnan(h.validation_loss[1])


def test_accuracy_curves_against_time_updates_and_gradients():
    rs = asynclab.compare(["sync", "async"], problem=asynclab.Logistic(features=10, examples=400),
                          workers=2, gradients=200, lr=0.3, eval_points=10)
    for x in ("time", "updates", "gradients"):
        ax = plots.convergence(rs, x=x, metric="accuracy", target=0.9).axes[0]
        lines = ax.get_lines()
        assert [l.get_label() for l in lines] == ["sync", "async", "target accuracy"]
        np.testing.assert_array_equal(lines[1].get_xdata(), getattr(rs["async"].history, x))
        np.testing.assert_array_equal(lines[1].get_ydata(), rs["async"].history.accuracy)
        assert ax.get_yscale() == "linear" and ax.get_ylabel() == "accuracy (test data)"
        ax = plots.convergence(rs, x=x, metric="validation_accuracy", target=0.9).axes[0]
        np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(),
                                      rs["async"].history.validation_accuracy)
        assert ax.get_yscale() == "linear" and ax.get_ylabel() == "accuracy (validation data)"
    ax = plots.convergence(rs, metric="test_loss").axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "loss (test data)"
    ax = plots.convergence(rs, metric="validation_loss").axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "loss (validation data)"
    with pytest.raises(ValueError, match="metric must be"):
        plots.convergence(rs, metric="error")
    # Problems without a held-out set draw no points, and no error.
    ls = asynclab.run(problem=PROBLEM, gradients=20)
    assert np.isnan(plots.convergence(ls, metric="accuracy").axes[0].get_lines()[0]
                    .get_ydata()).all()
