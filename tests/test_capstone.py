"""The capstone checker: what may be chosen, honest references (tuned rate and momentum,
stored as data and re-checked here), a verdict on fresh seeds with a paired interval,
feedback that explains, and a worked answer (lessons/solutions/13_capstone.md) that still
says what the check says."""
import ast
import json
import math
import re
from pathlib import Path

import pytest
from test_lesson_numbers import claims, numbers_in

import asynclab
from asynclab.course import capstone, capstone_references
from asynclab.runs import field_estimate
from asynclab.stats import Estimate
from asynclab.tuning import Row

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
SOLUTION = (LESSONS / "solutions" / "13_capstone.md").read_text(encoding="utf-8")


def _block(language, index=0):
    return re.findall(rf"```{language}\n(.*?)```", SOLUTION, re.S)[index]


def _assigned(code, name):
    tree = ast.parse(code)
    value = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                 and n.targets[0].id == name)
    return ast.literal_eval(value)


WORKED_ANSWER = _assigned(_block("python"), "my_choice")


@pytest.fixture(scope="module")
def worked():
    """The check of the worked answer (its runs and the references' are shared)."""
    return capstone.check(WORKED_ANSWER, show=False)


# -- what the learner may choose ---------------------------------------------------------------
def test_a_dict_sets_only_the_tunable_fields():
    cfg = capstone.config({"policy": "backup:2", "workers": 8, "lr": 0.4, "staleness_aware": True,
                           "momentum": 0.5})
    assert (str(cfg.policy), cfg.workers, cfg.lr, cfg.staleness_aware, cfg.momentum) == (
        "backup:2", 8, 0.4, True, 0.5)
    for fixed in ("problem", "compute", "straggler", "latency", "bandwidth", "apply_time",
                  "gradients", "target_accuracy", "eval_points", "batch", "seed"):
        assert getattr(cfg, fixed) == getattr(capstone.CLUSTER, fixed)


def test_a_config_that_keeps_the_cluster_is_accepted():
    cfg = capstone.config(capstone.CLUSTER.replace(policy="ssp:2", lr=0.05))
    assert (str(cfg.policy), cfg.lr) == ("ssp:2", 0.05)


@pytest.mark.parametrize("choice, words", [
    ({"policy": "async", "lr": 0.1, "latency": 0.0}, "'latency' cannot be chosen"),
    ({"policy": "async", "lr": 0.1, "batch": 128}, "'batch' cannot be chosen"),
    ({"policy": "async", "lr": 0.1, "workers": 17}, "workers must be a whole number from 1 to 16"),
    ({"policy": "async", "lr": 0.1, "workers": 0}, "workers must be a whole number from 1 to 16"),
    ({"policy": "async", "lr": 0.1, "workers": 2.5}, "got 2.5"),
    ({"policy": "hogwild", "lr": 0.1}, "needs memory shared by all workers"),
    ({"policy": "fast", "lr": 0.1}, "unknown policy 'fast'"),
    ({"policy": "async", "lr": -1}, "lr must be greater than 0"),
    ({"policy": "async", "lr": 0.1, "momentum": 1.0}, "momentum"),
    ({"policy": "async"}, "the choice still needs lr"),
    ("async", "a choice is a dict"),
])
def test_bad_choices_are_refused_with_a_message_naming_them(choice, words):
    with pytest.raises(ValueError, match=words):
        capstone.config(choice)


def test_a_config_that_changes_the_cluster_is_refused():
    with pytest.raises(ValueError, match="apply_time is part of the cluster description"):
        capstone.config(capstone.CLUSTER.replace(apply_time=0.0))


def test_the_description_states_the_numbers_the_learner_needs():
    text = capstone.describe()
    for fact in ("16 worker machines", "5% of gradients straggle 8 times", "38,480 bytes",
                 "= 0.14 s.", "one push at a time, 0.2 s", "MLP 64-64-10", "to 95% validation",
                 "1500 gradients"):
        assert fact in text


# -- the placeholder -----------------------------------------------------------------------------
@pytest.mark.parametrize("choice, needs", [
    ({"policy": ..., "lr": ...}, "policy and lr"),
    ({}, "policy and lr"),
    ({"policy": "async", "lr": ...}, "lr"),
    ({"policy": "async", "lr": 0.1, "workers": ...}, "workers"),
])
def test_a_placeholder_choice_is_told_what_is_missing_without_running(choice, needs, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr(capstone, "run_many", lambda *a, **k: pytest.fail("nothing may run"))
    report = capstone.check(choice)
    assert not report.passed and not report.reached and report.yours is None
    assert str(report).startswith(f"✗ Not yet: your choice still needs {needs}. Replace each ...")
    assert capsys.readouterr().out.strip() == str(report)


# -- the references: tuned rate and momentum, stored, checked against fresh runs -----------------
def test_the_check_reports_on_seeds_the_tuning_never_saw():
    assert set(capstone.REPORT_SEEDS).isdisjoint(capstone.TUNING_SEEDS)
    assert len(capstone.REPORT_SEEDS) >= 5


@pytest.mark.parametrize("name", capstone_references.POLICIES)
def test_each_stored_reference_is_the_best_of_its_grid_and_inside_it(name):
    tuning = capstone_references.stored()[name]
    assert tuning["seeds"] == list(capstone.TUNING_SEEDS)
    assert tuning["metric"] == "time_to_accuracy"
    rows = tuning["rows"]
    assert {(r["lr"], r["momentum"]) for r in rows} == {
        (lr, m) for lr in capstone.LEARNING_RATES for m in capstone.MOMENTA}
    best = min(rows, key=lambda r: (-r["ok"], r["mean"] if r["ok"] else math.inf,
                                    r["diverged"], r["lr"], r["momentum"]))
    assert (best["lr"], best["momentum"]) == (tuning["lr"], tuning["momentum"])
    assert best["ok"] == len(capstone.TUNING_SEEDS) and not tuning["at_edge"]
    assert capstone_references.choices()[name] == {"policy": name, "lr": tuning["lr"],
                                                    "momentum": tuning["momentum"]}


def _neighbours(lr, momentum):
    """The best setting and its neighbours in the grid: one rate step, one momentum step."""
    lrs, momenta = capstone.LEARNING_RATES, capstone.MOMENTA
    i, j = lrs.index(lr), momenta.index(momentum)
    return [(lr, momentum)] + [(lrs[k], momentum) for k in (i - 1, i + 1) if 0 <= k < len(lrs)] \
        + [(lr, momenta[k]) for k in (j - 1, j + 1) if 0 <= k < len(momenta)]


def test_the_stored_rows_around_each_best_are_what_the_runs_give():
    """Re-runs each reference's best setting and its grid neighbours on the tuning seeds:
    the stored rows must match (the simulator is deterministic), and the best must beat
    every neighbour. A change of the engine that moves them says: re-tune."""
    settings = [(name, lr, m) for name in capstone_references.POLICIES
                for lr, m in _neighbours(capstone_references.choices()[name]["lr"],
                                         capstone_references.choices()[name]["momentum"])]
    seeds = list(capstone.TUNING_SEEDS)
    results = asynclab.run_many([capstone.CLUSTER.replace(policy=name, lr=lr, momentum=m)
                                 for name, lr, m in settings], seeds=seeds, jobs=2)
    measured = {}
    for k, (name, lr, m) in enumerate(settings):
        times = [r.summary.time_to_accuracy for r in results[k * len(seeds):(k + 1) * len(seeds)]]
        reached = [t for t in times if t is not None]
        estimate = field_estimate("time_to_accuracy", reached)
        measured[name, lr, m] = Row(lr, estimate, ok=len(reached), diverged=0,
                                    missed=len(times) - len(reached), final_loss=0.0, momentum=m)
    for (name, lr, m), row in measured.items():
        stored = next(r for r in capstone_references.stored()[name]["rows"]
                      if (r["lr"], r["momentum"]) == (lr, m))
        assert row.ok == stored["ok"], (name, lr, m, "re-tune: python -m "
                                        "asynclab.course.tune_capstone")
        if row.ok:
            assert row.estimate.mean == pytest.approx(stored["mean"], rel=1e-12)
    for name in capstone_references.POLICIES:
        best = capstone_references.choices()[name]
        keys = [k for k in measured if k[0] == name]
        assert min(keys, key=lambda k: measured[k].rank_key()) == (name, best["lr"],
                                                                    best["momentum"])


def test_a_stored_tuning_for_another_cluster_is_refused(monkeypatch):
    monkeypatch.setattr(capstone_references, "CLUSTER",
                        capstone.CLUSTER.replace(apply_time=0.1))
    capstone_references.stored.cache_clear()
    try:
        with pytest.raises(ValueError, match="tuned for another cluster or grid; re-tune"):
            capstone_references.choices()
    finally:
        monkeypatch.undo()
        capstone_references.stored.cache_clear()


# -- checking ---------------------------------------------------------------------------------------
def test_the_worked_answer_beats_both_references_and_the_solution_quotes_the_check(worked):
    assert worked.passed and worked.beats("sync") and worked.beats("async")
    assert str(worked) == _block("text").strip(), "update lessons/solutions/13_capstone.md"
    assert worked.yours.staleness < worked.references["async"].staleness


def test_the_solution_states_only_numbers_the_check_or_the_lesson_prints(worked):
    prose = re.sub(r"```.*?```", " ", SOLUTION, flags=re.S)
    notebook = json.loads((LESSONS / "13_capstone.ipynb").read_text(encoding="utf-8"))
    outputs = [str(worked), capstone.describe()]
    outputs += ["".join(o.get("text", "")) for c in notebook["cells"] if c["cell_type"] == "code"
                for o in c["outputs"]]
    known = numbers_in("\n".join(outputs))
    missing = [w for w, digits, _ in claims(prose)
               if digits not in known and f"{float(digits):g}" not in known]
    assert not missing, f"numbers of the worked answer that nothing prints: {missing}"


def test_the_other_choices_the_solution_names_pass_too():
    for choice in _assigned(_block("python", 1), "also_passing"):
        assert capstone.check(choice, show=False).passed, choice


def test_the_verdict_needs_the_whole_interval_below_one():
    """Faster on average is not enough: a ratio whose 95% interval reaches 1 fails."""
    m = capstone.Measurement("x", capstone.CLUSTER, (10.0,) * 5, 10.0, 0, 0, 0, 0, 0.9, 0)
    close = capstone.Report(m, {"sync": m, "async": m}, (),
                            {"sync": Estimate(0.5, 0.4, 0.6, 5, scale="log"),
                             "async": Estimate(0.9, 0.8, 1.02, 5, scale="log")})
    assert close.reached and close.beats("sync") and not close.beats("async")
    assert not close.passed


def test_a_reference_that_misses_a_seed_is_beaten_by_a_choice_that_reaches_on_every_one():
    m = capstone.Measurement("x", capstone.CLUSTER, (10.0,) * 5, 10.0, 0, 0, 0, 0, 0.9, 0)
    slow = capstone.Measurement("y", capstone.CLUSTER, (12.0, math.inf, 12.0, 12.0, 12.0),
                                12.0, 0, 0, 0, 0, 0.8, 0)
    refs = {"sync": slow, "async": m}
    paired = {name: capstone._paired(m, ref) for name, ref in refs.items()}
    assert paired["sync"] is None
    report = capstone.Report(m, refs, (), paired)
    assert report.beats("sync") and not report.beats("async") and not report.passed
    assert "sync missed the target on a seed" in capstone._verdict(report)


def test_the_feedback_splits_each_difference_into_updates_and_seconds_and_names_causes(worked):
    text = str(worked)
    sync, async_ = (line for line in text.splitlines() if line.startswith(("- sync", "- async")))
    assert re.search(r"sync took [\d.]+x your time = [\d.]+x your updates \(\d+\) x \d+x your "
                     r"seconds per update", sync)
    assert "It needed fewer updates: each update averages 16 fresh gradients" in sync
    assert "Each took longer: the workers waited" in sync and "at barriers" in sync
    assert re.search(r"It needed more updates: each update is one gradient, 1[45]\.\d updates "
                     "stale", async_)
    assert "with or without a queue" in async_
    assert "Each took less time: the server, saturated, applied an update every 0.2" in async_
    assert re.search(r"✓ You beat both references over seeds 3-7, each 95% interval below 1: "
                     r"your time / async's = [\d.]+ \[[\d.]+, [\d.]+\], / sync's = ", text)


def test_a_collapsing_choice_fails_and_the_feedback_names_the_cause():
    report = capstone.check({"policy": "async", "lr": 0.5}, show=False)
    assert not report.reached and not report.passed and report.yours.diverged == 0
    assert "The network collapsed" in str(report) and "Lower lr" in str(report)
    assert str(report).endswith("must reach 95% validation accuracy in every run (seeds 3-7).")


def test_a_reference_does_not_beat_itself():
    report = capstone.check(capstone_references.choices()["async"], show=False)
    assert report.reached and not report.beats("async") and not report.passed
    assert report.paired["async"].mean == pytest.approx(1.0)
    assert "Beat each reference with the whole 95% interval below 1" in str(report)


def test_measure_matches_the_runs_it_summarises(worked):
    cfg = capstone.config(WORKED_ANSWER)
    m = worked.yours
    runs = [asynclab.run(cfg, seed=s) for s in capstone.REPORT_SEEDS]
    assert m.times == tuple(r.summary.time_to_accuracy for r in runs)
    assert m.time == pytest.approx(math.exp(sum(math.log(t) for t in m.times) / len(m.times)))
    assert m.idle == pytest.approx(sum(r.summary.idle_fraction for r in runs) / len(runs))
    assert m.time == pytest.approx(m.updates * m.per_update)
    assert worked.paired["async"].mean == pytest.approx(math.exp(sum(
        math.log(a / b) for a, b in zip(m.times, worked.references["async"].times)) / len(runs)))


def test_the_lessons_numeric_questions_agree_with_the_cluster():
    from asynclab.course import questions
    q = questions.get("13-server-capacity")
    assert q.options[q.right()[0]].value == pytest.approx(1 / capstone.CLUSTER.apply_time)
    q = questions.get("13-queue-staleness")
    assert q.options[q.right()[0]].value == capstone.CLUSTER.workers - 1
    # the transfer question: gradients three times slower, all else as on the cluster
    c = capstone.CLUSTER
    chance, factor = c.straggler
    cycle = (2 * c.timing.message_time(c.problem.nbytes)
             + 3 * c.compute.mean * (1 + chance * (factor - 1)) + c.apply_time)
    q = questions.get("13-slower-machines")
    assert abs(q.options[q.right()[0]].value - cycle / c.apply_time) < q.tolerance
