"""Each lesson, run from top to bottom in JupyterLab 4 (Run > Run All Cells), renders
every widget it shows, with no error in the browser console."""
import re

import pytest

from . import require_playwright

require_playwright()

from playwright.sync_api import expect  # noqa: E402

from .lessons import lesson_notebooks  # noqa: E402
from .notebook_page import RENDER_TIMEOUT  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# Calls that show a widget, and the CSS class of the view each one shows.
VIEW_OF_CALL = {re.compile(r"\bask\("): "asynclab-quiz",
                re.compile(r"\bexplore\("): "asynclab-explore",
                re.compile(r"\breplay\("): "asynclab-replay"}


def expected_views(notebook) -> dict[int, set[str]]:
    """For each cell that shows widgets, the CSS classes of the views it must render.

    Read from the code (comments left out) and from the outputs stored when
    the lesson was built (any widget view: "jupyter-widgets").
    """
    views = {index: {"jupyter-widgets"} for index in notebook.widget_cells()}
    for index in range(len(notebook.stored_cells)):
        code = re.sub(r"#.*", "", notebook.source(index)) if notebook.is_code(index) else ""
        for call, css_class in VIEW_OF_CALL.items():
            if call.search(code):
                views.setdefault(index, set()).add(css_class)
    return views


@pytest.mark.parametrize("name", lesson_notebooks())
def test_every_widget_of_the_lesson_renders_without_console_errors(lessons_lab, learner, name):
    notebook = learner.open(lessons_lab, name)
    views = expected_views(notebook)
    assert views, f"{name} shows no quiz, exploration or replay"
    notebook.run_all()
    for index, classes in sorted(views.items()):
        for css_class in sorted(classes):
            expect(notebook.outputs(index).locator(f".jupyter-widgets.{css_class}").first,
                   f"{name} cell {index}: no {css_class} view"
                   ).to_be_visible(timeout=RENDER_TIMEOUT)
    learner.snap("all-cells-run", notebook.cell(max(views)))
    learner.assert_no_errors()
