"""Tuning the learning rate over seeds, and comparing policies at their tuned rates."""
import math

import numpy as np
import pytest

import asynclab
from asynclab import stats, tuning

PROBLEM = asynclab.LeastSquares(features=10, examples=100)
BASE = asynclab.Config(problem=PROBLEM, workers=4, gradients=200, eval_points=50,
                       target_loss=0.05)
GRID = [0.01, 0.1, 0.3, 1.0, 3.0]
T_975_DF2 = 4.302652729749464            # Student's t, 97.5% quantile, 2 degrees of freedom


def brute_force(config, lrs, seeds, metric):
    """Every run done here, one by one: {lr: [metric or None per seed]}."""
    table = {}
    for lr in lrs:
        values = []
        for s in seeds:
            summary = asynclab.run(config, lr=lr, seed=s).summary
            value = getattr(summary, metric)
            values.append(None if summary.diverged or value is None else value)
        table[lr] = values
    return table


@pytest.mark.parametrize("policy", ["sync", "async"])
def test_tune_finds_the_argmin_of_the_grid_found_by_brute_force(policy):
    found = asynclab.tune(BASE, policy=policy, lrs=GRID, seeds=3)
    table = brute_force(BASE.replace(policy=policy), GRID, [0, 1, 2], "time_to_target")
    # The rule: most seeds reached first, then the lowest mean over those seeds.
    ok = {lr: [v for v in vs if v is not None] for lr, vs in table.items()}
    best = min(GRID, key=lambda lr: (-len(ok[lr]), sum(ok[lr]) / len(ok[lr]) if ok[lr]
                                     else math.inf))
    assert found.best_lr == best
    assert [row.lr for row in found.rows] == GRID
    for row in found.rows:
        assert row.ok == len(ok[row.lr])
        if row.ok:
            assert row.estimate.mean == pytest.approx(sum(ok[row.lr]) / row.ok, rel=1e-12)
    assert found.seeds == (0, 1, 2) and found.policy == policy


def test_the_confidence_interval_is_the_hand_computed_t_interval():
    found = asynclab.tune(BASE, policy="sync", lrs=[0.3], seeds=3)
    times = [asynclab.run(BASE, policy="sync", lr=0.3, seed=s).summary.time_to_target
             for s in range(3)]
    mean = sum(times) / 3
    sd = math.sqrt(sum((t - mean) ** 2 for t in times) / 2)
    half = T_975_DF2 * sd / math.sqrt(3)
    row = found.rows[0]
    assert row.estimate.mean == pytest.approx(mean, rel=1e-12)
    assert (row.estimate.low, row.estimate.high) == pytest.approx((mean - half, mean + half),
                                                                  rel=1e-12)
    assert row.to_dict() == {"lr": 0.3, "mean": row.estimate.mean, "ci_low": row.estimate.low,
                             "ci_high": row.estimate.high, "ok": 3, "diverged": 0, "missed": 0}


def test_missed_and_diverged_seeds_are_counted_and_rank_last():
    found = asynclab.tune(BASE, policy="async", lrs=[0.001, 0.1, 1000.0], seeds=2)
    tiny, good, huge = found.rows
    assert (tiny.ok, tiny.missed, tiny.diverged) == (0, 2, 0)       # too small: never got there
    assert (huge.ok, huge.missed, huge.diverged) == (0, 0, 2)       # blew up to infinity
    assert (good.ok, good.missed, good.diverged) == (2, 0, 0)
    assert found.best is good and not found.at_edge and found.reached
    assert math.isnan(tiny.estimate.mean) and tiny.to_dict()["mean"] is None
    text = str(found)
    assert "<- best" in text.splitlines()[3] and "0/2" in text


def test_a_best_rate_at_the_edge_of_the_grid_is_flagged():
    found = asynclab.tune(BASE, policy="sync", lrs=[0.05, 0.1, 0.2], seeds=2)
    assert found.best_lr == 0.2 and found.at_edge
    assert "at the edge of the grid" in str(found)
    assert found.to_dict()["at_edge"] is True
    single = asynclab.tune(BASE, policy="sync", lrs=[0.2], seeds=1)
    assert not single.at_edge


def test_a_single_rate_is_not_called_the_edge_but_is_named_untested():
    found = asynclab.tune(BASE, policy="sync", lrs=[0.3], seeds=2)
    assert not found.at_edge and "Only one rate was tried" in str(found)


def test_no_rate_reaching_falls_back_to_the_lowest_final_loss():
    found = asynclab.tune(BASE, policy="sync", lrs=[0.001, 0.003], seeds=2, target_loss=1e-9)
    assert not found.reached and found.best_lr == 0.003
    assert "No rate reached on any seed" in str(found)


def test_when_no_rate_reaches_a_rate_that_diverged_on_some_seeds_never_wins():
    # Neither rate reached; 0.5 diverged on 2 of 3 seeds and its one survivor
    # ended lower than every seed of 0.1, which never diverged.
    nothing = stats.estimate([])
    steady = tuning.Row(0.1, nothing, ok=0, diverged=0, missed=3, final_loss=0.3)
    edge = tuning.Row(0.5, nothing, ok=0, diverged=2, missed=1, final_loss=0.01)
    assert min([edge, steady], key=tuning.Row.rank_key) is steady


def test_final_loss_metric_and_same_seeds_same_numbers():
    a = asynclab.tune(BASE, policy="async", lrs=[0.1, 0.3], seeds=[4, 7], metric="final_loss")
    b = asynclab.tune(BASE, policy="async", lrs=[0.1, 0.3], seeds=[4, 7], metric="final_loss")
    assert a.to_dict() == b.to_dict() and a.seeds == (4, 7)
    finals = [asynclab.run(BASE, policy="async", lr=0.3, seed=s).summary.final_loss
              for s in (4, 7)]
    assert a.rows[1].estimate.mean == pytest.approx(sum(finals) / 2, rel=1e-12)
    c = asynclab.tune(BASE.replace(seed=4), policy="async", lrs=[0.1], seeds=2)
    assert c.seeds == (4, 5)                     # a count K means seed .. seed + K - 1


def test_default_grid_is_documented_and_used():
    assert tuning.DEFAULT_LRS == tuple(sorted(tuning.DEFAULT_LRS))
    assert tuning.check_lrs(None) == tuning.DEFAULT_LRS
    assert tuning.check_lrs([0.2, 0.1, 0.2]) == (0.1, 0.2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lrs=[]), "lrs must be a non-empty list"),
    (dict(lrs=[0.1, -1]), "lr must be greater than 0, got -1"),
    (dict(lrs=[0.0]), "lr must be greater than 0, got 0"),
    (dict(lrs=0.1), "lrs must be a non-empty list"),
    (dict(seeds=0), "seeds must be at least 1, got 0"),
    (dict(seeds=[]), "seeds must not be an empty list"),
    (dict(seeds=10 ** 9), "seeds must be at most"),
    (dict(jobs=0), "jobs must be at least 1, got 0"),
    (dict(metric="accuracy"), "unknown metric 'accuracy'; choose one of"),
    (dict(target_loss=None), "metric 'time_to_target' needs a target"),
])
def test_bad_tuning_input_is_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        asynclab.tune(BASE, **{"lrs": [0.1], **kwargs})


def test_time_to_accuracy_tunes_a_classifier_and_needs_its_target():
    config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=400),
                             policy="async", gradients=400, target_accuracy=0.8, eval_points=41)
    tuning = asynclab.tune(config, lrs=[0.05, 0.5, 2.0], seeds=2, metric="time_to_accuracy")
    for row in tuning.rows:
        times = [r.summary.time_to_accuracy for r in tuning.runs[row.lr]]
        reached = [x for x in times if x is not None]
        assert row.ok == len(reached)
        if reached:
            assert row.estimate.mean == pytest.approx(np.mean(reached))
    ranked = [row for row in tuning.rows if row.ok == max(r.ok for r in tuning.rows)]
    assert tuning.best_lr == min(ranked, key=lambda row: row.estimate.mean).lr
    with pytest.raises(ValueError, match="metric 'time_to_accuracy' needs a target"):
        asynclab.tune(config.replace(target_accuracy=None), lrs=[0.1], metric="time_to_accuracy")


def test_tuning_by_accuracy_never_reads_the_test_set():
    """Shuffling the test labels in place (in the problem's data, which every run of
    the tuning shares) changes no tuning figure: the target accuracy is read on the
    validation set. Before the validation set existed, the seeds that reached went
    from 2, 0, 0 to 0, 0, 0. The test accuracy is still recorded, and changes."""
    problem = asynclab.MLP(hidden=(16,))
    config = asynclab.Config(problem=problem, policy="async", workers=4, gradients=300,
                             target_accuracy=0.9, eval_points=16)
    assert config.problem is problem

    def tuned():
        return asynclab.tune(config, lrs=[0.1, 0.5, 2.0], seeds=2, metric="time_to_accuracy")

    before = tuned()
    assert [row.ok for row in before.rows] == [2, 0, 0]      # something that could change
    np.random.default_rng(0).shuffle(problem.data.y_test)
    after = tuned()
    assert after.to_dict() == before.to_dict() and str(after) == str(before)
    changed = 0        # test figures that differ
    for lr, runs in before.runs.items():
        for a, b in zip(runs, after.runs[lr]):
            sa, sb = a.summary.to_dict(), b.summary.to_dict()
            ha, hb = a.history.to_dict(), b.history.to_dict()
            changed += sa.pop("final_accuracy") != sb.pop("final_accuracy")
            changed += ha.pop("accuracy") != hb.pop("accuracy")
            changed += ha.pop("test_loss") != hb.pop("test_loss")
            assert sa == sb and ha == hb
    # A network that predicts one class scores the same on shuffled labels; the others do not.
    assert changed


def test_compare_tuned_gives_each_policy_its_best_rate_and_intervals_of_every_figure():
    runs = asynclab.compare(["sync", "async"], BASE, seeds=3, tune=True, lrs=GRID)
    for policy, r in runs.items():
        alone = asynclab.tune(BASE, policy=policy, lrs=GRID, seeds=3)
        assert r.config.lr == alone.best_lr == r.tuning.best_lr
        assert [x.config.seed for x in r.results] == [0, 1, 2]
        assert all(x.config.lr == alone.best_lr for x in r.results)
        times = [x.summary.time for x in r.results]
        assert r.summary["time"].mean == pytest.approx(sum(times) / 3, rel=1e-12)
        assert r.summary["time"].n == 3
        assert {"time", "final_loss", "idle_fraction", "mean_staleness",
                "time_to_target"} <= set(r.summary)
        assert "policy" not in r.summary and "diverged" not in r.summary
        d = r.to_dict()
        assert d["lr"] == alone.best_lr and d["tuning"]["lr"] == alone.best_lr
        assert set(d["summary"]["time"]) == {"mean", "ci_low", "ci_high", "n"}
    # The fair comparison: sync's tuned rate is larger than async's here.
    assert runs["sync"].config.lr > runs["async"].config.lr


def test_compare_with_seeds_only_keeps_the_rate_and_without_them_stays_as_it_was():
    runs = asynclab.compare("sync,async", BASE, seeds=2, lr=0.1)
    assert set(runs) == {"sync", "async"} and runs["sync"].tuning is None
    assert [r.config.seed for r in runs["async"].results] == [0, 1]
    assert all(r.config.lr == 0.1 for r in runs["async"].results)
    plain = asynclab.compare(["sync", "async"], BASE)
    assert isinstance(plain["sync"], asynclab.Result)
    assert plain["async"].history.loss == asynclab.run(BASE, policy="async").history.loss
