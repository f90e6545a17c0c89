"""A learner answers a quiz the kind way, in JupyterLab: a wrong answer explains only
the option chosen; Show solution explains every option; Try again clears the answer;
the right answer explains every option. What the widget shows is what
`quiz.answer()` and `quiz.solution()` print for the same choices."""
import json
import re

import pytest

from . import require_playwright

require_playwright()

from playwright.sync_api import expect  # noqa: E402

from asynclab.course import quiz  # noqa: E402

from .learner import choose, press  # noqa: E402
from .lessons import lesson  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

QUESTION_ID = "03-main-benefit"


def printed(capsys, action, *args) -> list[str]:
    """What a quiz function prints, as non-empty stripped lines."""
    capsys.readouterr()
    action(*args)
    return [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_wrong_then_solution_then_retry_then_right(lessons_lab, learner, capsys, monkeypatch,
                                                  tmp_path):
    monkeypatch.setenv("ASYNCLAB_HOME", str(tmp_path))     # the oracle's answers go nowhere real
    question = quiz.shown(QUESTION_ID)                      # options in the order shown
    right = question.right()[0]
    wrong = next(i for i in range(len(question.options)) if i != right)
    texts = [o.text for o in question.options]
    explanations = [o.explanation for o in question.options]

    # The server's progress file is shared by the session's tests: count from here.
    progress = lessons_lab.asynclab_home / "progress.json"
    before = (json.loads(progress.read_text())["answers"].get(QUESTION_ID, {})
              .get("attempts", 0) if progress.exists() else 0)

    notebook = learner.open(lessons_lab, lesson(3))
    cell = notebook.find(re.escape(QUESTION_ID))
    notebook.run_through(cell)
    view = notebook.widget(cell, f"asynclab-quiz-{QUESTION_ID}")
    feedback = view.locator(".asynclab-feedback")
    retry, reveal = view.locator(".asynclab-retry"), view.locator(".asynclab-reveal")
    # The options appear in the shown order, lettered A, B, ... in that order.
    labels = view.locator(".asynclab-choices label").all_inner_texts()
    assert [label.strip() for label in labels if label.strip()] == [
        f"{letter}. {text}" for letter, text in zip(question.letters(), texts)]
    expect(retry).to_be_hidden()
    expect(reveal).to_be_visible()
    learner.snap("quiz-shown", view)

    # 1. Wrong: only the chosen option is explained; the right answer is not given away.
    choose(view, texts[wrong])
    press(view, "Check")
    expect(feedback.locator(".asynclab-verdict")).to_contain_text("Not quite")
    expect(feedback.locator("li")).to_have_count(1)
    expect(feedback).to_contain_text(explanations[wrong])
    for i, why in enumerate(explanations):
        if i != wrong:
            expect(feedback).not_to_contain_text(why)
    assert " ".join(printed(capsys, quiz.answer, QUESTION_ID, wrong)) == \
        " ".join(feedback.inner_text().split())
    expect(retry).to_be_visible()
    learner.snap("wrong-answer-explained", view)

    # 2. Show solution: every option explained, as quiz.solution() prints it.
    press(view, "Show solution")
    expect(feedback.locator("li")).to_have_count(len(texts))
    for why in explanations:
        expect(feedback).to_contain_text(why)
    assert " ".join(printed(capsys, quiz.solution, QUESTION_ID)) == \
        " ".join(feedback.inner_text().split())
    learner.snap("solution-shown", view)

    # 3. Try again: the answer and the feedback are cleared.
    press(view, "Try again")
    expect(feedback).to_have_text("")
    expect(view.get_by_role("radio", checked=True)).to_have_count(0)
    expect(retry).to_be_hidden()

    # 4. Right: correct, and every option explained.
    choose(view, texts[right])
    press(view, "Check")
    expect(feedback.locator(".asynclab-verdict")).to_contain_text("Correct")
    expect(feedback.locator("li")).to_have_count(len(texts))
    assert " ".join(printed(capsys, quiz.answer, QUESTION_ID, right)) == \
        " ".join(feedback.inner_text().split())
    learner.snap("right-answer-explained", view)

    # Two answers were checked (the solution is not an answer), the second one right.
    entry = json.loads(progress.read_text())["answers"][QUESTION_ID]
    assert (entry["attempts"] - before, entry["solved"], entry["last_correct"]) == (2, True, True)
    learner.assert_no_errors()
