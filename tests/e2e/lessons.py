"""Where the tests find things in the stored lessons (read as JSON, never modified), and
which widget views a lesson's cells must show."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from .notebook_page import RENDER_TIMEOUT, NotebookPage

LESSONS = Path(__file__).resolve().parents[2] / "lessons"


def lesson_notebooks() -> list[str]:
    """File names of the numbered lessons, in order (00_welcome.ipynb, ...)."""
    return sorted(path.name for path in LESSONS.glob("[0-9][0-9]_*.ipynb"))


def lesson(number: int) -> str:
    """The file name of lesson `number`."""
    names = [name for name in lesson_notebooks() if name.startswith(f"{number:02d}_")]
    assert names, f"no lesson {number:02d}_*.ipynb in {LESSONS}"
    return names[0]


# Calls that show a widget, and the CSS class of the view each one shows.
VIEW_OF_CALL = {re.compile(r"\bask\("): "asynclab-quiz",
                re.compile(r"\bexplore\("): "asynclab-explore",
                re.compile(r"\breplay\("): "asynclab-replay"}


def expected_views(notebook: NotebookPage) -> dict[int, set[str]]:
    """For each cell that shows widgets, the CSS classes of the views it must render.

    Read from the code (comments left out) and from the outputs stored in the
    notebook file (any widget view: "jupyter-widgets").
    """
    views = {index: {"jupyter-widgets"} for index in notebook.widget_cells()}
    for index in range(len(notebook.stored_cells)):
        code = re.sub(r"#.*", "", notebook.source(index)) if notebook.is_code(index) else ""
        for call, css_class in VIEW_OF_CALL.items():
            if call.search(code):
                views.setdefault(index, set()).add(css_class)
    return views


def assert_views_render(notebook: NotebookPage, views: dict[int, set[str]]) -> None:
    """Every view in `views` is visible in its cell's output, in this front end."""
    for index, classes in sorted(views.items()):
        for css_class in sorted(classes):
            expect(notebook.outputs(index).locator(f".jupyter-widgets.{css_class}").first,
                   f"{notebook.name} cell {index} in {notebook.front_end.title}: "
                   f"no {css_class} view").to_be_visible(timeout=RENDER_TIMEOUT)
