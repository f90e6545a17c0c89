"""The capstone checker: what may be chosen, honest references, feedback that explains,
and a worked answer (lessons/solutions/11_capstone.md) that still says what the check says."""
import ast
import json
import math
import re
from pathlib import Path

import pytest
from test_lesson_numbers import claims, numbers_in

import asynclab
from asynclab.course import capstone

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
SOLUTION = (LESSONS / "solutions" / "11_capstone.md").read_text(encoding="utf-8")


def _block(language, index=0):
    return re.findall(rf"```{language}\n(.*?)```", SOLUTION, re.S)[index]


def _assigned(code, name):
    tree = ast.parse(code)
    value = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                 and n.targets[0].id == name)
    return ast.literal_eval(value)


WORKED_ANSWER = _assigned(_block("python"), "my_choice")


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
    monkeypatch.setattr(capstone, "measure", lambda *a, **k: pytest.fail("nothing may run"))
    report = capstone.check(choice)
    assert not report.passed and not report.reached and report.yours is None
    assert str(report).startswith(f"✗ Not yet: your choice still needs {needs}. Replace each ...")
    assert capsys.readouterr().out.strip() == str(report)


# -- the references are honestly tuned -----------------------------------------------------------
@pytest.mark.parametrize("name", sorted(capstone.REFERENCES))
def test_each_reference_uses_the_best_learning_rate_of_the_grid(name):
    choice = capstone.REFERENCES[name]
    assert choice["lr"] in capstone.LEARNING_RATES
    times = {lr: capstone.measure(capstone.config({**choice, "lr": lr})).time
             for lr in capstone.LEARNING_RATES}
    assert math.isfinite(times[choice["lr"]])
    assert times[choice["lr"]] == min(times.values())
    assert choice["lr"] not in (capstone.LEARNING_RATES[0], capstone.LEARNING_RATES[-1])


# -- checking ---------------------------------------------------------------------------------------
def test_the_worked_answer_beats_both_references_and_the_solution_quotes_the_check(capsys):
    report = capstone.check(WORKED_ANSWER)
    printed = capsys.readouterr().out
    assert report.passed and report.beats("sync") and report.beats("async")
    assert printed.strip() == str(report)
    assert str(report) == _block("text").strip(), "update lessons/solutions/11_capstone.md"
    assert report.yours.staleness < report.references["async"].staleness


def test_the_solution_states_only_numbers_the_check_or_the_lesson_prints():
    prose = re.sub(r"```.*?```", " ", SOLUTION, flags=re.S)
    notebook = json.loads((LESSONS / "11_capstone.ipynb").read_text(encoding="utf-8"))
    outputs = [str(capstone.check(WORKED_ANSWER, show=False)), capstone.describe()]
    outputs += ["".join(o.get("text", "")) for c in notebook["cells"] if c["cell_type"] == "code"
                for o in c["outputs"]]
    known = numbers_in("\n".join(outputs))
    missing = [w for w, digits, _ in claims(prose)
               if digits not in known and f"{float(digits):g}" not in known]
    assert not missing, f"numbers of the worked answer that nothing prints: {missing}"


def test_the_other_choices_the_solution_names_pass_too():
    for choice in _assigned(_block("python", 1), "also_passing"):
        assert capstone.check(choice, show=False).passed, choice


def test_the_feedback_splits_each_difference_into_updates_and_seconds_and_names_causes():
    text = str(capstone.check(WORKED_ANSWER, show=False))
    sync, async_ = (line for line in text.splitlines() if line.startswith(("- sync", "- async")))
    assert re.search(r"sync took [\d.]+x your time = [\d.]+x your updates \(\d+\) x \d+x your "
                     r"seconds per update", sync)
    assert "It needed fewer updates: each update averages 16 fresh gradients" in sync
    assert "Each took longer: the workers waited" in sync and "at barriers" in sync
    assert "It needed more updates: each update is one gradient, 14.9 updates stale" in async_
    assert "with or without a queue" in async_
    assert "Each took less time: the server, saturated, applied an update every 0.20 s" in async_


def test_feedback_is_deterministic():
    first = capstone.check({"policy": "backup:4", "lr": 1.26}, show=False)
    second = capstone.check({"policy": "backup:4", "lr": 1.26}, show=False)
    assert str(first) == str(second)


def test_a_collapsing_choice_fails_and_the_feedback_names_the_cause():
    report = capstone.check({"policy": "async", "lr": 0.5}, show=False)
    assert not report.reached and not report.passed and report.yours.diverged == 0
    assert "The network collapsed" in str(report) and "Lower lr" in str(report)
    assert str(report).endswith("must reach 95% validation accuracy in every run.")


def test_a_reference_does_not_beat_itself():
    report = capstone.check(capstone.REFERENCES["async"], show=False)
    assert report.reached and not report.beats("async") and not report.passed
    assert "reach the target sooner than async" in str(report)


def test_measure_matches_the_runs_it_summarises():
    cfg = capstone.config(WORKED_ANSWER)
    m = capstone.measure(cfg)
    runs = [asynclab.run(cfg, seed=s) for s in capstone.SEEDS]
    assert m.times == tuple(r.summary.time_to_accuracy for r in runs)
    assert m.idle == pytest.approx(sum(r.summary.idle_fraction for r in runs) / len(runs))
    assert m.time == pytest.approx(m.updates * m.per_update)


def test_the_lessons_numeric_questions_agree_with_the_cluster():
    from asynclab.course import questions
    q = questions.get("11-server-capacity")
    assert q.options[q.right()[0]].value == pytest.approx(1 / capstone.CLUSTER.apply_time)
    q = questions.get("11-queue-staleness")
    assert q.options[q.right()[0]].value == capstone.CLUSTER.workers - 1
