"""What a learner does with the course's widgets, as Playwright actions on their views.

Each function takes the locator of one widget view (a quiz, an exploration, a
replay) and acts through the mouse like a person: click an option, press a
button, drag a slider handle, press Play. The DOM it relies on is ipywidgets
8's (RadioButtons are labelled radio inputs, sliders are noUiSlider handles,
Play has a button with a play icon) plus the asynclab-* classes.
"""
from __future__ import annotations

import time

from playwright.sync_api import Locator

from .notebook_page import RENDER_TIMEOUT

# The figures an element shows (itself if it is an image, or the images inside),
# as one string: a SHA-256 of each image's bytes. Inline PNGs are data: URIs,
# Image widgets blob: URLs that change on every update; hashing the bytes means a
# "changed" figure has different pixels, not just a fresh URL. Empty while no
# image is there or one has not loaded.
_FIGURES = """async element => {
    const images = element.matches('img') ? [element] : Array.from(element.querySelectorAll('img'));
    if (!images.length || !images.every(img => img.complete && img.naturalWidth > 0)) return '';
    const digests = [];
    for (const img of images) {
        try {
            const bytes = await (await fetch(img.src)).arrayBuffer();
            const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
            digests.push(Array.from(digest, b => b.toString(16).padStart(2, '0')).join(''));
        } catch (error) {
            return '';  // replaced (and its blob URL revoked) while we read it
        }
    }
    return digests.join('|');
}"""


def choose(quiz: Locator, option: str) -> None:
    """Click the choice whose label contains `option`."""
    quiz.get_by_role("radio", name=option).check()


def press(view: Locator, label: str) -> None:
    view.get_by_role("button", name=label).click()


def figure(view: Locator) -> str:
    """The signature of the figures `view` shows ("" while none is drawn)."""
    return view.evaluate(_FIGURES)


def wait_for_figure(view: Locator, different_from: str = "",
                    timeout: float = RENDER_TIMEOUT) -> str:
    """Wait until `view` shows loaded figures unlike `different_from`; return their signature.

    Polled from here every 0.1 s: page.wait_for_function cannot wait on the
    asynchronous hashing (it takes the pending promise itself as a truthy answer).
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        now = figure(view)
        if now and now != different_from:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"the figure did not {'change' if different_from else 'appear'} "
                                 f"within {timeout / 1000:.0f} s")
        view.page.wait_for_timeout(100)


def slider_value(slider: Locator) -> float:
    return float(slider.locator(".noUi-handle").get_attribute("aria-valuenow"))


def drag_slider(slider: Locator, fraction: float) -> float:
    """Drag the handle of `slider` (a .widget-slider) to `fraction` of its track; its new value."""
    handle = slider.locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    start, track = handle.bounding_box(), slider.locator(".noUi-base").bounding_box()
    mouse = slider.page.mouse
    mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    mouse.down()
    mouse.move(track["x"] + fraction * track["width"], start["y"] + start["height"] / 2, steps=8)
    mouse.up()
    return slider_value(slider)


def press_play(replay: Locator) -> None:
    replay.locator(".widget-play button:has(.fa-play)").click()


def wait_for_slider_beyond(slider: Locator, value: float) -> float:
    """Wait until `slider`'s value exceeds `value` (a Play widget drives it); return it."""
    slider.page.wait_for_function(
        "([handle, value]) => parseFloat(handle.getAttribute('aria-valuenow')) > value",
        arg=[slider.locator(".noUi-handle").element_handle(), value], timeout=RENDER_TIMEOUT)
    return slider_value(slider)
