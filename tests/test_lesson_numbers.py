"""A number in a lesson is a claim: it comes from a run in the notebook, or it is cited.

Every number a lesson's text or its quiz feedback states (one with a decimal point,
a percent sign, an "x" of a ratio, or three digits or more; years and small counts
are left out) must appear among the numbers of that lesson's code (a setting) or its
stored outputs (a measurement), or be listed in the lesson's `lessons/cited/NN.json`
(``{"as written": "where it comes from"}``): a paper's figure or table, or the
arithmetic that derives it.
A change that makes the text disagree with what the notebook prints fails here.
"""
import json
import re
from pathlib import Path

import pytest

from asynclab.course import questions

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))


def cited(lesson):
    """{number as written: where it comes from} of lesson ``lesson`` ("03")."""
    path = LESSONS / "cited" / f"{lesson}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

# A number, with what follows it: %, x or × (a ratio), or nothing.
NUMBER = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)(\s?%|x\b|×)?")
YEARS = range(1950, 2036)


def claims(text):
    """The numbers of ``text`` that state something: (as written, digits)."""
    text = re.sub(r"`[^`]*`", " ", text)                 # code in backticks is a setting
    text = re.sub(r"https?://\S+|arXiv:\S+|doi:\S+", " ", text)
    found = []
    for match in NUMBER.finditer(text):
        digits, suffix = match.group(1).replace(",", ""), (match.group(2) or "").strip()
        if not suffix and "." not in digits and (len(digits) < 3 or int(digits) in YEARS):
            continue
        found.append((match.group(0).strip(), digits, suffix))
    return found


def numbers_in(text):
    """Every number token of code or output, in the forms a claim may take."""
    out = set()
    for token in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?", text):
        plain = token.replace(",", "")
        out.add(plain)
        try:
            value = float(plain)
        except ValueError:
            continue
        out.add(f"{value:g}")
        if value < 1:                                    # 0.52 may be written as 52%
            out.add(f"{100 * value:.0f}")
            out.add(f"{100 * value:.1f}".rstrip("0").rstrip("."))
    return out


def sources(notebook):
    """Numbers of a notebook's code cells and stored outputs."""
    text = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        text.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            text.append("".join(out.get("text", "")))
            for mime in ("text/plain", "text/html"):
                text.append("".join(out.get("data", {}).get(mime, "")))
    return numbers_in("\n".join(text))


def prose(notebook):
    """(where, text) of every markdown cell, and of the lesson's quiz questions and feedback."""
    lesson = int(notebook.name[:2])
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    out = [(f"markdown cell {i}", "".join(c["source"])) for i, c in enumerate(cells)
           if c["cell_type"] == "markdown"]
    for q in questions.bank().values():
        if q.lesson == lesson:
            out.append((f"question {q.id}", q.question))
            out += [(f"question {q.id}, option {o.text[:30]!r}", f"{o.text} {o.explanation}")
                    for o in q.options]
            if q.otherwise:
                out.append((f"question {q.id}, otherwise", q.otherwise))
    return out


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_number_in_the_text_comes_from_the_notebook_or_is_cited(notebook):
    known = sources(notebook)
    listed = cited(notebook.name[:2])
    missing = []
    for where, text in prose(notebook):
        for written, digits, suffix in claims(text):
            if digits in known or f"{float(digits):g}" in known or written in listed:
                continue
            missing.append(f"{where}: {written!r}")
    assert not missing, ("numbers neither printed by the notebook nor listed in "
                         f"lessons/cited/{notebook.name[:2]}.json:\n" + "\n".join(missing))


def test_every_cited_number_says_where_it_comes_from_and_is_still_used():
    for path in sorted((LESSONS / "cited").glob("*.json")):
        notebook = next(LESSONS.glob(f"{path.stem}_*.ipynb"))
        text = " ".join(t for _, t in prose(notebook))
        for written, why in cited(path.stem).items():
            lesson = path.stem
            assert len(why) > 10, f"{lesson}: {written!r} needs its source"
            assert written in text, f"{lesson}: {written!r} is cited but no longer in the text"


def test_the_claim_finder_sees_what_matters():
    found = [w for w, _, _ in claims("about 4.06 per second, 52% idle, 2.1x sooner, 16 workers, "
                                     "NIPS 2012, 1000 gradients, `lr=0.5`")]
    assert found == ["4.06", "52%", "2.1x", "1000"]
    assert {"52", "0.52", "4.06"} <= numbers_in("idle 0.52 and 4.06/s")
