"""A small notebook built at test time to prove the browser harness on its own.

It has the three kinds of widgets the lessons use, built from plain ipywidgets
with the same DOM hooks (CSS classes) as asynclab's: a quiz (choices, a Check
button, written feedback per option), an exploration (a slider redrawing a
matplotlib figure) and a replay (a Play button driving a time slider that
redraws a figure), plus a cell that raises, to show failures are reported.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

QUESTION = "Which number is even?"
FEEDBACK = {"3": "Wrong: 3 leaves a remainder of 1 when divided by 2.",
            "4": "Right: 4 = 2 x 2."}

IMPORTS = """\
import ipywidgets as widgets
import matplotlib.pyplot as plt
%matplotlib inline"""

QUIZ = f"""\
feedback = {FEEDBACK!r}
choices = widgets.RadioButtons(options=list(feedback), value=None)
check = widgets.Button(description="Check")
check.add_class("asynclab-check")
verdict = widgets.HTML()
verdict.add_class("asynclab-feedback")
check.on_click(lambda _: setattr(verdict, "value", feedback.get(choices.value, "Pick one.")))
quiz = widgets.VBox([widgets.HTML({QUESTION!r}), choices, check, verdict])
quiz.add_class("asynclab-quiz")
quiz"""

FIGURE = """\
def redraw(output, points):
    with output:
        output.clear_output(wait=True)
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot(range(points + 1))
        plt.show()
"""

EXPLORE = """\
workers = widgets.IntSlider(value=2, min=1, max=16, description="workers")
figure = widgets.Output()
workers.observe(lambda change: redraw(figure, change["new"]), "value")
redraw(figure, workers.value)
explore = widgets.VBox([workers, figure])
explore.add_class("asynclab-explore")
explore"""

REPLAY = """\
play = widgets.Play(value=0, min=0, max=40, interval=150)
clock = widgets.IntSlider(value=0, min=0, max=40, description="time")
widgets.jslink((play, "value"), (clock, "value"))
timeline = widgets.Output()
clock.observe(lambda change: redraw(timeline, change["new"]), "value")
redraw(timeline, 0)
replay = widgets.VBox([widgets.HBox([play, clock]), timeline])
replay.add_class("asynclab-replay")
replay"""

RAISES = 'raise RuntimeError("a failing cell")'


def write_scratch_notebook(path: Path) -> Path:
    cells = [new_markdown_cell("# Scratch notebook for the browser harness"),
             new_code_cell(IMPORTS), new_code_cell(QUIZ), new_code_cell(FIGURE),
             new_code_cell(EXPLORE), new_code_cell(REPLAY), new_code_cell(RAISES)]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path
