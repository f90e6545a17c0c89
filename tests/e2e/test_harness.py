"""The browser harness proves itself on a scratch notebook, independently of the lessons:
widgets render and respond in JupyterLab, and failures (a raising cell, a console
error) are caught rather than passed over."""
import pytest

from . import require_playwright

require_playwright()

from playwright.sync_api import expect  # noqa: E402

from .lab_server import free_port  # noqa: E402
from .learner import (choose, drag_slider, press, press_play,  # noqa: E402
                      slider_value, wait_for_figure, wait_for_slider_beyond)
from .scratch_notebook import FEEDBACK, QUESTION  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_quiz_slider_and_play_respond_in_jupyterlab(scratch_lab, learner):
    notebook = learner.open(scratch_lab, "scratch.ipynb")

    cell = notebook.find(r"asynclab-quiz")
    notebook.run_through(cell)
    quiz = notebook.widget(cell, "asynclab-quiz")
    expect(quiz).to_contain_text(QUESTION)
    feedback = quiz.locator(".asynclab-feedback")
    for option, explanation in FEEDBACK.items():
        choose(quiz, option)
        press(quiz, "Check")
        expect(feedback).to_have_text(explanation)
        learner.snap(f"quiz-option-{option}", quiz)

    cell = notebook.find(r"asynclab-explore")
    notebook.run_through(cell)
    explore = notebook.widget(cell, "asynclab-explore")
    before = wait_for_figure(explore)
    slider = explore.locator(".widget-slider")
    assert drag_slider(slider, 0.9) > 2
    wait_for_figure(explore, different_from=before)
    learner.snap("slider-moved", explore)

    cell = notebook.find(r"asynclab-replay")
    notebook.run_through(cell)
    replay = notebook.widget(cell, "asynclab-replay")
    frame = wait_for_figure(replay)
    clock = replay.locator(".widget-slider")
    assert slider_value(clock) == 0
    press_play(replay)
    seen = [0.0]
    for _ in range(3):  # it keeps advancing, and the figure follows
        seen.append(wait_for_slider_beyond(clock, seen[-1]))
        frame = wait_for_figure(replay, different_from=frame)
    learner.snap("replay-playing", replay)
    assert seen == sorted(seen) and seen[-1] > 0
    learner.assert_no_errors()


def test_a_raising_cell_fails_with_its_traceback(scratch_lab, learner):
    notebook = learner.open(scratch_lab, "scratch.ipynb")
    with pytest.raises(AssertionError, match="RuntimeError: a failing cell"):
        notebook.run_through(notebook.find(r"raise RuntimeError"))


def test_console_errors_fail_and_known_noise_does_not(scratch_lab, learner):
    learner.open(scratch_lab, "scratch.ipynb")
    page = learner.page
    elsewhere = f"http://127.0.0.1:{free_port()}/font.woff2"  # nobody listens there
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate(f"new Image().src = {elsewhere!r}")
    learner.assert_no_errors()  # a failed request to another host is known noise

    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('widget view exploded'); })")
    with pytest.raises(AssertionError, match="widget view exploded"):
        learner.assert_no_errors()
