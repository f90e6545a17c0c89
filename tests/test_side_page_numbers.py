"""The glossary's and the cheat sheet's numbers are claims too (course issue, part 8).

Each entry of lessons/glossary.md and each row, paragraph or rule of
lessons/cheatsheet.md names the lessons it comes from with tags such as ``[05]`` or
``[04, 08]``. Every number it states (as tests/test_lesson_numbers.py reads numbers)
must appear in the code or the stored outputs of one of those lessons (of any lesson
if it names none), or be listed with its source in ``lessons/cited/pages/PAGE.json``.
"""
import json
import re
from pathlib import Path

import pytest
from test_lesson_numbers import LESSONS, NOTEBOOKS, claims, sources

PAGES = ["glossary", "cheatsheet"]
TAG = re.compile(r"\[(\d\d(?:,\s*\d\d)*)\]")


def entries(text):
    """The pieces of a page that each carry their own tags: table rows, list items and
    paragraphs."""
    pieces, current = [], []
    for line in text.splitlines():
        starts = line.startswith(("|", "- ", "**")) or not line.strip()
        if starts and current:
            pieces.append("\n".join(current))
            current = []
        if line.strip():
            current.append(line)
    if current:
        pieces.append("\n".join(current))
    return pieces


def known_numbers():
    return {int(nb.name[:2]): sources(nb) for nb in NOTEBOOKS}


@pytest.mark.parametrize("page", PAGES)
def test_every_number_on_a_side_page_comes_from_its_lessons_or_is_cited(page):
    text = (LESSONS / f"{page}.md").read_text(encoding="utf-8")
    cited_path = LESSONS / "cited" / "pages" / f"{page}.json"
    listed = json.loads(cited_path.read_text(encoding="utf-8")) if cited_path.exists() else {}
    known = known_numbers()
    missing = []
    for entry in entries(text):
        tags = [int(t) for group in TAG.findall(entry) for t in re.split(r",\s*", group)]
        pool = set().union(*(known[t] for t in tags if t in known)) if tags else \
            set().union(*known.values())
        for written, digits, _ in claims(TAG.sub(" ", entry)):
            if digits in pool or f"{float(digits):g}" in pool or written in listed:
                continue
            missing.append(f"{entry.splitlines()[0][:60]!r}: {written!r} (lessons {tags or 'any'})")
    assert not missing, (f"numbers of {page}.md found neither in the lessons it tags nor in "
                         f"lessons/cited/pages/{page}.json:\n" + "\n".join(missing))


@pytest.mark.parametrize("page", PAGES)
def test_every_number_cited_for_a_side_page_is_still_on_it(page):
    cited_path = LESSONS / "cited" / "pages" / f"{page}.json"
    if not cited_path.exists():
        return
    text = (LESSONS / f"{page}.md").read_text(encoding="utf-8")
    for written, why in json.loads(cited_path.read_text(encoding="utf-8")).items():
        assert len(why) > 10, f"{page}: {written!r} needs its source"
        assert written in text, f"{page}: {written!r} is cited but no longer on the page"


def test_entries_and_tags_are_read_as_meant():
    pieces = entries("**Bound** [03, 05]. At most 2.5 steps.\n\n| a | b [09] |\n- rule 1.5x [02]")
    assert len(pieces) == 3
    assert TAG.findall(pieces[0]) == ["03, 05"] and TAG.findall(pieces[2]) == ["02"]
