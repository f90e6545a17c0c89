"""The capstone checker: what may be chosen, honest references, deterministic feedback."""
import math

import pytest

import asynclab
from asynclab.course import capstone

WORKED_ANSWER = {"policy": "async", "workers": 6, "lr": 0.0811}   # lesson 11's stored answer


# -- what the learner may choose ---------------------------------------------------------------
def test_a_dict_sets_only_the_tunable_fields():
    cfg = capstone.config({"policy": "backup:2", "workers": 8, "lr": 0.4, "staleness_aware": True})
    assert (str(cfg.policy), cfg.workers, cfg.lr, cfg.staleness_aware) == ("backup:2", 8, 0.4, True)
    for fixed in ("problem", "compute", "straggler", "latency", "bandwidth", "apply_time",
                  "gradients", "target_loss", "batch", "seed"):
        assert getattr(cfg, fixed) == getattr(capstone.CLUSTER, fixed)


def test_a_config_that_keeps_the_cluster_is_accepted():
    cfg = capstone.config(capstone.CLUSTER.replace(policy="ssp:2", lr=0.05))
    assert (str(cfg.policy), cfg.lr) == ("ssp:2", 0.05)


@pytest.mark.parametrize("choice, words", [
    ({"policy": "async", "latency": 0.0}, "'latency' cannot be chosen"),
    ({"policy": "async", "batch": 128}, "'batch' cannot be chosen"),
    ({"policy": "async", "workers": 17}, "workers must be a whole number from 1 to 16"),
    ({"policy": "async", "workers": 0}, "workers must be a whole number from 1 to 16"),
    ({"policy": "async", "workers": 2.5}, "got 2.5"),
    ({"policy": "hogwild"}, "needs memory shared by all workers"),
    ({"policy": "fast"}, "unknown policy 'fast'"),
    ({"policy": "async", "lr": -1}, "lr must be greater than 0"),
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
    for fact in ("16 worker machines", "5% of gradients straggle 8 times", "0.2 s.",
                 "one push at a time, 0.2 s", "to 0.004", "3000 gradients"):
        assert fact in text


# -- the references are honestly tuned -----------------------------------------------------------
@pytest.mark.parametrize("name", sorted(capstone.REFERENCES))
def test_each_reference_uses_the_best_learning_rate_of_the_grid(name):
    choice = capstone.REFERENCES[name]
    assert choice["lr"] in capstone.LEARNING_RATES
    times = {lr: capstone.measure(capstone.config({**choice, "lr": lr})).time
             for lr in capstone.LEARNING_RATES}
    assert math.isfinite(times[choice["lr"]])
    assert times[choice["lr"]] == min(times.values())


# -- checking ---------------------------------------------------------------------------------------
def test_the_worked_answer_beats_both_references_and_says_why(capsys):
    report = capstone.check(WORKED_ANSWER)
    printed = capsys.readouterr().out
    assert report.passed and report.beats("sync") and report.beats("async")
    assert printed.strip() == str(report)
    assert "✓ You beat both references" in printed
    assert "async needed" in printed and "sync needed" in printed
    assert report.yours.staleness < report.references["async"].staleness


def test_feedback_is_deterministic():
    first = capstone.check({"policy": "backup:2", "workers": 8, "lr": 0.433}, show=False)
    second = capstone.check({"policy": "backup:2", "workers": 8, "lr": 0.433}, show=False)
    assert str(first) == str(second)


def test_a_diverging_choice_fails_and_the_feedback_names_the_cause():
    report = capstone.check({"policy": "async", "lr": 0.5}, show=False)
    assert not report.reached and not report.passed
    assert "diverged" in str(report) and "Lower lr" in str(report)
    assert str(report).endswith("must reach the target loss in every run.")


def test_a_reference_does_not_beat_itself():
    report = capstone.check(capstone.REFERENCES["async"], show=False)
    assert report.reached and not report.beats("async") and not report.passed
    assert "reach the target sooner than async" in str(report)


def test_measure_matches_the_runs_it_summarises():
    cfg = capstone.config(WORKED_ANSWER)
    m = capstone.measure(cfg)
    runs = [asynclab.run(cfg, seed=s) for s in capstone.SEEDS]
    assert m.times == tuple(r.summary.time_to_target for r in runs)
    assert m.idle == pytest.approx(sum(r.summary.idle_fraction for r in runs) / len(runs))
    assert m.time == pytest.approx(m.updates * m.per_update)


def test_the_lessons_numeric_question_agrees_with_the_cluster():
    from asynclab.course import questions
    q = questions.get("11-server-capacity")
    right = q.options[q.right()[0]].value
    assert right == pytest.approx(1 / capstone.CLUSTER.apply_time)
