"""Tuning the learning rate (and momentum) over seeds, and comparing policies at their
tuned settings on fresh seeds."""
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

import asynclab
from asynclab import limits, stats, tuning

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
    # The rule: most seeds reached first, then the lowest geometric mean over those seeds.
    ok = {lr: [v for v in vs if v is not None] for lr, vs in table.items()}
    best = min(GRID, key=lambda lr: (-len(ok[lr]), scipy_stats.gmean(ok[lr]) if ok[lr]
                                     else math.inf))
    assert found.best_lr == best
    assert [row.lr for row in found.rows] == GRID
    for row in found.rows:
        assert row.ok == len(ok[row.lr])
        if row.ok:
            assert row.estimate.mean == pytest.approx(scipy_stats.gmean(ok[row.lr]), rel=1e-12)
    assert found.seeds == (0, 1, 2) and found.policy == policy


def test_the_confidence_interval_of_a_time_is_the_hand_computed_log_scale_t_interval():
    found = asynclab.tune(BASE, policy="sync", lrs=[0.3], seeds=3)
    logs = [math.log(asynclab.run(BASE, policy="sync", lr=0.3, seed=s).summary.time_to_target)
            for s in range(3)]
    mean = sum(logs) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / 2)
    half = T_975_DF2 * sd / math.sqrt(3)
    row = found.rows[0]
    assert row.estimate.mean == pytest.approx(math.exp(mean), rel=1e-12)
    assert (row.estimate.low, row.estimate.high) == pytest.approx(
        (math.exp(mean - half), math.exp(mean + half)), rel=1e-12)
    assert row.to_dict() == {"lr": 0.3, "mean": row.estimate.mean, "ci_low": row.estimate.low,
                             "ci_high": row.estimate.high, "scale": "log", "ok": 3,
                             "diverged": 0, "missed": 0}
    assert str(found).splitlines()[0].startswith("sync: time_to_target, geometric mean and 95% CI")


def test_a_time_of_zero_falls_back_to_the_arithmetic_mean_and_says_so():
    # A target above the initial loss is met at time 0 on every seed.
    found = asynclab.tune(BASE, policy="async", lrs=[0.1, 0.3], seeds=2, target_loss=100.0)
    assert all(row.estimate.scale == "linear" and row.estimate.mean == 0 == row.estimate.low
               for row in found.rows)
    assert "A row with a time of 0 shows the arithmetic mean instead." in str(found)


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
            assert row.estimate.mean == pytest.approx(scipy_stats.gmean(reached), rel=1e-12)
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


def test_compare_tuned_reports_each_policys_best_rate_on_fresh_seeds():
    runs = asynclab.compare(["sync", "async"], BASE, seeds=3, tune=True, lrs=GRID)
    for policy, r in runs.items():
        alone = asynclab.tune(BASE, policy=policy, lrs=GRID, seeds=3)
        assert r.config.lr == alone.best_lr == r.tuning.best_lr
        assert r.tuning.to_dict() == alone.to_dict()          # chosen on seeds 0, 1, 2
        assert r.seeds == (3, 4, 5) and r.tuning.seeds == (0, 1, 2)   # reported on 3, 4, 5
        for x in r.results:                                   # the same runs as run() gives
            assert x.config.lr == alone.best_lr
            assert x.history.loss == asynclab.run(BASE, policy=policy, lr=alone.best_lr,
                                                  seed=x.config.seed).history.loss
        times = [x.summary.time for x in r.results]
        assert r.summary["time"].mean == pytest.approx(scipy_stats.gmean(times), rel=1e-12)
        assert r.summary["time"].n == 3 and r.summary["time"].scale == "log"
        assert {"time", "final_loss", "idle_fraction", "mean_staleness",
                "time_to_target"} <= set(r.summary)
        assert not {"policy", "diverged", "seed"} & set(r.summary)
        d = r.to_dict()
        assert (d["lr"], d["momentum"]) == (alone.best_lr, 0.0)
        assert d["seeds"] == [3, 4, 5] and d["tuning"]["seeds"] == [0, 1, 2]
        assert d["tuning"]["lr"] == alone.best_lr
        assert set(d["summary"]["time"]) == {"mean", "ci_low", "ci_high", "n", "scale"}
        assert "seeds 3-5, tuned on seeds 0-2" in repr(r)
    # The fair comparison: sync's tuned rate is larger than async's here.
    assert runs["sync"].config.lr > runs["async"].config.lr


@pytest.mark.parametrize("seeds, report_seeds, expected", [
    (3, None, [3, 4, 5]),              # default: as many again, after the tuning seeds
    (3, 2, [3, 4]),                    # a count: that many after the largest tuning seed
    ([5, 1], None, [6, 7]),
    (2, [10, 0 + 20], [10, 20]),       # a list, sharing no tuning seed
])
def test_report_seeds_follow_the_tuning_seeds_or_are_given(seeds, report_seeds, expected):
    runs = asynclab.compare("async", BASE, seeds=seeds, tune=True, lrs=[0.3],
                            report_seeds=report_seeds)
    assert list(runs["async"].seeds) == expected


@pytest.mark.parametrize("kwargs, message", [
    (dict(seeds=3, report_seeds=[2, 3]), r"report_seeds must not include a tuning seed "
                                         r"\(tuning seeds 0, 1, 2\), got \[2, 3\], which "
                                         r"shares 2$"),
    (dict(seeds=[4, 7], report_seeds=[7]), "which shares 7"),
    (dict(report_seeds=0), "report_seeds must be at least 1, got 0"),
    (dict(report_seeds=[]), "report_seeds must not be an empty list"),
    (dict(report_seeds=[1.5]), "seed must be a whole number, got 1.5"),
    (dict(report_seeds=10 ** 9), "report_seeds must be at most"),
])
def test_bad_report_seeds_are_one_clear_error_before_any_run(kwargs, message):
    with pytest.raises(ValueError, match=message):
        asynclab.compare("async", BASE, tune=True, lrs=[0.3], **kwargs)


def test_momenta_and_report_seeds_need_tuning():
    for kwargs in (dict(momenta=[0, 0.5]), dict(report_seeds=2)):
        with pytest.raises(ValueError, match="go with tune=True"):
            asynclab.compare("async", BASE, seeds=2, **kwargs)


def test_the_run_limit_counts_the_report_runs_before_any_run_starts():
    # 2 policies x 1 rate x 5,000 seeds = 10,000 tuning runs (the limit), and 10,000 to report.
    with pytest.raises(ValueError, match="runs must be at most 10,000 in one call, got 20,000"):
        asynclab.compare("sync,async", BASE, tune=True, lrs=[0.3], seeds=5000)


def test_compare_with_seeds_only_keeps_the_rate_and_without_them_stays_as_it_was():
    runs = asynclab.compare("sync,async", BASE, seeds=2, lr=0.1)
    assert set(runs) == {"sync", "async"} and runs["sync"].tuning is None
    assert [r.config.seed for r in runs["async"].results] == [0, 1]
    assert all(r.config.lr == 0.1 for r in runs["async"].results)
    plain = asynclab.compare(["sync", "async"], BASE)
    assert isinstance(plain["sync"], asynclab.Result)
    assert plain["async"].history.loss == asynclab.run(BASE, policy="async").history.loss


# -- Momentum tuned with the rate --------------------------------------------------------

def test_momenta_tune_the_pair_and_find_the_argmin_of_the_grid_found_by_brute_force():
    lrs, momenta = [0.1, 0.3, 1.0], [0.0, 0.5, 0.9]
    found = asynclab.tune(BASE, policy="sync", lrs=lrs, momenta=[0.9, 0, 0.5, 0.5], seeds=3)
    assert found.momenta == (0.0, 0.5, 0.9)                # sorted, without repeats
    ok = {}
    for m in momenta:
        for lr, values in brute_force(BASE.replace(policy="sync", momentum=m), lrs, [0, 1, 2],
                                      "time_to_target").items():
            ok[lr, m] = [v for v in values if v is not None]
    # Most seeds reached, then the lowest geometric mean, then the smaller rate and momentum.
    best = min(ok, key=lambda k: (-len(ok[k]), scipy_stats.gmean(ok[k]) if ok[k] else math.inf,
                                  *k))
    assert (found.best_lr, found.best_momentum) == best
    assert [row.key for row in found.rows] == [(lr, m) for m in momenta for lr in lrs]
    for row in found.rows:
        assert row.ok == len(ok[row.key])
        assert all(r.config.momentum == row.momentum and r.config.lr == row.lr
                   for r in found.runs[row.key])
    d = found.to_dict()
    assert (d["lr"], d["momentum"]) == best and d["rows"][0]["momentum"] == 0.0
    lines = str(found).splitlines()
    assert lines[1].split() == ["lr", "momentum", "mean", "95%", "CI", "reached", "diverged"]
    assert len(lines) >= 2 + 9 and sum("<- best" in line for line in lines) == 1
    runs = found.best_runs()
    assert (runs.config.lr, runs.config.momentum) == best and runs.tuning is found


def test_momentum_changes_the_choice_where_it_should():
    # Sync on this bowl is faster with momentum: the pair beats the best rate alone.
    alone = asynclab.tune(BASE, policy="sync", lrs=[0.1, 0.3], seeds=3)
    paired = asynclab.tune(BASE, policy="sync", lrs=[0.1, 0.3], momenta=[0, 0.5], seeds=3)
    assert paired.best_momentum == 0.5
    assert paired.best.estimate.mean < alone.best.estimate.mean


# Printed by tune() before momenta existed (main at 8fda53f): a metric that is not a
# time keeps its table byte for byte.
FINAL_LOSS_TABLE = """\
sync: final_loss, mean and 95% CI over the seeds that reached (of 2: seeds 4, 7)
        lr        mean                   95% CI  reached  diverged
       0.1    0.005802     [0.005743, 0.005861]     2/2          0
       0.3    0.005671     [0.005447, 0.005896]     2/2          0  <- best
         1    0.006267     [0.004815, 0.007719]     2/2          0"""


def test_without_momenta_nothing_changes():
    found = asynclab.tune(BASE, policy="sync", lrs=[0.1, 0.3, 1.0], seeds=[4, 7],
                          metric="final_loss")
    assert str(found) == FINAL_LOSS_TABLE
    assert found.momenta is None and found.best.momentum is None and found.best_momentum == 0
    assert set(found.runs) == {0.1, 0.3, 1.0}                # keyed by rate, as before
    assert all("momentum" not in row for row in found.to_dict()["rows"])
    # A Config's own momentum is kept by every run when momentum is not tuned.
    kept = asynclab.tune(BASE.replace(momentum=0.5), policy="sync", lrs=[0.3], seeds=2)
    assert kept.best_momentum == 0.5 and "momentum" not in str(kept)
    assert all(r.config.momentum == 0.5 for r in kept.runs[0.3])


def test_one_momentum_is_the_same_runs_and_choice_and_has_no_edge():
    without = asynclab.tune(BASE, policy="async", lrs=[0.1, 0.3, 1.0], seeds=2)
    one = asynclab.tune(BASE, policy="async", lrs=[0.1, 0.3, 1.0], momenta=[0], seeds=2)
    assert one.best_lr == without.best_lr and one.best_momentum == 0
    for a, b in zip(without.rows, one.rows):
        assert (a.lr, a.estimate, a.ok, a.final_loss) == (b.lr, b.estimate, b.ok, b.final_loss)
    assert not one.at_edge and "momentum" in str(one).splitlines()[1]


def _tuning_with_best(lr, momentum, lrs, momenta):
    rows = [tuning.Row(x, stats.estimate([1.0]), 1, 0, 0, 0.1, m) for m in momenta for x in lrs]
    best = next(row for row in rows if (row.lr, row.momentum) == (lr, momentum))
    return tuning.Tuning("sync", "time_to_target", (0,), tuple(rows), best, {}, tuple(momenta))


@pytest.mark.parametrize("lr, momentum, momenta, at_edge", [
    (0.3, 0.5, [0, 0.5, 0.9], False),
    (0.1, 0.5, [0, 0.5, 0.9], True),         # the smallest rate
    (0.3, 0.9, [0, 0.5, 0.9], True),         # the largest momentum: try 0.95, 0.99
    (0.3, 0.0, [0, 0.5, 0.9], False),        # momentum 0: nothing lies below it
    (0.3, 0.3, [0.3, 0.6], True),            # the smallest momentum tried, above 0
    (0.3, 0.9, [0.9], False),                # an axis of one value has no edge
])
def test_either_axis_at_its_edge_is_flagged(lr, momentum, momenta, at_edge):
    found = _tuning_with_best(lr, momentum, [0.1, 0.3, 1.0], momenta)
    assert found.at_edge is at_edge
    assert ("The best momentum" in str(found)) is (at_edge and lr == 0.3)


@pytest.mark.parametrize("momenta, message", [
    ([], r"momenta must be a non-empty list of momenta in \[0, 1\), got \[\]"),
    (0.5, r"momenta must be a non-empty list of momenta in \[0, 1\), got 0.5"),
    ("0.5", r"momenta must be a non-empty list"),
    ([0, 1.0], r"momenta must each be in \[0, 1\), got 1.0"),
    ([-0.1], r"momenta must each be in \[0, 1\), got -0.1"),
    ([0, "x"], "momentum must be a number, got 'x'"),
    ([float("nan")], "momentum must be a finite number"),
])
def test_bad_momenta_are_one_clear_error(momenta, message):
    for call in (lambda: asynclab.tune(BASE, lrs=[0.1], momenta=momenta),
                 lambda: asynclab.compare("sync", BASE, tune=True, lrs=[0.1], momenta=momenta)):
        with pytest.raises(ValueError, match=message) as err:
            call()
        assert "\n" not in str(err.value)


def test_the_run_limit_counts_the_momentum_axis():
    lrs = [0.01 * k for k in range(1, 101)]                  # 100 rates x 50 seeds: 5,000 runs
    assert len(tuning.plan([BASE], lrs=lrs, seeds=50)) == 5000
    with pytest.raises(ValueError, match="got 15,000 .learning rates x momenta x seeds"):
        tuning.plan([BASE], lrs=lrs, momenta=[0, 0.5, 0.9], seeds=50)
    assert limits.MAX_RUNS == 10_000


def test_compare_tunes_momentum_for_every_policy():
    runs = asynclab.compare("sync,async", BASE, tune=True, lrs=[0.1, 0.3, 1.0],
                            momenta=[0, 0.5], seeds=2)
    for policy, r in runs.items():
        alone = asynclab.tune(BASE, policy=policy, lrs=[0.1, 0.3, 1.0], momenta=[0, 0.5],
                              seeds=2)
        assert (r.config.lr, r.config.momentum) == (alone.best_lr, alone.best_momentum)
        assert all(x.config.momentum == alone.best_momentum for x in r.results)
        assert r.to_dict()["momentum"] == alone.best_momentum
        assert r.tuning.to_dict()["momentum"] == alone.best_momentum


# -- Intervals inside their possible range, and the paired comparison -----------------------

def test_no_interval_of_a_time_or_an_accuracy_leaves_its_possible_range():
    config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=400),
                             gradients=300, target_accuracy=0.8, target_loss=0.5,
                             eval_points=31, lr=0.5)
    runs = asynclab.compare("sync,async,backup:1", config, seeds=3)
    for r in runs.values():
        s = r.summary
        for name in ("time", "time_to_target", "time_to_accuracy", "gradients_per_second"):
            e = s[name]
            values = [getattr(x.summary, name) for x in r.results]
            assert e.scale == "log" and 0 < e.low <= e.mean <= e.high, (name, e)
            assert e.mean == pytest.approx(scipy_stats.gmean(values), rel=1e-12)
        for name in ("final_accuracy", "idle_fraction", "compute_fraction", "queue_fraction",
                     "overlap_fraction"):
            e = s[name]
            assert 0 <= e.low <= e.mean <= e.high <= 1, (name, e)
            values = [getattr(x.summary, name) for x in r.results]
            assert e.mean == pytest.approx(np.mean(values), rel=1e-12)
        assert s["mean_staleness"].low >= 0 and s["dropped"].low >= 0


def _scipy_paired_ratio(a, b):
    """The oracle: a paired t-interval of the log times, through SciPy."""
    test = scipy_stats.ttest_rel(np.log(a), np.log(b))
    ci = test.confidence_interval(0.95)
    return np.exp(np.mean(np.log(a) - np.log(b))), np.exp(ci.low), np.exp(ci.high)


def test_compare_with_a_baseline_gives_the_paired_ratio_on_the_report_seeds():
    runs = asynclab.compare("sync,async,ssp:1", BASE, tune=True, lrs=[0.3, 1.0], seeds=3,
                            report_seeds=4, baseline="sync")
    assert runs["sync"].paired is None
    sync = [x.summary.time_to_target for x in runs["sync"].results]
    for policy in ("async", "ssp:1"):
        p = runs[policy].paired
        assert (p.policy, p.baseline, p.metric) == (policy, "sync", "time_to_target")
        assert p.seeds == runs[policy].seeds == runs["sync"].seeds == (3, 4, 5, 6)
        assert p.left_out == ()
        mine = [x.summary.time_to_target for x in runs[policy].results]
        ratio, low, high = _scipy_paired_ratio(mine, sync)
        assert (p.ratio.mean, p.ratio.low, p.ratio.high) == pytest.approx((ratio, low, high),
                                                                          rel=1e-9)
        assert p.ratio.n == 4 and p.ratio.scale == "log"
        assert runs[policy].to_dict()["paired"]["baseline"] == "sync"
        assert "time_to_target / sync's" in repr(runs[policy])
    assert runs["async"].paired.ratio.high < 1          # async is faster here, on every seed


def test_seeds_where_either_run_did_not_reach_are_left_out_and_named():
    # Sync reaches 0.007 within 40 gradients on seeds 1 and 6 only; async on all 8.
    runs = asynclab.compare("sync,async", BASE, seeds=8, lr=0.3, gradients=40,
                            target_loss=0.007, baseline="async")
    p = runs["sync"].paired
    assert p.seeds == (1, 6) and p.left_out == (0, 2, 3, 4, 5, 7)
    times = {x.config.seed: x.summary.time_to_target for r in runs.values() for x in r.results
             if x.config.policy.name == "sync"}
    fast = {x.config.seed: x.summary.time_to_target for x in runs["async"].results}
    ratio, low, high = _scipy_paired_ratio([times[1], times[6]], [fast[1], fast[6]])
    assert (p.ratio.mean, p.ratio.low, p.ratio.high) == pytest.approx((ratio, low, high),
                                                                      rel=1e-9)
    assert str(p).endswith("(left out: seeds 0, 2, 3, 4, 5, 7, where either run did not "
                           "reach)")
    assert p.to_dict()["left_out"] == [0, 2, 3, 4, 5, 7]


@pytest.mark.parametrize("kwargs, message", [
    (dict(baseline="ssp:3"), "baseline 'ssp:3' must be one of the policies compared: "
                             "sync, async"),
    (dict(baseline="sync", metric="final_loss"), "baseline compares times: metric must be"),
    (dict(baseline="sync", target_loss=None), r"baseline compares time_to_target, which "
                                              r"needs a target: set target_loss \(--target-loss\)$"),
    (dict(baseline="nope"), "unknown policy 'nope'"),
])
def test_a_bad_baseline_is_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        asynclab.compare("sync,async", BASE, tune=True, lrs=[0.3], **kwargs)
