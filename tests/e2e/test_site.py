"""The course website in headless Chromium: built by lessons/site.py into a temporary
folder and served by a local HTTP server under a sub-path, as project pages are.
Every page loads with nothing failing; a quiz is answered wrong, retried and answered
right with the bank's feedback; a replay plays."""
import functools
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from . import require_playwright

require_playwright()

from playwright.sync_api import expect  # noqa: E402

from asynclab.course.questions import bank, get, option_order  # noqa: E402

from .browser_console import ConsoleLog  # noqa: E402
from .conftest import ACTION_TIMEOUT, ARTIFACTS, REPO_ROOT, VIEWPORT  # noqa: E402
from .lessons import lesson, lesson_notebooks  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SUB_PATH = "/course/asynclab/"       # where the site is served, as GitHub serves /REPO/


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_url(browser, tmp_path_factory):
    """The site, built by its one command, served on 127.0.0.1 under SUB_PATH."""
    root = tmp_path_factory.mktemp("served")
    out = root / SUB_PATH.strip("/")
    build = subprocess.run([sys.executable, str(REPO_ROOT / "lessons" / "site.py"),
                            "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{SUB_PATH}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Visitor:
    """One browser tab on the site: what it loaded, what failed, what the console said."""

    def __init__(self, browser, base, artifacts: Path):
        self.context = browser.new_context(viewport=VIEWPORT)
        self.context.set_default_timeout(ACTION_TIMEOUT)
        self.page = self.context.new_page()
        self.base = base
        self.artifacts = artifacts
        self.console = ConsoleLog(self.page, base)
        self.requested, self.failed = [], []
        self.page.on("request", lambda request: self.requested.append(request.url))
        self.page.on("requestfailed", self._on_failed)
        self.page.on("response", lambda response: response.status >= 400
                     and self.failed.append(f"{response.status} {response.url}"))

    def _on_failed(self, request):
        # A request the browser cancelled because the test went on to the next page (the
        # favicon, fetched after the load event) is not a failure of the site.
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.failure} {request.url}")

    def open(self, name):
        self.page.goto(self.base + name)
        return self.page

    def assert_clean(self):
        assert not self.failed, f"failed requests: {self.failed}"
        outside = [url for url in self.requested
                   if not url.startswith((self.base, "data:", "blob:"))]
        assert not outside, f"requests outside {self.base}: {outside}"
        self.console.assert_clean()

    def close(self):
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.console.save(self.artifacts / "console.log")
        self.context.close()


@pytest.fixture
def visitor(browser, site_url, request):
    person = Visitor(browser, site_url, ARTIFACTS / request.node.name)
    try:
        yield person
    finally:
        report = getattr(request.node, "report_call", None)
        if report is None or report.failed:
            person.artifacts.mkdir(parents=True, exist_ok=True)
            person.page.screenshot(path=str(person.artifacts / "FAILED.png"))
            if report is not None:
                (person.artifacts / "FAILED.txt").write_text(report.longreprtext)
        person.close()


def test_every_page_loads_from_the_sub_path_with_nothing_failing(visitor):
    page = visitor.open("index.html")
    links = page.locator(".site-toc a")
    names = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert names[:len(lesson_notebooks())] == [n.replace(".ipynb", ".html")
                                               for n in lesson_notebooks()]
    links.first.click()                   # a relative link stays under the sub-path
    expect(page).to_have_url(visitor.base + names[0])
    for name in ["index.html"] + names:
        page = visitor.open(name)
        page.wait_for_load_state("load")
        quizzes = page.locator("form.asynclab-quiz")
        expect(page.locator("form.asynclab-quiz[data-ready=yes]")).to_have_count(quizzes.count())
        replays = page.locator(".asynclab-replay-animation")
        expect(page.locator(".asynclab-replay-animation[data-ready=yes]")).to_have_count(
            replays.count())
        broken = page.evaluate("""() => Array.from(document.images).filter(
            img => !img.hidden && !(img.complete && img.naturalWidth > 0)).map(img => img.alt)""")
        assert not broken, f"{name}: images that did not load: {broken}"
        styles = page.evaluate("() => Array.from(document.styleSheets, s => s.cssRules.length)")
        assert len(styles) == 2 and all(styles), f"{name}: stylesheets not loaded: {styles}"
    assert any(url.endswith(SUB_PATH + "assets/course.js") for url in visitor.requested)
    visitor.assert_clean()


def shown_options(qid):
    """The question's options in the order the page shows them."""
    q = get(qid)
    return q, [q.options[i] for i in option_order(q)]


def test_a_quiz_answered_wrong_then_retried_then_right_with_the_banks_feedback(visitor):
    page = visitor.open(lesson(3).replace(".ipynb", ".html"))
    q, options = shown_options("03-main-benefit")
    right = next(o for o in options if o.correct)
    wrong = next(o for o in options if not o.correct)
    quiz = page.locator("form.asynclab-quiz-03-main-benefit")
    feedback = quiz.locator(".asynclab-feedback")

    quiz.get_by_label(wrong.text).check()
    quiz.get_by_role("button", name="Check").click()
    expect(feedback.locator(".asynclab-verdict")).to_contain_text("Not quite")
    expect(feedback).to_contain_text(wrong.explanation)        # only what was chosen...
    expect(feedback).not_to_contain_text(right.explanation)    # ...the answer stays hidden
    expect(feedback).to_contain_text("Try again")

    quiz.get_by_label(right.text).check()
    quiz.get_by_role("button", name="Check").click()
    expect(feedback.locator(".asynclab-verdict")).to_contain_text("✓ Correct")
    for option in options:                                     # now every option, explained
        expect(feedback).to_contain_text(option.explanation)

    # A numeric question: an anticipated mistake, a number nobody anticipated, the answer.
    q, values = shown_options("03-idle-fraction")
    numeric = page.locator("form.asynclab-quiz-03-idle-fraction")
    said = numeric.locator(".asynclab-feedback")
    mistake = next(o for o in values if not o.correct)
    for typed, expected in ((str(mistake.value), mistake.explanation), ("0.9", q.otherwise)):
        numeric.get_by_label("Your answer").fill(typed)
        numeric.get_by_role("button", name="Check").click()
        expect(said).to_contain_text(expected)
        expect(said.locator(".asynclab-verdict")).to_contain_text("Not quite")
    numeric.get_by_label("Your answer").fill("13/25")              # 0.52, within the tolerance
    numeric.get_by_role("button", name="Check").click()
    expect(said.locator(".asynclab-verdict")).to_contain_text("✓ Correct")

    # "Show solution" on a multiple-choice question explains every option.
    q, several = shown_options("03-what-changes")
    multiple = page.locator("form.asynclab-quiz-03-what-changes")
    multiple.get_by_role("button", name="Show solution").click()
    letters = ", ".join(q.letters()[n] for n, o in enumerate(several) if o.correct)
    expect(multiple.locator(".asynclab-verdict")).to_have_text(f"Answer: {letters}.")
    for option in several:
        expect(multiple.locator(".asynclab-feedback")).to_contain_text(option.explanation)

    # Progress is kept in this browser: the solved question stays solved, and the
    # contents page counts it.
    page.reload()
    expect(page.locator("form.asynclab-quiz-03-main-benefit .asynclab-verdict")).to_contain_text(
        "✓ Correct")
    page = visitor.open("index.html")
    asked = sum(q.lesson == 3 for q in bank().values())
    expect(page.locator(".asynclab-progress").nth(3)).to_have_text(
        f"quizzes: 2 of {asked} solved in this browser")
    visitor.assert_clean()


def test_a_replay_plays_on_the_page(visitor):
    page = visitor.open(lesson(3).replace(".ipynb", ".html"))
    replay = page.locator(".asynclab-replay-animation[data-ready=yes]")
    slider, status = replay.locator("input.asynclab-time"), replay.locator(".asynclab-status")
    canvas = replay.locator("canvas.asynclab-figure")
    slider.fill("0")                                   # rewind: the clock at 0 s
    expect(status).to_contain_text("t = 0 s")
    frames = [canvas.evaluate("canvas => canvas.toDataURL()")]
    times = [int(slider.input_value())]
    replay.get_by_role("button", name="Play").click()
    for _ in range(3):                                 # it keeps advancing, picture and text
        page.wait_for_function("([slider, last]) => Number(slider.value) > last",
                               arg=[slider.element_handle(), times[-1]])
        times.append(int(slider.input_value()))
        frames.append(canvas.evaluate("canvas => canvas.toDataURL()"))
        assert frames[-1] != frames[-2], "the picture did not change with the clock"
    expect(status).not_to_contain_text("t = 0 s")
    replay.get_by_role("button", name="Pause").click()
    visitor.assert_clean()
