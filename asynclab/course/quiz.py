"""Quizzes for the lessons: ask in a notebook, answer in code, see your progress.

    quiz.ask("03-main-benefit")          # widgets in Jupyter; text when headless
    quiz.answer("03-main-benefit", "A")  # prints the same feedback, returns True/False
    quiz.solution("03-main-benefit")     # the answer and every explanation (not saved)
    quiz.progress()                      # what you have answered so far

The questions are data (see :mod:`asynclab.course.questions`). Options are shown
in an order fixed by the question id, and letters follow that order: ``"A"`` is
the first option shown, in the widget, in the text form and on the website.
A wrong answer is explained (only the option chosen) and may be tried again;
a right one, or the solution, explains every option. Answers are saved to
``$ASYNCLAB_HOME/progress.json`` (default ``~/.asynclab``); saving never
raises: if the file cannot be written, answers are kept for the session and
one warning says so.
"""
from __future__ import annotations

import csv
import html
import io
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from .numeric import EXAMPLE
from .questions import (as_shown, bank, feedback_html, feedback_text, get, grade,
                        parse_choice)
from .widgets import css, headless


def list_questions(lesson=None) -> list:
    """The bank as plain data, options in the order shown, without the answer key
    (the CLI prints this as JSON)."""
    return [{"id": q.id, "lesson": q.lesson, "kind": q.kind, "question": q.question,
             "options": [{"text": o.text, "explanation": o.explanation} for o in q.options]}
            for q in map(as_shown, bank().values()) if lesson is None or q.lesson == lesson]


def shown(qid):
    """Question ``qid`` as learners see it (options in their shown order)."""
    return as_shown(get(qid))


# -- the learner's API --------------------------------------------------------------------
def answer(qid, choice) -> bool:
    """Answer a question in code: prints the feedback, saves it, returns True if right.

    ``choice`` is an option letter (``"B"``) or 0-based index in the order shown, a
    list of them for ``multiple`` questions (``["A", "C"]`` or ``"AC"``), a number
    for ``numeric``. A wrong answer explains only the option chosen: try again.
    """
    q = shown(qid)
    parsed = parse_choice(q, choice)
    correct, head, items = grade(q, parsed)
    print(feedback_text(head, items))
    _store().record(q.id, parsed, correct)
    return correct


def solution(qid):
    """Print the right answer with the explanation of every option (nothing is saved)."""
    print(feedback_text(*grade(shown(qid), None)[1:]))


def question_text(q) -> str:
    if q.kind == "numeric":
        how = f'quiz.answer("{q.id}", x)  # x: your number; "5/2", "52%" and "1.2 s" work too'
    elif q.kind == "multiple":
        how = f'quiz.answer("{q.id}", ["X", "Y"])  # every letter that applies'
    else:
        how = f'quiz.answer("{q.id}", "X")  # X: the letter of your choice'
    kind = {"single": "choose one", "multiple": "choose all that apply",
            "numeric": "a number"}[q.kind]
    lines = [f"[{q.id}] ({kind}) {q.question}"]
    if q.kind != "numeric":
        lines += [f"  {letter}. {o.text}" for letter, o in zip(q.letters(), q.options)]
    return "\n".join(lines + [f"Answer in code: {how}",
                              f'Stuck? quiz.solution("{q.id}") explains every option.'])


def ask(qid):
    """Show a question: widgets in a live notebook, plain text when headless."""
    q = get(qid)
    if headless():
        print(question_text(as_shown(q)))
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
    rows: tuple       # (lesson, asked, answered, solved, unsolved ids)
    answers: dict     # the saved answers, {id: {"attempts", "solved", "last_correct", ...}}

    def __repr__(self):
        lines = ["lesson  answered  solved  still to do"]
        for lesson, asked, answered, solved, todo in self.rows:
            lines.append(f"  {lesson:02d}     {answered:>2}/{asked:<2}   {solved:>2}/{asked:<2}  "
                         f"{', '.join(todo) if todo else '-'}")
        return "\n".join(lines)

    def to_dict(self):
        return {f"{r[0]:02d}": {"questions": r[1], "answered": r[2], "solved": r[3],
                                "todo": list(r[4])} for r in self.rows}

    def records(self) -> list:
        """One dict per question of these lessons, answered or not (for instructors:
        ``asynclab quiz --progress --json``)."""
        lessons = {r[0] for r in self.rows}
        out = []
        for q in bank().values():
            if q.lesson in lessons:
                saved = self.answers.get(q.id, {})
                out.append({"lesson": q.lesson, "id": q.id, "kind": q.kind,
                            "attempts": saved.get("attempts", 0),
                            "solved": bool(saved.get("solved", False)),
                            "last_correct": saved.get("last_correct")})
        return out

    def to_csv(self) -> str:
        """``records()`` as CSV with a header row; an empty cell: never answered."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=RECORD_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.records())
        return buffer.getvalue()


RECORD_FIELDS = ("lesson", "id", "kind", "attempts", "solved", "last_correct")


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
    return Progress(tuple(rows), dict(answers))


# -- the widget ---------------------------------------------------------------------------
class QuizWidget:
    """Choices, Check / Try again / Show solution buttons and written feedback (words and
    marks, not colour; math typeset). ``q`` is a bank question: it is shown as
    ``as_shown(q)``, which ``self.q`` holds."""

    def __init__(self, q):
        import ipywidgets as w
        self.q = q = as_shown(q)
        title = w.HTMLMath(f"<b>{html.escape(q.id)}</b> ({q.kind}) {html.escape(q.question)}")
        labels = [f"{letter}. {o.text}" for letter, o in zip(q.letters(), q.options)]
        if q.kind == "single":
            self.choices = w.RadioButtons(options=labels, value=None,
                                          layout=w.Layout(width="auto"))
        elif q.kind == "multiple":
            self.choices = w.VBox([w.Checkbox(description=label, indent=False, value=False,
                                              layout=w.Layout(width="auto"))
                                   for label in labels])
        else:
            self.choices = w.Text(placeholder=f"a number, {EXAMPLE}",
                                  description="Your answer:", style={"description_width": "auto"})
        self.check = w.Button(description="Check", tooltip="Check your answer")
        self.retry = w.Button(description="Try again", tooltip="Clear your answer and try again",
                              layout=w.Layout(display="none"))
        self.reveal = w.Button(description="Show solution",
                               tooltip="Show the answer and why each option is right or wrong")
        self.feedback = w.HTMLMath("")
        css(title, "asynclab-question")
        css(self.choices, "asynclab-choices")
        css(self.check, "asynclab-check")
        css(self.retry, "asynclab-retry")
        css(self.reveal, "asynclab-reveal")
        css(self.feedback, "asynclab-feedback")
        buttons = w.HBox([self.check, self.retry, self.reveal])
        self.box = css(w.VBox([title, self.choices, buttons, self.feedback]),
                       "asynclab-quiz", f"asynclab-quiz-{q.id}")
        self.check.on_click(lambda _button: self.on_check())
        self.retry.on_click(lambda _button: self.on_retry())
        self.reveal.on_click(lambda _button: self.on_reveal())

    def current(self):
        """The answer selected in the widgets, in the form ``answer()`` accepts."""
        if self.q.kind == "single":
            return None if self.choices.index is None else self.choices.index
        if self.q.kind == "multiple":
            return [i for i, box in enumerate(self.choices.children) if box.value]
        return self.choices.value

    def on_check(self):
        """Grade the selection: True or False (and saved), None if there is none to grade."""
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
        self._offer_retry(not correct)
        return correct

    def on_retry(self):
        """Clear the selection and the feedback for another try."""
        if self.q.kind == "single":
            self.choices.value = None
        elif self.q.kind == "multiple":
            for box in self.choices.children:
                box.value = False
        else:
            self.choices.value = ""
        self.feedback.value = ""
        self._offer_retry(False)

    def on_reveal(self):
        """Show the answer and every explanation (not saved as an answer)."""
        self.feedback.value = feedback_html(*grade(self.q, None)[1:])
        self._offer_retry(True)

    def _offer_retry(self, offer):
        self.retry.layout.display = None if offer else "none"
