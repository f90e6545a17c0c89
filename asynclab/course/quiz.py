"""Quizzes for the lessons: ask in a notebook, answer in code, see your progress.

    quiz.ask("03-main-benefit")          # widgets in Jupyter; text when headless
    quiz.answer("03-main-benefit", "A")  # prints the same feedback, returns True/False
    quiz.solution("03-main-benefit")     # the answer and every explanation (not saved)
    quiz.progress()                      # what you have answered so far

The questions are data (see :mod:`asynclab.course.questions`). Answers are saved to
``$ASYNCLAB_HOME/progress.json`` (default ``~/.asynclab``); saving never
raises: if the file cannot be written, answers are kept for the session and
one warning says so.
"""
from __future__ import annotations

import html
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from .questions import bank, feedback_html, feedback_text, get, grade, parse_choice
from .widgets import css, headless


def list_questions(lesson=None) -> list:
    """The bank as plain data, without the answer key (the CLI prints this as JSON)."""
    return [{"id": q.id, "lesson": q.lesson, "kind": q.kind, "question": q.question,
             "options": [{"text": o.text, "explanation": o.explanation} for o in q.options]}
            for q in bank().values() if lesson is None or q.lesson == lesson]


# -- the learner's API --------------------------------------------------------------------
def answer(qid, choice) -> bool:
    """Answer a question in code: prints the feedback, saves it, returns True if right.

    ``choice`` is an option letter (``"B"``) or 0-based index, a list of them for
    ``multiple`` questions (``["A", "C"]`` or ``"AC"``), a number for ``numeric``.
    """
    q = get(qid)
    parsed = parse_choice(q, choice)
    correct, head, items = grade(q, parsed)
    print(feedback_text(head, items))
    _store().record(q.id, parsed, correct)
    return correct


def solution(qid):
    """Print the right answer with the explanation of every option (nothing is saved)."""
    print(feedback_text(*grade(get(qid), None)[1:]))


def question_text(q) -> str:
    if q.kind == "numeric":
        how = f'quiz.answer("{q.id}", x)  # x: your number; fractions like "5/2" work too'
    elif q.kind == "multiple":
        how = f'quiz.answer("{q.id}", ["X", "Y"])  # every letter that applies'
    else:
        how = f'quiz.answer("{q.id}", "X")  # X: the letter of your choice'
    kind = {"single": "choose one", "multiple": "choose all that apply",
            "numeric": "a number"}[q.kind]
    lines = [f"[{q.id}] ({kind}) {q.question}"]
    if q.kind != "numeric":
        lines += [f"  {letter}. {o.text}" for letter, o in zip(q.letters(), q.options)]
    return "\n".join(lines + [f"Answer in code: {how}"])


def ask(qid):
    """Show a question: widgets in a live notebook, plain text when headless."""
    q = get(qid)
    if headless():
        print(question_text(q))
        return None
    from IPython.display import display
    display(QuizWidget(q).box)
    return None


# -- progress -----------------------------------------------------------------------------
def home() -> Path:
    return Path(os.environ.get("ASYNCLAB_HOME") or Path.home() / ".asynclab")


class _Store:
    """Answers saved as JSON; kept in memory when the file cannot be written."""

    def __init__(self):
        self.path = home() / "progress.json"
        self.answers = {}
        self.warned = False
        try:
            self.answers = json.loads(self.path.read_text(encoding="utf-8"))["answers"]
        except (FileNotFoundError, NotADirectoryError):
            pass                     # nothing saved yet
        except (OSError, ValueError, KeyError, TypeError) as err:
            self._warn(f"could not read quiz progress from {self.path} ({err}); starting afresh")

    def record(self, qid, parsed, correct):
        entry = self.answers.setdefault(qid, {"attempts": 0, "solved": False})
        entry["attempts"] += 1
        entry["solved"] = entry["solved"] or correct
        entry["last_correct"] = correct
        entry["last_answer"] = parsed
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"answers": self.answers}, f, indent=1)
            os.replace(tmp, self.path)     # atomic: a crash never leaves half a file
        except OSError as err:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
            self._warn(f"could not save quiz progress to {self.path} ({err}); "
                       "answers are kept for this session only")

    def _warn(self, message):
        if not self.warned:
            self.warned = True
            warnings.warn(message, RuntimeWarning, stacklevel=3)


_stores = {}


def _store():
    key = str(home())                # ASYNCLAB_HOME may change (tests do that)
    if key not in _stores:
        _stores[key] = _Store()
    return _stores[key]


@dataclass(frozen=True)
class Progress:
    rows: tuple    # (lesson, asked, answered, solved, unsolved ids)

    def __repr__(self):
        lines = ["lesson  answered  solved  still to do"]
        for lesson, asked, answered, solved, todo in self.rows:
            lines.append(f"  {lesson:02d}     {answered:>2}/{asked:<2}   {solved:>2}/{asked:<2}  "
                         f"{', '.join(todo) if todo else '-'}")
        return "\n".join(lines)

    def to_dict(self):
        return {f"{r[0]:02d}": {"questions": r[1], "answered": r[2], "solved": r[3],
                                "todo": list(r[4])} for r in self.rows}


def progress(lesson=None) -> Progress:
    """How many questions of each lesson you answered and got right."""
    answers = _store().answers
    rows = []
    for number in sorted({q.lesson for q in bank().values()}):
        if lesson is not None and number != lesson:
            continue
        ids = [q.id for q in bank().values() if q.lesson == number]
        solved = [i for i in ids if answers.get(i, {}).get("solved")]
        rows.append((number, len(ids), sum(i in answers for i in ids), len(solved),
                     tuple(i for i in ids if i not in solved)))
    return Progress(tuple(rows))


# -- the widget ---------------------------------------------------------------------------
class QuizWidget:
    """Choices, a Check button and written feedback (words and marks, not colour)."""

    def __init__(self, q):
        import ipywidgets as w
        self.q = q
        title = w.HTML(f"<b>{html.escape(q.id)}</b> ({q.kind}) {html.escape(q.question)}")
        labels = [f"{letter}. {o.text}" for letter, o in zip(q.letters(), q.options)]
        if q.kind == "single":
            self.choices = w.RadioButtons(options=labels, value=None,
                                          layout=w.Layout(width="auto"))
        elif q.kind == "multiple":
            self.choices = w.VBox([w.Checkbox(description=label, indent=False, value=False,
                                              layout=w.Layout(width="auto"))
                                   for label in labels])
        else:
            self.choices = w.Text(placeholder="a number, e.g. 2.5 or 5/2",
                                  description="Your answer:", style={"description_width": "auto"})
        self.check = w.Button(description="Check", tooltip="Check your answer")
        self.feedback = w.HTML("")
        css(title, "asynclab-question")
        css(self.choices, "asynclab-choices")
        css(self.check, "asynclab-check")
        css(self.feedback, "asynclab-feedback")
        self.box = css(w.VBox([title, self.choices, self.check, self.feedback]),
                       "asynclab-quiz", f"asynclab-quiz-{q.id}")
        self.check.on_click(lambda _button: self.on_check())

    def current(self):
        """The answer selected in the widgets, in the form ``answer()`` accepts."""
        if self.q.kind == "single":
            return None if self.choices.index is None else self.choices.index
        if self.q.kind == "multiple":
            return [i for i, box in enumerate(self.choices.children) if box.value]
        return self.choices.value

    def on_check(self):
        choice = self.current()
        if choice is None or choice == [] or choice == "":
            self.feedback.value = "<p>Choose an answer first, then press Check.</p>"
            return None
        try:
            parsed = parse_choice(self.q, choice)
        except ValueError as err:
            self.feedback.value = f"<p>{html.escape(str(err))}</p>"
            return None
        correct, head, items = grade(self.q, parsed)
        _store().record(self.q.id, parsed, correct)
        self.feedback.value = feedback_html(head, items)
        return correct
