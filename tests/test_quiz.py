"""Quizzes: the bank's integrity, grading, progress files and the headless paths."""
import csv
import html
import io
import json
import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from asynclab.course import questions, quiz

LESSONS = range(14)    # lessons 00-13


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private ASYNCLAB_HOME, so no test reads or writes the real one."""
    monkeypatch.setenv("ASYNCLAB_HOME", str(tmp_path))
    quiz._stores.clear()
    yield tmp_path
    quiz._stores.clear()


def single(**changes):
    raw = {"id": "07-x", "kind": "single", "question": "Which?",
           "options": [{"text": "yes", "explanation": "because", "correct": True},
                       {"text": "no", "explanation": "because not"}]}
    raw.update(changes)
    return {"lesson": 7, "questions": [raw]}


# -- the bank -------------------------------------------------------------------------------
def test_bank_ids_unique_and_prefixed_with_their_lesson():
    everything = questions.bank()
    ids = [q["id"] for q in quiz.list_questions()]
    assert len(ids) == len(set(ids)) == len(everything)
    for q in everything.values():
        assert q.id.startswith(f"{q.lesson:02d}-")


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lesson_has_at_least_three_questions_and_all_kinds_appear(lesson):
    kinds = [q.kind for q in questions.bank().values() if q.lesson == lesson]
    assert len(kinds) >= 3
    all_kinds = {q.kind for q in questions.bank().values()}
    assert all_kinds == {"single", "multiple", "numeric"}


def test_every_option_explained_and_every_question_answerable():
    for q in questions.bank().values():
        assert q.question.strip()
        right = q.right()
        assert right, q.id
        if q.kind != "multiple":
            assert len(right) == 1, q.id
        for o in q.options:
            assert o.text.strip() and len(o.explanation.strip()) > 20, (q.id, o.text)
        # The solution, graded, is correct; every wrong single option is graded wrong.
        if q.kind == "numeric":
            assert questions.grade(q, q.options[right[0]].value)[0]
            assert q.otherwise.strip()
            for o in q.options:
                assert questions.grade(q, o.value)[0] == o.correct
        else:
            assert questions.grade(q, right)[0]
            for i in range(len(q.options)):
                assert questions.grade(q, [i])[0] == (right == [i])


def test_lesson_three_asks_the_course_question_with_its_four_options():
    q = questions.get("03-main-benefit")
    assert q.question == ("What is the main benefit of Asynchronous Gradient Updates "
                          "in distributed systems?")
    texts = [o.text for o in q.options]
    assert texts == ["Managing communication overhead", "Reducing memory usage",
                     "Increasing model complexity", "Improving input processing speed"]
    assert q.right() == [0]


@pytest.mark.parametrize("change, message", [
    ({"kind": "essay"}, "kind must be one of"),
    ({"id": "03-x"}, "must start with the lesson number"),
    ({"options": [{"text": "yes", "explanation": "", "correct": True},
                  {"text": "no", "explanation": "b"}]}, "needs both a text and an explanation"),
    ({"options": [{"text": "yes", "explanation": "a"}, {"text": "no", "explanation": "b"}]},
     "exactly one correct option"),
    ({"options": [{"text": "yes", "explanation": "a", "correct": True},
                  {"text": "no", "explanation": "b", "correct": True}]},
     "exactly one correct option"),
    ({"options": [{"text": "yes", "explanation": "a", "correct": True}]}, "needs 2 to"),
    ({"question": " "}, "question text is empty"),
    ({"kind": "numeric", "tolerance": 0.1, "otherwise": "hm"}, "give each option a number"),
])
def test_bad_bank_entries_are_rejected_with_a_clear_message(change, message):
    with pytest.raises(ValueError, match=message):
        questions.parse_lesson(single(**change), "07.json")


def test_numeric_entries_need_tolerance_otherwise_and_distinct_values():
    options = [{"text": "2", "value": 2, "explanation": "a", "correct": True},
               {"text": "2.05", "value": 2.05, "explanation": "b"}]
    base = {"id": "07-n", "kind": "numeric", "question": "How many?", "options": options}
    with pytest.raises(ValueError, match="tolerance > 0"):
        questions.parse_lesson({"lesson": 7, "questions": [dict(base, tolerance=0, otherwise="x")]})
    with pytest.raises(ValueError, match="2 x tolerance apart"):
        questions.parse_lesson({"lesson": 7, "questions": [dict(base, tolerance=0.1, otherwise="x")]})
    ok = questions.parse_lesson({"lesson": 7, "questions": [dict(base, tolerance=0.01, otherwise="x")]})
    assert ok[0].kind == "numeric"


def test_load_bank_rejects_duplicate_ids_and_misnamed_files(tmp_path):
    (tmp_path / "07.json").write_text(json.dumps(single()))
    (tmp_path / "08.json").write_text(json.dumps(dict(single(), lesson=8)))
    with pytest.raises(ValueError, match="ids must start"):
        questions.load_bank(tmp_path.iterdir())
    (tmp_path / "08.json").unlink()
    (tmp_path / "09.json").write_text(json.dumps(single()))
    with pytest.raises(ValueError, match="does not match the file name"):
        questions.load_bank(tmp_path.iterdir())
    (tmp_path / "09.json").unlink()
    assert list(questions.load_bank(tmp_path.iterdir())) == ["07-x"]
    other = dict(single(), lesson=7)
    (tmp_path / "07.json").write_text(json.dumps(
        {"lesson": 7, "questions": other["questions"] * 2}))
    with pytest.raises(ValueError, match="duplicate question id '07-x'"):
        questions.load_bank(tmp_path.iterdir())


def test_list_questions_has_exactly_the_cli_shape_and_no_answer_key():
    listed = quiz.list_questions()
    assert len(listed) == len(questions.bank())
    for q in listed:
        assert set(q) == {"id", "lesson", "kind", "question", "options"}
        assert q["kind"] in ("single", "multiple", "numeric")
        for o in q["options"]:
            assert set(o) == {"text", "explanation"}
    assert {q["lesson"] for q in quiz.list_questions(lesson=3)} == {3}
    assert quiz.list_questions(lesson=99) == []
    json.dumps(listed)   # plain data


def test_cli_lists_the_bank_as_json():
    out = subprocess.run([sys.executable, "-m", "asynclab", "quiz", "--list", "--json",
                          "--lesson", "3"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert listed == quiz.list_questions(lesson=3)


# -- grading ------------------------------------------------------------------------------
def test_single_choice_accepts_letters_and_indices():
    q = questions.get("03-main-benefit")
    assert questions.parse_choice(q, "a") == [0] == questions.parse_choice(q, " A. ")
    assert questions.parse_choice(q, 1) == [1]
    # A wrong answer explains the option chosen, and only that one: the right answer
    # is not given away, and the learner is invited to try again.
    correct, head, items = questions.grade(q, [1])
    assert not correct and head == "✗ Not quite: you chose B. Read why below, then try again."
    assert items == [(f"✗ B. {q.options[1].text} (wrong; you chose it)", q.options[1].explanation)]
    # A right answer explains every option.
    correct, head, items = questions.grade(q, [0])
    labels = [label for label, _ in items]
    assert correct and head == "✓ Correct: A."
    assert labels[0].startswith("✓ A.") and labels[0].endswith("(right; you chose it)")
    assert labels[1].startswith("✗ B.") and labels[1].endswith("(wrong)")
    assert [why for _, why in items] == [o.explanation for o in q.options]


@pytest.mark.parametrize("bad", ["E", "AB", 4, -1, True, None, 1.5, ["A"]])
def test_single_choice_rejects_what_is_not_one_option(bad):
    with pytest.raises(ValueError, match="03-main-benefit"):
        questions.parse_choice(questions.get("03-main-benefit"), bad)


def test_multiple_select_needs_exactly_the_right_set():
    q = next(q for q in questions.bank().values() if q.kind == "multiple")
    right = q.right()
    letters = "".join(q.letters()[i] for i in right)
    assert questions.parse_choice(q, letters) == right
    assert questions.parse_choice(q, list(letters.lower())) == right
    assert questions.parse_choice(q, ", ".join(letters)) == right
    assert questions.parse_choice(q, " ".join(f"{x})" for x in letters.lower())) == right
    assert questions.parse_choice(q, letters[0] + ".") == right[:1]
    assert questions.grade(q, right)[0]
    assert not questions.grade(q, right[:-1] or [i for i in range(len(q.options)) if i not in right])[0]
    everything = list(range(len(q.options)))
    assert not questions.grade(q, everything)[0]
    # Part of the right set: only the chosen options are explained, and the headline
    # says that right ones are missing without naming them.
    correct, head, items = questions.grade(q, right[:1])
    if len(right) > 1:
        assert not correct and "Some right options are not among them" in head
        assert len(items) == 1 and "you chose it" in items[0][0]
    _, _, items = questions.grade(q, right)
    assert len(items) == len(q.options)
    with pytest.raises(ValueError, match="at least one"):
        questions.parse_choice(q, [])


def test_numeric_answers_within_tolerance_and_known_mistakes_are_explained():
    q = questions.get("00-gradients-in-time")
    assert questions.parse_choice(q, "40/2") == 20.0
    assert questions.grade(q, 20.005)[0]
    assert not questions.grade(q, 20.5)[0]
    correct, head, items = questions.grade(q, 5)
    assert not correct and "20" not in head and "try again" in head   # not given away
    assert items == [("✗ 5", next(o.explanation for o in q.options if o.value == 5))]
    _, _, items = questions.grade(q, 123)
    assert items == [("✗ 123", q.otherwise)]
    correct, _, items = questions.grade(q, 20)          # right: every option explained
    assert correct and [why for _, why in items] == [o.explanation for o in q.options]
    for bad in ["twenty", math.nan, True, None, "1/0"]:
        with pytest.raises(ValueError, match="must be a number"):
            questions.parse_choice(q, bad)


def test_answer_prints_feedback_returns_bool_and_saves(home, capsys):
    assert quiz.answer("03-main-benefit", "B") is False
    out = capsys.readouterr().out
    assert "✗ Not quite" in out and "Reducing memory usage (wrong; you chose it)" in out
    assert quiz.answer("03-main-benefit", "A") is True
    assert capsys.readouterr().out.startswith("✓ Correct: A.")
    saved = json.loads((home / "progress.json").read_text())["answers"]["03-main-benefit"]
    assert saved == {"attempts": 2, "solved": True, "last_correct": True, "last_answer": [0]}
    assert not [p for p in home.iterdir() if p.name.startswith(".progress-")]


def right_letter(qid):
    """The letter of the right option as shown (options are shuffled by question id)."""
    q = quiz.shown(qid)
    return q.letters()[q.right()[0]]


def test_progress_counts_answered_and_solved_per_lesson(home):
    p = quiz.progress(lesson=0)
    assert p.to_dict()["00"]["answered"] == 0
    quiz.answer("00-gradients-in-time", 5)
    quiz.answer("00-same-seed", right_letter("00-same-seed"))
    d = quiz.progress().to_dict()
    assert d["00"]["answered"] == 2 and d["00"]["solved"] == 1
    assert "00-gradients-in-time" in d["00"]["todo"] and "00-same-seed" not in d["00"]["todo"]
    assert set(d) >= {f"{n:02d}" for n in LESSONS}
    assert "00-gradients-in-time" in repr(quiz.progress(lesson=0))
    quiz._stores.clear()      # a new session reads the saved file
    assert quiz.progress(lesson=0).to_dict()["00"]["solved"] == 1


def test_solution_prints_every_explanation_and_saves_nothing(home, capsys):
    quiz.solution("03-main-benefit")
    out = capsys.readouterr().out
    assert out.startswith("Answer: A.")
    for o in questions.get("03-main-benefit").options:
        assert o.explanation in out
    assert not (home / "progress.json").exists()


def test_unwritable_home_warns_once_and_never_raises(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ASYNCLAB_HOME", str(blocker / "home"))
    quiz._stores.clear()
    with pytest.warns(RuntimeWarning, match="could not save quiz progress"):
        assert quiz.answer("03-main-benefit", "A") is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert quiz.answer("03-main-benefit", "B") is False     # no second warning
    assert quiz.progress(lesson=3).to_dict()["03"]["solved"] == 1   # kept in memory
    quiz._stores.clear()


def test_a_failed_save_leaves_no_temporary_file(home, monkeypatch):
    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(quiz.os, "replace", refuse)
    with pytest.warns(RuntimeWarning, match="disk full"):
        assert quiz.answer("00-same-seed", right_letter("00-same-seed")) is True
    assert list(home.iterdir()) == []


def test_corrupt_progress_file_is_reported_not_fatal(home):
    (home / "progress.json").write_text("{not json")
    with pytest.warns(RuntimeWarning, match="could not read quiz progress"):
        assert quiz.progress(lesson=0).to_dict()["00"]["answered"] == 0
    assert quiz.answer("00-same-seed", right_letter("00-same-seed")) is True


def test_unknown_question_is_one_clear_error(home):
    with pytest.raises(ValueError, match="unknown question 'nope'"):
        quiz.answer("nope", "A")


# -- headless and widget paths ------------------------------------------------------------
def test_ask_headless_prints_the_question_and_how_to_answer(home, capsys, monkeypatch):
    monkeypatch.setenv("ASYNCLAB_HEADLESS", "1")
    assert quiz.ask("03-main-benefit") is None
    out = capsys.readouterr().out
    assert "What is the main benefit of Asynchronous Gradient Updates" in out
    assert "  A. Managing communication overhead" in out
    assert 'quiz.answer("03-main-benefit", "X")  # X: the letter of your choice' in out
    assert not (home / "progress.json").exists()


def test_ask_without_a_kernel_is_headless_even_without_the_variable(capsys, monkeypatch):
    monkeypatch.delenv("ASYNCLAB_HEADLESS", raising=False)
    quiz.ask("00-gradients-in-time")
    assert "(a number)" in capsys.readouterr().out


def test_quiz_widget_checks_answers_and_carries_css_hooks(home):
    w = quiz.QuizWidget(questions.get("03-main-benefit"))
    assert {"asynclab-quiz", "asynclab-quiz-03-main-benefit"} <= set(w.box._dom_classes)
    assert "asynclab-check" in w.check._dom_classes
    assert "asynclab-feedback" in w.feedback._dom_classes
    assert w.check.description == "Check"
    assert w.on_check() is None and "Choose an answer first" in w.feedback.value
    w.choices.index = 1
    w.check.click()
    assert "Not quite" in w.feedback.value and "you chose it" in w.feedback.value
    w.choices.index = 0
    assert w.on_check() is True and "✓ Correct: A." in w.feedback.value
    assert quiz.progress(lesson=3).to_dict()["03"]["solved"] == 1


def test_multiple_and_numeric_widgets(home):
    q = next(q for q in questions.bank().values() if q.kind == "multiple")
    w = quiz.QuizWidget(q)
    for i in w.q.right():         # the widget's question: options in the order shown
        w.choices.children[i].value = True
    assert w.on_check() is True
    n = quiz.QuizWidget(questions.get("00-gradients-in-time"))
    n.choices.value = "ten"
    assert n.on_check() is None and "must be a number" in n.feedback.value
    n.choices.value = "5"
    assert n.on_check() is False and r"$10 \times 0.5$" in n.feedback.value
    assert "try again" in n.feedback.value and "20" not in n.feedback.value
    n.choices.value = "20"
    assert n.on_check() is True


def test_tests_never_touch_the_real_home():
    assert os.environ.get("ASYNCLAB_HOME"), "tests/conftest.py should set ASYNCLAB_HOME"


def test_ask_in_a_live_notebook_displays_the_quiz_widget(monkeypatch, capsys):
    class Kernel:
        kernel = object()

    shown = []
    monkeypatch.setenv("ASYNCLAB_HEADLESS", "0")
    monkeypatch.setattr("IPython.get_ipython", lambda: Kernel())
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    assert quiz.ask("03-main-benefit") is None
    assert capsys.readouterr().out == ""
    assert len(shown) == 1 and "asynclab-quiz-03-main-benefit" in shown[0]._dom_classes


# -- the numeric answers agree with the simulator they teach about ---------------------------
def right_value(qid):
    q = questions.get(qid)
    return q.options[q.right()[0]].value, q.tolerance


def small_run(**settings):
    import asynclab
    return asynclab.run(problem=asynclab.Logistic(features=10, examples=100), eval_points=2,
                        **settings)


def test_numeric_answers_match_exact_simulations():
    import asynclab
    value, tol = right_value("00-gradients-in-time")
    r = small_run(workers=1, compute="const:0.5", gradients=round(value))
    assert r.summary.time == pytest.approx(10.0)
    value, tol = right_value("01-baseline-time")
    assert small_run(workers=1, compute="const:0.2", gradients=500).summary.time == \
        pytest.approx(value, abs=tol)
    value, tol = right_value("01-initial-loss")
    problem = asynclab.Logistic(features=50, examples=1000)
    assert problem.loss(problem.initial_params()) == pytest.approx(value, abs=tol)
    value, tol = right_value("02-message-time")
    timing = asynclab.Config(latency=0.05, bandwidth=100e6).timing
    assert timing.message_time(8_000_000) == pytest.approx(value, abs=tol)


@pytest.mark.parametrize("qid, policy, workers, measure, slack", [
    ("02-step-time", "sync", 4, lambda s: s.time / s.updates, 0.05),
    ("03-idle-fraction", "sync", 4, lambda s: s.idle_fraction, 0.02),
    ("03-throughput", "async", 4, lambda s: s.gradients_per_second, 0.1),
    ("04-mean-staleness", "async", 8, lambda s: s.mean_staleness, 0.1),
])
def test_numeric_answers_match_long_simulated_runs(qid, policy, workers, measure, slack):
    value, _ = right_value(qid)
    r = small_run(policy=policy, workers=workers, gradients=8000, compute="exp:1")
    assert measure(r.summary) == pytest.approx(value, rel=slack)


def test_options_are_shown_in_an_order_fixed_by_the_question_id():
    single = [q for q in questions.bank().values() if q.kind != "numeric"]
    orders = [questions.option_order(q) for q in single]
    assert all(sorted(o) == list(range(len(q.options))) for o, q in zip(orders, single))
    assert orders == [questions.option_order(q) for q in single]           # stable
    assert any(o != sorted(o) for o in orders)                              # shuffled
    # Not always the same slot for the right answer.
    slots = {o.index(q.right()[0]) for o, q in zip(orders, single)}
    assert len(slots) > 1
    numeric = next(q for q in questions.bank().values() if q.kind == "numeric")
    assert questions.option_order(numeric) == list(range(len(numeric.options)))


# -- kinder quizzes: shuffled options, retry and reveal, progress for instructors -----------
def test_letters_follow_the_order_shown_everywhere(home, capsys):
    q = questions.get("00-same-seed")            # the bank's order differs from the shown one
    order = questions.option_order(q)
    assert order != sorted(order)
    shown = quiz.shown(q.id)
    assert [o.text for o in shown.options] == [q.options[i].text for i in order]
    first = shown.options[0].text
    quiz.ask(q.id)
    assert f"  A. {first}" in capsys.readouterr().out
    assert quiz.list_questions(lesson=0)[1]["options"][0]["text"] == first
    quiz.answer(q.id, "A")                       # "A" is the first option shown
    assert f"A. {first} (" in capsys.readouterr().out
    quiz.answer(q.id, 0)                         # and so is index 0
    assert f"A. {first} (" in capsys.readouterr().out


def test_a_wrong_answer_explains_only_that_option_and_the_learner_tries_again(home, capsys):
    qid = "00-same-seed"
    q = quiz.shown(qid)
    wrong = next(letter for letter, o in zip(q.letters(), q.options) if not o.correct)
    assert quiz.answer(qid, wrong) is False
    out = capsys.readouterr().out
    chosen = q.options[q.letters().index(wrong)]
    assert out.startswith(f"✗ Not quite: you chose {wrong}. Read why below, then try again.")
    assert chosen.explanation in out
    for o in q.options:                          # nothing else is explained or given away
        if o is not chosen:
            assert o.explanation not in out and o.text not in out
    assert quiz.answer(qid, right_letter(qid)) is True
    out = capsys.readouterr().out
    assert all(o.explanation in out for o in q.options)
    saved = json.loads((home / "progress.json").read_text())["answers"][qid]
    assert (saved["attempts"], saved["solved"], saved["last_correct"]) == (2, True, True)


def test_quiz_widget_retry_and_reveal(home):
    import ipywidgets
    w = quiz.QuizWidget(questions.get("00-same-seed"))
    assert isinstance(w.feedback, ipywidgets.HTMLMath)          # math is typeset
    assert "asynclab-retry" in w.retry._dom_classes and "asynclab-reveal" in w.reveal._dom_classes
    assert w.retry.layout.display == "none" and w.reveal.description == "Show solution"
    right = w.q.right()[0]
    wrong = next(i for i in range(len(w.q.options)) if i != right)
    w.choices.index = wrong
    assert w.on_check() is False
    assert w.q.options[wrong].explanation in w.feedback.value
    assert w.q.options[right].explanation not in w.feedback.value
    assert w.retry.layout.display is None                       # "Try again" is offered
    w.retry.click()
    assert w.choices.index is None and w.feedback.value == "" and w.retry.layout.display == "none"
    w.reveal.click()                                            # every option explained
    assert all(html.escape(o.explanation) in w.feedback.value for o in w.q.options)
    assert w.feedback.value.count("<li>") == len(w.q.options)
    assert json.loads((home / "progress.json").read_text())["answers"][w.q.id]["attempts"] == 1
    w.choices.index = right
    assert w.on_check() is True
    assert w.feedback.value.count("<li>") == len(w.q.options)
    assert w.retry.layout.display == "none"


def test_multiple_and_numeric_widgets_clear_on_retry(home):
    q = next(q for q in questions.bank().values() if q.kind == "multiple")
    w = quiz.QuizWidget(q)
    w.choices.children[0].value = True
    w.on_retry()
    assert not any(box.value for box in w.choices.children)
    n = quiz.QuizWidget(questions.get("00-gradients-in-time"))
    n.choices.value = "7"
    assert n.on_check() is False and n.retry.layout.display is None
    n.on_retry()
    assert n.choices.value == "" and n.feedback.value == ""


def test_headless_question_text_is_stable_and_says_how_to_get_the_solution():
    text = quiz.question_text(quiz.shown("03-main-benefit"))
    assert text == quiz.question_text(quiz.shown("03-main-benefit"))
    assert text.endswith('Stuck? quiz.solution("03-main-benefit") explains every option.')


def test_progress_records_and_csv_for_instructors(home):
    quiz.answer("00-gradients-in-time", 5)
    quiz.answer("00-same-seed", right_letter("00-same-seed"))
    records = quiz.progress(lesson=0).records()
    assert [r["id"] for r in records] == [q.id for q in questions.bank().values() if q.lesson == 0]
    by_id = {r["id"]: r for r in records}
    assert by_id["00-gradients-in-time"] == {"lesson": 0, "id": "00-gradients-in-time",
                                             "kind": "numeric", "attempts": 1, "solved": False,
                                             "last_correct": False}
    assert by_id["00-same-seed"]["solved"] is True
    assert by_id["00-simulated-time"]["attempts"] == 0
    rows = list(csv.DictReader(io.StringIO(quiz.progress(lesson=0).to_csv())))
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert rows[0].keys() == set(quiz.RECORD_FIELDS)
    assert {r["id"]: r["last_correct"] for r in rows}["00-simulated-time"] == ""
    assert len(quiz.progress().records()) == len(questions.bank())


def test_cli_exports_progress_as_json_and_csv(home):
    quiz.answer("03-main-benefit", "A")
    env = dict(os.environ, ASYNCLAB_HOME=str(home))
    cli = [sys.executable, "-m", "asynclab", "quiz", "--progress"]
    out = subprocess.run(cli + ["--json", "--lesson", "3"], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == quiz.progress(lesson=3).records()
    out = subprocess.run(cli + ["--csv"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0 and out.stdout == quiz.progress().to_csv()
    out = subprocess.run(cli, capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0 and "lesson  answered  solved" in out.stdout
    for bad, needle in ((["quiz", "--list", "--csv"], "--csv goes with --progress"),
                        (["quiz", "--progress", "--json", "--csv"], "not allowed with"),
                        (["quiz"], "one of the arguments --list --progress is required")):
        out = subprocess.run([sys.executable, "-m", "asynclab", *bad], capture_output=True,
                             text=True, timeout=60, env=env)
        assert out.returncode == 2 and needle in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


NUMERIC_CASES = json.loads((Path(__file__).parent / "numeric_answers.json").read_text())["cases"]


@pytest.mark.parametrize("qid, typed, expected", NUMERIC_CASES)
def test_numeric_answers_take_a_percent_sign_and_units(qid, typed, expected):
    q = questions.get(qid)
    if expected is None:
        with pytest.raises(ValueError, match=rf"^{qid}: .*{re.escape(repr(typed))}$"):
            questions.parse_choice(q, typed)
    else:
        assert questions.parse_choice(q, typed) == pytest.approx(expected, rel=1e-12)


def test_a_bank_unit_must_be_one_the_answers_know():
    options = [{"text": "2", "value": 2, "explanation": "a", "correct": True},
               {"text": "3", "value": 3, "explanation": "b"}]
    entry = {"id": "07-n", "kind": "numeric", "question": "How long?", "options": options,
             "tolerance": 0.1, "otherwise": "x", "unit": "hours"}
    with pytest.raises(ValueError, match="unit must be one of s, ms, %, got 'hours'"):
        questions.parse_lesson({"lesson": 7, "questions": [entry]})
