"""The browser harness proves its own checks on a scratch notebook, independently of the
lessons: each check the learner tests rely on can fail, and fails when it should (a
raising cell and a broken widget in both front ends)."""
import pytest

from . import require_playwright

require_playwright()

from playwright.sync_api import expect  # noqa: E402

from .lab_server import free_port  # noqa: E402
from .learner import wait_for_figure  # noqa: E402
from .notebook_page import FRONT_ENDS  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_a_figure_changes_only_when_its_pixels_do(scratch_lab, learner):
    notebook = learner.open(scratch_lab, "scratch.ipynb")
    shown = notebook.find(r"^figure = ")
    image = notebook.run_through(shown).locator(".asynclab-figure")
    drawn = wait_for_figure(image)
    url = image.get_attribute("src")

    notebook.run(notebook.find("the same picture again"))
    expect(image).not_to_have_attribute("src", url)  # a new URL...
    with pytest.raises(AssertionError, match="did not change"):  # ...but the same pixels
        wait_for_figure(image, different_from=drawn, timeout=3_000)

    notebook.run(notebook.find("another picture"))
    assert wait_for_figure(image, different_from=drawn) != drawn


@pytest.mark.parametrize("front_end", FRONT_ENDS, ids=str)
def test_a_raising_cell_fails_with_its_traceback(scratch_lab, learner, front_end):
    notebook = learner.open(scratch_lab, "scratch.ipynb", front_end)
    with pytest.raises(AssertionError, match="RuntimeError: a failing cell"):
        notebook.run_through(notebook.find(r"raise RuntimeError"))


@pytest.mark.parametrize("front_end", FRONT_ENDS, ids=str)
def test_broken_widgets_and_console_errors_fail_known_noise_does_not(scratch_lab, learner,
                                                                     front_end):
    notebook = learner.open(scratch_lab, "scratch.ipynb", front_end)
    page = learner.page
    elsewhere = f"http://127.0.0.1:{free_port()}/font.woff2"  # nobody listens there
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate(f"new Image().src = {elsewhere!r}")
    learner.assert_no_errors()  # a failed request to another host is known noise

    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('widget view exploded'); })")
    with pytest.raises(AssertionError, match="widget view exploded"):
        learner.assert_no_errors()

    notebook.run(notebook.find("no-such-model"))
    with pytest.raises(AssertionError, match=r"failed to render:\s+Error displaying widget"):
        learner.assert_no_errors()
