"""What a learner does with the course's widgets, as Playwright actions on their views.

Each function takes the locator of one widget view (a quiz, an exploration, a
replay) and acts through the mouse like a person: click an option, press a
button, drag a slider handle, press Play. The DOM it relies on is ipywidgets
8's (RadioButtons are labelled radio inputs, sliders are noUiSlider handles,
Play has a button with a play icon) plus the asynclab-* classes.
"""
from __future__ import annotations

from playwright.sync_api import Locator

from .notebook_page import RENDER_TIMEOUT

# The figures drawn inside a view, as one string: a SHA-256 of each image's
# bytes (inline PNGs are data: URIs, Image widgets blob: URLs; hashing the bytes
# means a "changed" figure has different pixels, not just a fresh URL). Empty
# while no image is there or one has not loaded.
_FIGURES = """async element => {
    const images = Array.from(element.querySelectorAll('img'));
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
_FIGURES_CHANGED = f"""async ([element, before]) => {{
    const now = await ({_FIGURES})(element);
    return now !== '' && now !== before && now;
}}"""


def choose(quiz: Locator, option: str) -> None:
    """Click the choice whose label contains `option`."""
    quiz.get_by_role("radio", name=option).check()


def press(view: Locator, label: str) -> None:
    view.get_by_role("button", name=label).click()


def figure(view: Locator) -> str:
    """The signature of the figures drawn inside `view` ("" while none is drawn)."""
    return view.evaluate(_FIGURES)


def wait_for_figure(view: Locator, different_from: str = "") -> str:
    """Wait until `view` shows loaded figures unlike `different_from`; return their signature."""
    changed = view.page.wait_for_function(
        _FIGURES_CHANGED, arg=[view.element_handle(), different_from],
        polling=100, timeout=RENDER_TIMEOUT)
    return changed.json_value()


def slider_value(slider: Locator) -> float:
    return float(slider.locator(".noUi-handle").get_attribute("aria-valuenow"))


def drag_slider(slider: Locator, fraction: float) -> float:
    """Drag the handle of `slider` (a .widget-slider) to `fraction` of its track; return the value."""
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
