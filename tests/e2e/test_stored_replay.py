"""A stored replay (asynclab/course/animation.py) in headless Chromium, on a page of its
own: it starts where ``show_time`` left the replay (slider, picture and status line),
and its slider and Play button go on from there."""
import base64
import io

import numpy as np
import pytest
from PIL import Image

from . import require_playwright

require_playwright()

from playwright.sync_api import expect  # noqa: E402

import asynclab  # noqa: E402
from asynclab.course import replay  # noqa: E402
from asynclab.course.animation import animation_html  # noqa: E402
from asynclab.course.explorations import PROBLEM  # noqa: E402

from .browser_console import ConsoleLog  # noqa: E402
from .conftest import ACTION_TIMEOUT, VIEWPORT  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
FRAMES = 8


@pytest.fixture(scope="module")
def race():
    runs = asynclab.compare(["sync", "async"], workers=4, lr=0.5, problem=PROBLEM, gradients=300)
    rp = replay(runs["sync"], runs["async"], frames=FRAMES)
    rp.show_time(0.43 * rp.end)                # between frames 3 and 4
    return rp


@pytest.fixture
def page(browser, race, tmp_path):
    (tmp_path / "replay.html").write_text(
        f"<!DOCTYPE html><html><body>{animation_html(race)}</body></html>", encoding="utf-8")
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT)
    page = context.new_page()
    console = ConsoleLog(page, "file://")
    try:
        page.goto((tmp_path / "replay.html").as_uri())
        expect(page.locator(".asynclab-replay-animation[data-ready=yes]")).to_have_count(1)
        yield page
        console.assert_clean()
    finally:
        context.close()


def canvas_pixels(page):
    url = page.locator("canvas.asynclab-figure").evaluate("canvas => canvas.toDataURL()")
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_the_stored_replay_starts_where_show_time_left_it(page, race):
    slider, status = page.locator("input.asynclab-time"), page.locator(".asynclab-status")
    assert slider.input_value() == str(race.frame()) == "3"
    expect(status).to_have_text(race.text())
    # The picture: drawn up to the clock's line, the curtain's white after it.
    _, _, boxes = race.layers()
    left, top, right, bottom = boxes[0]           # the first timeline, in the PNGs' pixels
    clock = left + (right - left) * race.time / race.end
    rows = slice(round(top) + 3, round(bottom) - 3)
    picture = canvas_pixels(page)
    assert (picture[rows, round(clock) + 3: round(right) - 3] == 255).all()
    assert (picture[rows, round(left) + 3: round(clock) - 3] < 255).any()
    slider.fill("6")                              # the slider goes on from there
    expect(status).to_have_text(race.text(6 / FRAMES * race.end))
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("slider => Number(slider.value) > 6", arg=slider.element_handle())
    page.get_by_role("button", name="Pause").click()
