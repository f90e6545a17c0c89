"""A headless replay stores an HTML animation: two pictures, the axes' boxes and every
frame's status line; nbval compares all of it but the pictures' bytes.
(The browser test tests/e2e/test_site.py presses its Play button.)"""
import base64
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

import asynclab
from asynclab.course import widgets
from asynclab.course.animation import animation_html
from asynclab.course.explorations import PROBLEM
from asynclab.course.widgets import png

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def race():
    runs = asynclab.compare(["sync", "async"], workers=4, lr=0.5, problem=PROBLEM, gradients=300)
    return asynclab.course.replay(runs["sync"], runs["async"], frames=8, time=0)


def pixels(png_bytes):
    return matplotlib.image.imread(io.BytesIO(png_bytes), format="png")


def test_layers_draw_everything_and_nothing_and_leave_the_figure_as_it_was(race):
    before = png(race.figure)
    full, empty, boxes = race.layers()
    assert png(race.figure) == before
    drawn, hidden = pixels(full), pixels(empty)
    height, width = drawn.shape[:2]
    assert len(boxes) == 3
    for left, top, right, bottom in boxes:
        assert 0 < left < right < width and 0 < top < bottom < height
    # Inside the first timeline: bars in one picture, the white curtain in the other.
    left, top, right, bottom = (round(v) for v in boxes[0])
    inside = (slice(top + 3, bottom - 3), slice(left + 3, right - 3))
    assert (hidden[inside][..., :3] == 1).all()
    assert (drawn[inside][..., :3] < 1).any()
    # Outside the axes (titles, ticks, legends) both pictures are the same.
    assert (drawn[:round(boxes[0][1]) - 20] == hidden[:round(boxes[0][1]) - 20]).all()


def test_the_animation_carries_every_frame_and_is_the_same_on_every_call(race):
    page = animation_html(race)
    assert page == animation_html(race)
    assert " id=" not in page                    # nothing random for nbval to trip on
    data = json.loads(re.search(r'class="asynclab-replay-data">(.*?)</script>', page).group(1))
    assert data["frames"] == 8 and len(data["texts"]) == 9
    assert data["texts"][4] == race.text(race.end / 2)
    assert data["start"] == {"fraction": 0.0, "text": race.text(0)} and data["first"] == 0
    # The figure at the replay's time for a page that runs no script; two for the script.
    [shown] = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(shown) == png(race.figure, stored=True)
    full, empty, _ = race.layers()
    assert data["full"] == "data:image/png;base64," + base64.b64encode(full).decode()
    assert data["curtain"] == "data:image/png;base64," + base64.b64encode(empty).decode()
    assert "asynclab-play" in page and "document.querySelectorAll" in page


def stored_data(page):
    return json.loads(re.search(r'class="asynclab-replay-data">(.*?)</script>', page).group(1))


def test_the_stored_animation_starts_where_show_time_left_the_replay(race):
    t = 0.43 * race.end                      # between frames 3 and 4 of 8
    race.show_time(t)
    try:
        page = animation_html(race)
    finally:
        race.show_time(0)
    data = stored_data(page)
    assert data["first"] == race.frame(t) == 3
    assert data["start"] == {"fraction": pytest.approx(0.43), "text": race.text(t)}
    assert f">{race.text(t)}</pre>" in page      # the status line without a script, too
    assert data["texts"][-1] == race.text(race.end)


def test_headless_in_ipython_a_replay_stores_the_animation(race, monkeypatch, capsys):
    shown = []
    monkeypatch.setenv(widgets.HEADLESS_ENV, "1")
    monkeypatch.setattr("IPython.get_ipython", lambda: object())
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append((obj, kw)))
    race._ipython_display_()
    assert "stored frames" in capsys.readouterr().out
    [(bundle, options)] = shown
    assert options == {"raw": True} and bundle["text/html"] == animation_html(race)
    assert "stored frames" in bundle["text/plain"]


def nbval(tmp_path, stored_html):
    """nbval, as lessons/conftest.py sets it up, on a notebook in a copy of lessons/ whose
    one cell shows a small HTML output, stored as `stored_html`. pytest starts in the
    folder above: the sanitize file must be found from anywhere."""
    folder = tmp_path / "lessons"
    folder.mkdir()
    for name in ("conftest.py", "nbval-sanitize.cfg"):
        shutil.copy(ROOT / "lessons" / name, folder / name)
    fresh = '<img src="data:image/png;base64,AAAA">t = 1 s'
    cell = new_code_cell(f"display({{'text/html': {fresh!r}}}, raw=True)", execution_count=1,
                         outputs=[new_output("display_data", data={"text/html": stored_html})])
    nbformat.write(new_notebook(cells=[cell]), folder / "probe.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
         "--nbval-current-env", "lessons/probe.ipynb"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_nbval_masks_the_pictures_but_still_compares_the_text(tmp_path):
    (tmp_path / "same").mkdir()
    other_picture = nbval(tmp_path / "same", '<img src="data:image/png;base64,BBBB/+==">t = 1 s')
    assert other_picture.returncode == 0, other_picture.stdout[-3000:]
    (tmp_path / "differs").mkdir()
    other_text = nbval(tmp_path / "differs", '<img src="data:image/png;base64,AAAA">t = 2 s')
    assert other_text.returncode == 1 and "t = 2 s" in other_text.stdout, other_text.stdout[-3000:]
