"""The question bank tests understanding, not pattern-matching (course issue, part 5).

* In single-choice questions the right option must not give itself away by being the
  longest: at most 40% of them may have it longest.
* Every lesson asks at least one *transfer* question (``"transfer": true``): a new
  situation whose answer the lesson never prints, so the learner must reason rather
  than look a number up.
"""
import json
import re
from pathlib import Path

import pytest
from test_lesson_numbers import NOTEBOOKS, claims, numbers_in

from asynclab.course import questions

LONGEST_AT_MOST = 0.40


def single_choice():
    return [q for q in questions.bank().values() if q.kind == "single"]


def right_is_longest(q):
    lengths = [len(o.text) for o in q.options]
    return lengths[q.right()[0]] == max(lengths)


def test_the_right_option_is_rarely_the_longest():
    found = single_choice()
    longest = [q.id for q in found if right_is_longest(q)]
    assert len(found) >= 30                                  # the rule means something
    assert len(longest) <= LONGEST_AT_MOST * len(found), (
        f"{len(longest)} of {len(found)} single-choice questions have the right option "
        f"longest (at most {LONGEST_AT_MOST:.0%} may): {', '.join(longest)}")


def test_the_longest_rule_sees_what_matters():
    q = questions.Question("00-x", 0, "single", "?", (
        questions.Option("a much longer right answer", "why", True),
        questions.Option("short", "why")))
    assert right_is_longest(q)
    q = questions.Question("00-x", 0, "single", "?", (
        questions.Option("right", "why", True),
        questions.Option("a much longer wrong answer", "why")))
    assert not right_is_longest(q)


def printed_numbers(notebook):
    """Numbers of a notebook's stored outputs (not its code: a setting may be reused; nor
    its quizzes' own text, which a headless run prints)."""
    text = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if "quiz.ask(" in "".join(cell["source"]):
            continue
        for out in cell.get("outputs", []):
            text.append("".join(out.get("text", "")))
            for mime in ("text/plain", "text/html"):
                text.append("".join(out.get("data", {}).get(mime, "")))
    return numbers_in("\n".join(text))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lesson_asks_a_transfer_question_whose_answer_it_never_prints(notebook):
    lesson = int(notebook.name[:2])
    transfer = [q for q in questions.bank().values() if q.lesson == lesson and q.transfer]
    assert transfer, f"lesson {lesson:02d} has no transfer question ('transfer': true)"
    printed = printed_numbers(notebook)
    for q in transfer:
        # Its answer: the right value of a numeric question, or the numbers that state
        # the right options of a choice. The setting's own numbers (a rate, a count of
        # workers) may well be printed elsewhere; the answer must not be there to copy.
        # (A number the question itself gives, such as its count of workers, is no answer.)
        right = [o for o in q.options if o.correct]
        answer = [f"{o.value:g}" for o in right if o.value is not None]
        if not answer:
            answer = [f"{float(digits):g}" for o in right for _, digits, _ in claims(o.text)]
        given = {f"{float(n):g}" for n in re.findall(r"\d+(?:\.\d+)?", q.question.replace(",", ""))}
        found = [v for v in answer if v in printed and v not in given]
        assert not found, (f"{q.id} is marked transfer, but the lesson prints its answer "
                           f"{', '.join(sorted(set(found)))}")


def test_the_transfer_flag_is_a_boolean(tmp_path):
    bank = {"lesson": 0, "title": "t", "questions": [
        {"id": "00-x", "kind": "single", "question": "?", "transfer": "yes",
         "options": [{"text": "a", "explanation": "b", "correct": True},
                     {"text": "c", "explanation": "d"}]}]}
    path = Path(tmp_path) / "00.json"
    path.write_text(json.dumps(bank), encoding="utf-8")
    with pytest.raises(ValueError, match="'transfer' must be true or false, got 'yes'"):
        questions.load_bank([path])
