"""Each lesson in both front ends: run from top to bottom (Run > Run All Cells) in one of
JupyterLab 4 and Jupyter Notebook 7, saved, then opened in the other on the same kernel;
every quiz, exploration and replay renders in both, with no error in the browser console.

Lessons take turns at which front end runs them, so each front end's Run menu runs
half the lessons; the other front end draws the saved widget views from the live
kernel, as a learner's reloaded page does, without running the lesson again (lesson
08 alone spends about 40 s on Ray). Lesson 03, where the learner paths are, runs in
both front ends (test_learner_paths.py) and is left out here.
"""
import pytest

from . import require_playwright

require_playwright()

from .lessons import assert_views_render, expected_views, lesson, lesson_notebooks  # noqa: E402
from .notebook_page import FRONT_ENDS  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

LEARNER_PATHS = lesson(3)   # run in both front ends by test_learner_paths.py
LESSONS = [name for name in lesson_notebooks() if name != LEARNER_PATHS]


@pytest.mark.parametrize("name", LESSONS)
def test_every_widget_of_the_lesson_renders_in_both_front_ends(lessons_lab, learner, name):
    turn = lesson_notebooks().index(name) % 2
    runs, joins = FRONT_ENDS[turn], FRONT_ENDS[1 - turn]

    notebook = learner.open(lessons_lab, name, runs)
    views = expected_views(notebook)
    assert views, f"{name} shows no quiz, exploration or replay"
    notebook.run_all()
    assert_views_render(notebook, views)
    learner.snap(f"all-cells-run-in-{runs}", notebook.cell(max(views)))
    learner.assert_no_errors()
    notebook.save()

    notebook = learner.open(lessons_lab, name, joins, fresh=False)
    assert set(notebook.widget_cells()) >= {i for i, c in views.items() if c - {"jupyter-widgets"}}
    assert_views_render(notebook, expected_views(notebook))
    learner.snap(f"same-kernel-in-{joins}", notebook.cell(max(views)))
    learner.assert_no_errors()
