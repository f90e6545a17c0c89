"""A learner's clicks through lesson 03, in JupyterLab 4 and in Jupyter Notebook 7: the
lesson runs once per front end (Run > Run All Cells) and every widget renders; then
the learner answers the quiz, moves a slider of the exploration and presses Play on
the sync/async replay, each checked in the page."""
import json
import re

import pytest

from . import require_playwright

require_playwright()

from playwright.sync_api import expect  # noqa: E402

from asynclab.course import quiz  # noqa: E402

from .learner import (choose, drag_slider, press, press_play, slider_value,  # noqa: E402
                      wait_for_figure, wait_for_slider_beyond)
from .lessons import assert_views_render, expected_views, lesson  # noqa: E402
from .notebook_page import FRONT_ENDS  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

QUESTION = "What is the main benefit of Asynchronous Gradient Updates in distributed systems?"
RIGHT = "communication overhead"  # the option the course teaches as right
WRONG = "memory usage"


def lines(text: str) -> list[str]:
    """Text as its non-empty lines, stripped: rendered HTML and printed text compare equal."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def printed_feedback(capsys, question_id: str, option: int) -> tuple[bool, str]:
    """What `quiz.answer()` prints for this choice: the widget must show the same feedback."""
    capsys.readouterr()
    correct = quiz.answer(question_id, option)
    return correct, capsys.readouterr().out


@pytest.mark.parametrize("front_end", FRONT_ENDS, ids=str)
def test_a_learner_answers_moves_a_slider_and_plays_in_lesson_03(
        lessons_lab, learner, front_end, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ASYNCLAB_HOME", str(tmp_path))  # the oracle's answers go nowhere real
    notebook = learner.open(lessons_lab, lesson(3), front_end)
    views = expected_views(notebook)
    notebook.run_all()                      # once: every path below uses this run
    assert_views_render(notebook, views)
    learner.snap("all-cells-run", notebook.cell(max(views)))
    answer_the_quiz(learner, notebook, lessons_lab, capsys)
    move_a_slider(learner, view_of(notebook, "explore"))
    play_the_replay(learner, view_of(notebook, "replay"))
    learner.assert_no_errors()


def answer_the_quiz(learner, notebook, lab, capsys):
    """Choose a wrong option, Check, read its feedback; then the right one."""
    question = next(q for q in quiz.list_questions(lesson=3) if q["question"] == QUESTION)
    texts = [option["text"] for option in question["options"]]
    wrong = next(i for i, text in enumerate(texts) if WRONG in text.lower())
    right = next(i for i, text in enumerate(texts) if RIGHT in text.lower())
    cell = notebook.find(re.escape(question["id"]))
    view = notebook.widget(cell, f"asynclab-quiz-{question['id']}")
    expect(view.locator(".asynclab-question")).to_contain_text(QUESTION)
    feedback = view.locator(".asynclab-feedback")
    expect(feedback).to_have_text("")
    learner.snap("quiz-shown", view)
    progress = lab.asynclab_home / "progress.json"   # the server's, shared by both front ends
    before = (json.loads(progress.read_text())["answers"].get(question["id"], {})
              if progress.exists() else {}).get("attempts", 0)

    verdicts = []
    for step, option in (("wrong-option", wrong), ("right-option", right)):
        choose(view, texts[option])
        press(view, "Check")
        correct, printed = printed_feedback(capsys, question["id"], option)
        assert correct == (option == right)
        # The widget writes what answer() prints (whitespace aside), for this choice...
        expect(feedback).to_have_text(" ".join(lines(printed)), use_inner_text=True)
        # ...which says, in words, that this option was chosen, and explains it.
        chosen = feedback.locator("li", has_text=texts[option])
        expect(chosen).to_contain_text("you chose it")
        expect(chosen).to_contain_text(question["options"][option]["explanation"])
        verdicts.append(feedback.locator(".asynclab-verdict").inner_text())
        learner.snap(f"{step}-feedback", view)
    assert verdicts[0] != verdicts[1], "a wrong and the right answer got the same verdict"

    # The learner's answers are saved locally (in the server's temporary ASYNCLAB_HOME).
    entry = json.loads(progress.read_text())["answers"][question["id"]]
    assert (entry["attempts"] - before, entry["solved"], entry["last_correct"]) == (2, True, True)


def view_of(notebook, function: str):
    """The asynclab-<function> view of the lesson's first cell calling `function(`, and the
    signature of the figure it drew."""
    cell = notebook.find(rf"\b{function}\(")
    view = notebook.widget(cell, f"asynclab-{function}")
    return view, wait_for_figure(view.locator(".asynclab-figure"))


def move_a_slider(learner, shown):
    """Drag the workers slider of an exploration: the figure is redrawn, the summary changes."""
    view, before = shown
    summary = view.locator(".asynclab-summary").inner_text()
    learner.snap("exploration-shown", view)

    workers = view.locator(".asynclab-control-workers")
    value = slider_value(workers)
    assert drag_slider(workers, 0.75 if value < 8 else 0.1) != value, \
        "dragging the workers handle did not change the number of workers"
    wait_for_figure(view.locator(".asynclab-figure"), different_from=before)
    expect(view.locator(".asynclab-summary")).not_to_have_text(summary)
    learner.snap("workers-slider-moved-figure-redrawn", view)


def play_the_replay(learner, shown):
    """Rewind the replay and press Play: the clock, the figure and the status line advance."""
    view, frame = shown
    figure, clock, status = (view.locator(f".asynclab-{part}") for part in ("figure", "time",
                                                                             "status"))
    if slider_value(clock) > 0:  # rewind first, as a learner would to watch from the start
        drag_slider(clock, 0.0)
        frame = wait_for_figure(figure, different_from=frame)
    learner.snap("replay-before-play", view)

    press_play(view)
    times, said = [slider_value(clock)], [status.inner_text()]
    for _ in range(3):  # it keeps advancing; the figure and the status line follow the clock
        times.append(wait_for_slider_beyond(clock, times[-1]))
        frame = wait_for_figure(figure, different_from=frame)
        expect(status).not_to_have_text(said[-1])
        said.append(status.inner_text())
    learner.snap("replay-playing", view)
