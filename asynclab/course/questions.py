"""The question bank: questions kept as data, checked when loaded, and graded.

The bank lives in ``asynclab/course/quizbank/NN.json``, one file per lesson::

    {"lesson": 3, "title": "...", "questions": [
      {"id": "03-main-benefit", "kind": "single", "question": "...",
       "options": [{"text": "...", "explanation": "...", "correct": true}, ...]}]}

``kind`` is ``single`` (one right option), ``multiple`` (every right option
must be chosen, and no other) or ``numeric``. Every option explains, in the
learner's terms, why it is right or wrong. A numeric question's options are
the right value and anticipated mistakes, each with a ``value``; an answer
matches an option within ``tolerance``, and ``otherwise`` explains any other
number; ``unit`` (``s``, ``ms`` or ``%``, optional) is the unit of its answer, to
which an answer typed with another converts (see :mod:`.numeric`). ``transfer``
(optional, false) marks a question that sets a new situation, whose numbers the
lesson does not print: it tests whether the idea transfers, not whether the
learner can find a printed number. Loading checks all of this and names the file
and question at fault.
"""
from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .numeric import EXAMPLE, UNITS, read_number

KINDS = ("single", "multiple", "numeric")
LETTERS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class Option:
    text: str
    explanation: str
    correct: bool = False
    value: float | None = None      # numeric questions: the value this option stands for


@dataclass(frozen=True)
class Question:
    id: str
    lesson: int
    kind: str
    question: str
    options: tuple
    tolerance: float = 0.0          # numeric: how far from an option's value still matches
    otherwise: str = ""             # numeric: feedback for a number no option anticipated
    unit: str | None = None         # numeric: the unit of the answer ("s", "ms", "%"), if any
    transfer: bool = False          # a new setting to reason about: its numbers are not printed
                                    # by the lesson (tests/test_quiz_bank.py checks it)

    def letters(self):
        return LETTERS[:len(self.options)]

    def right(self):
        return [i for i, o in enumerate(self.options) if o.correct]


def option_order(q) -> list:
    """The order in which ``q``'s options are shown: shuffled, so that the right
    answer is not always in the same place, but the same order every time for
    the same question id (stored notebook outputs and the website stay stable).
    Numeric questions keep their order (their options are not shown)."""
    order = list(range(len(q.options)))
    if q.kind != "numeric":
        seed = int.from_bytes(hashlib.sha256(q.id.encode("utf-8")).digest()[:8], "big")
        random.Random(seed).shuffle(order)
    return order


def as_shown(q) -> Question:
    """``q`` as learners see it: its options in ``option_order``, lettered A, B, ... in
    that order (so ``"A"`` is the first option shown). Quizzes show, grade and save
    answers in this form; the bank keeps the order of its file."""
    return dataclasses.replace(q, options=tuple(q.options[i] for i in option_order(q)))


# -- the bank -----------------------------------------------------------------------------
def parse_lesson(data, source="bank") -> list:
    """Questions of one lesson file, checked: raises ValueError naming what is wrong."""
    lesson = data.get("lesson")
    if not isinstance(lesson, int):
        raise ValueError(f"{source}: 'lesson' must be a whole number, got {lesson!r}")
    questions = []
    for raw in data.get("questions", []):
        qid = raw.get("id", "?")
        where = f"{source}: question {qid!r}"
        if not (isinstance(qid, str) and qid.startswith(f"{lesson:02d}-")):
            raise ValueError(f"{where}: ids must start with the lesson number, '{lesson:02d}-'")
        if raw.get("kind") not in KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, "
                             f"got {raw.get('kind')!r}")
        options = tuple(Option(o.get("text", ""), o.get("explanation", ""),
                               bool(o.get("correct", False)), o.get("value"))
                        for o in raw.get("options", []))
        q = Question(qid, lesson, raw["kind"], raw.get("question", ""), options,
                     float(raw.get("tolerance", 0.0)), raw.get("otherwise", ""),
                     raw.get("unit"), raw.get("transfer", False))
        _check(q, where)
        questions.append(q)
    return questions


def _check(q, where):
    if not q.question.strip():
        raise ValueError(f"{where}: the question text is empty")
    if not isinstance(q.transfer, bool):
        raise ValueError(f"{where}: 'transfer' must be true or false, got {q.transfer!r}")
    if not 2 <= len(q.options) <= len(LETTERS):
        raise ValueError(f"{where}: needs 2 to {len(LETTERS)} options, has {len(q.options)}")
    for letter, o in zip(q.letters(), q.options):
        if not o.text.strip() or not o.explanation.strip():
            raise ValueError(f"{where}: option {letter} needs both a text and an explanation")
        if (q.kind == "numeric") != isinstance(o.value, (int, float)):
            raise ValueError(f"{where}: option {letter}: numeric questions (and only they) "
                             "give each option a number 'value'")
    right = len(q.right())
    if right == 0 or (q.kind != "multiple" and right != 1):
        wanted = "at least one" if q.kind == "multiple" else "exactly one"
        raise ValueError(f"{where}: a {q.kind} question needs {wanted} correct option, has {right}")
    if q.kind == "numeric":
        if q.tolerance <= 0 or not q.otherwise.strip():
            raise ValueError(f"{where}: numeric questions need a tolerance > 0 and an 'otherwise'")
        values = sorted(o.value for o in q.options)
        if q.unit not in (None, *UNITS):
            raise ValueError(f"{where}: unit must be one of {', '.join(UNITS)}, got {q.unit!r}")
        if any(b - a <= 2 * q.tolerance for a, b in zip(values, values[1:])):
            raise ValueError(f"{where}: option values must be more than 2 x tolerance apart, "
                             "or one answer would match two options")


@lru_cache(maxsize=1)
def bank() -> dict:
    """Every question in the package, ``{id: Question}`` in lesson order."""
    return load_bank((resources.files("asynclab.course") / "quizbank").iterdir())


def load_bank(files) -> dict:
    """Questions from lesson files named ``NN.json`` (Paths or package resources)."""
    questions = {}
    for f in sorted((f for f in files if f.name.endswith(".json")), key=lambda f: f.name):
        data = json.loads(f.read_text(encoding="utf-8"))
        if f"{data.get('lesson', -1):02d}.json" != f.name:
            raise ValueError(f"quizbank/{f.name}: 'lesson' is {data.get('lesson')!r}, "
                             "which does not match the file name")
        for q in parse_lesson(data, f"quizbank/{f.name}"):
            if q.id in questions:
                raise ValueError(f"quizbank/{f.name}: duplicate question id {q.id!r}")
            questions[q.id] = q
    return questions


def get(qid) -> Question:
    try:
        return bank()[qid]
    except (KeyError, TypeError):
        raise ValueError(f"unknown question {qid!r}; ids look like '03-main-benefit' "
                         "(see quiz.list_questions())") from None


# -- grading ------------------------------------------------------------------------------
def parse_choice(q, choice):
    """A learner's answer in canonical form: a list of option indices, or a number."""
    if q.kind == "numeric":
        if isinstance(choice, str):
            try:
                return read_number(choice, q.unit)
            except ValueError as err:
                raise ValueError(f"{q.id}: {err}") from None
        if isinstance(choice, (int, float)) and not isinstance(choice, bool) \
                and math.isfinite(choice):
            return float(choice)
        raise ValueError(f"{q.id}: the answer must be a number ({EXAMPLE}), got {choice!r}")
    many = q.kind == "multiple"
    if isinstance(choice, str):
        # "A, C", "a) c)", "A." and "AC" all read as letters (a single answer keeps its text
        # for _index, which strips the same marks and names it if it is no option).
        items = [c.rstrip(".)") for c in choice.replace(",", " ").split()] if many else [choice]
        if many and len(items) == 1 and len(items[0]) > 1:
            items = list(items[0])          # "AC" means A and C
    elif many and isinstance(choice, (list, tuple, set, frozenset)):
        items = list(choice)
    else:
        items = [choice]
    picked = sorted({_index(q, item) for item in items})
    if not picked:
        raise ValueError(f"{q.id}: choose at least one of {', '.join(q.letters())}")
    if not many and len(picked) != 1:
        raise ValueError(f"{q.id}: choose one option, got {choice!r}")
    return picked


def _index(q, item):
    if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(q.options):
        return item
    letter = item.strip().rstrip(".)").upper() if isinstance(item, str) else None
    if letter and len(letter) == 1 and letter in q.letters():
        return q.letters().index(letter)
    many = " (or a list of them)" if q.kind == "multiple" else ""
    raise ValueError(f"{q.id}: {item!r} is not an option; allowed: letters "
                     f"{', '.join(q.letters())} or indices 0-{len(q.options) - 1}{many}")


def grade(q, answer) -> tuple:
    """``(correct, headline, items)`` for a parsed answer; ``answer=None`` gives the
    solution. Each item is ``(label, explanation)`` with a mark and words saying
    whether the option is right and whether the learner chose it.

    A right answer (and the solution) explains every option. A wrong one explains
    only what the learner chose and invites another try: the right answer is not
    given away."""
    if q.kind == "numeric":
        return _grade_numeric(q, answer)
    letters = q.letters()
    right = set(q.right())
    if answer is None:
        return True, f"Answer: {', '.join(letters[i] for i in sorted(right))}.", [
            _option_item(q, i, "right" if i in right else "wrong") for i in range(len(q.options))]
    correct = set(answer) == right
    chosen = ", ".join(letters[i] for i in answer)
    if correct:
        head = f"✓ Correct: {chosen}."
        shown = range(len(q.options))
    else:
        missing = " Some right options are not among them." if set(answer) < right else ""
        head = f"✗ Not quite: you chose {chosen}.{missing} {TRY_AGAIN}"
        shown = answer
    items = []
    for i in shown:
        tag = "right" if i in right else "wrong"
        if q.kind == "multiple" or i in answer:
            tag += "; you chose it" if i in answer else "; you left it out"
        items.append(_option_item(q, i, tag))
    return correct, head, items


TRY_AGAIN = "Read why below, then try again."


def _option_item(q, i, tag):
    o = q.options[i]
    return f"{'✓' if o.correct else '✗'} {q.letters()[i]}. {o.text} ({tag})", o.explanation


def _grade_numeric(q, value):
    right = q.options[q.right()[0]]
    within = f"within ±{q.tolerance:g}"
    every = [(f"{'✓' if o.correct else '✗'} {o.text}", o.explanation) for o in q.options]
    if value is None:
        return True, f"Answer: {right.text} ({within}).", every
    match = next((o for o in q.options if abs(value - o.value) <= q.tolerance), None)
    if match is not None and match.correct:
        return True, f"✓ Correct: {value:.4g} is {within} of {right.text}.", every
    return False, f"✗ Not quite: you answered {value:.4g}. {TRY_AGAIN}", [
        (f"✗ {value:.4g}", match.explanation if match else q.otherwise)]


def feedback_text(head, items) -> str:
    return "\n".join([head] + [f"{label}\n    {why}" for label, why in items])


def feedback_html(head, items) -> str:
    rows = "".join(f"<li><b>{html.escape(label)}</b><br>{html.escape(why)}</li>"
                   for label, why in items)
    return (f"<p class='asynclab-verdict'><b>{html.escape(head)}</b></p>"
            f"<ul style='list-style: none; padding-left: 0'>{rows}</ul>")
