"""A small notebook written at test time, on which the harness proves its own checks.

A figure as the course shows it (an ipywidgets Image of a PNG, with the
asynclab-figure class), the same picture sent again (new blob URL, same
pixels), another picture, a cell that raises and a widget that cannot render.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = """\
import io
import ipywidgets as widgets
from matplotlib.figure import Figure

def picture(points):
    fig = Figure(figsize=(3, 2), dpi=80)
    fig.add_subplot().plot(range(points))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()"""

SHOW = """\
figure = widgets.Image(value=picture(3), format="png")
figure.add_class("asynclab-figure")
figure"""

SAME_PICTURE = """\
# the same picture again: the front end makes a new blob URL for the same bytes
first = figure.value
figure.value = b""
figure.value = first"""

ANOTHER_PICTURE = """\
# another picture
figure.value = picture(6)"""

RAISES = 'raise RuntimeError("a failing cell")'

BROKEN_WIDGET = """\
# a widget view whose model does not exist, as a stale or broken output shows it
from IPython.display import display
display({"application/vnd.jupyter.widget-view+json": {
    "model_id": "no-such-model", "version_major": 2, "version_minor": 0}}, raw=True)"""


def write_scratch_notebook(path: Path) -> Path:
    cells = [new_markdown_cell("# Scratch notebook for the browser harness"),
             new_code_cell(SETUP), new_code_cell(SHOW), new_code_cell(SAME_PICTURE),
             new_code_cell(ANOTHER_PICTURE), new_code_cell(RAISES),
             new_code_cell(BROKEN_WIDGET)]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path
