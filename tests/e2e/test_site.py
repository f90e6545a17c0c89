"""The course website in headless Chromium: built by lessons/site.py into a temporary
folder and served by a local HTTP server under a sub-path, as project pages are.
Every page loads with nothing failing; a quiz is answered wrong, retried and answered
right with the bank's feedback, its formulas typeset; numeric answers take a percent
sign and units; a replay plays; the search finds a lesson and opens it, with nothing
fetched from elsewhere; on a 390-pixel phone no page overflows sideways and the
sidebar opens from the Menu button; long code opens from its fold."""
import functools
import json
import re
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
def site_folder(tmp_path_factory):
    """The site, built by its one command into ``served/SUB_PATH``."""
    out = tmp_path_factory.mktemp("served") / SUB_PATH.strip("/")
    build = subprocess.run([sys.executable, str(REPO_ROOT / "lessons" / "site.py"),
                            "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    return out


@pytest.fixture(scope="module")
def site_url(browser, site_folder):
    """The site served on 127.0.0.1 under SUB_PATH."""
    root = site_folder.parents[len(Path(SUB_PATH.strip("/")).parts) - 1]
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

    def __init__(self, browser, base, artifacts: Path, viewport=VIEWPORT):
        self.context = browser.new_context(viewport=viewport)
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


PHONE = {"width": 390, "height": 844}


@pytest.fixture(params=[VIEWPORT], ids=["laptop"])
def screen(request):
    return request.param


@pytest.fixture
def visitor(browser, site_url, request, screen):
    person = Visitor(browser, site_url, ARTIFACTS / request.node.name, screen)
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
        assert len(styles) == 3 and all(styles), f"{name}: stylesheets not loaded: {styles}"
        expect(page.locator("#site-search input")).to_have_count(1)      # a search box
        expect(page.locator("nav.site-sidebar a[aria-current=page]")).to_have_count(1)
    assert any(url.endswith(SUB_PATH + "assets/course.js") for url in visitor.requested)
    visitor.assert_clean()


def words(text):
    """The prose of a bank text, in pieces: what lies between its $formulas$ (those are
    typeset on the page)."""
    return [piece.strip() for piece in re.split(r"\$[^$]*\$", text) if piece.strip()]


def expect_words(locator, text):
    for piece in words(text):
        expect(locator).to_contain_text(piece)


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
    expect_words(feedback, wrong.explanation)                   # only what was chosen...
    expect(feedback).not_to_contain_text(words(right.explanation)[0])  # ...not the answer
    expect(feedback).to_contain_text("Try again")

    quiz.get_by_label(right.text).check()
    quiz.get_by_role("button", name="Check").click()
    expect(feedback.locator(".asynclab-verdict")).to_contain_text("✓ Correct")
    for option in options:                                     # now every option, explained
        expect_words(feedback, option.explanation)

    # A numeric question: an anticipated mistake, a number nobody anticipated, the answer.
    q, values = shown_options("03-idle-fraction")
    numeric = page.locator("form.asynclab-quiz-03-idle-fraction")
    said = numeric.locator(".asynclab-feedback")
    mistake = next(o for o in values if not o.correct)
    for typed, expected in ((str(mistake.value), mistake.explanation), ("0.9", q.otherwise)):
        numeric.get_by_label("Your answer").fill(typed)
        numeric.get_by_role("button", name="Check").click()
        expect_words(said, expected)
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
        expect_words(multiple.locator(".asynclab-feedback"), option.explanation)

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


def test_a_quiz_shows_its_formulas_typeset_in_its_question_and_feedback(visitor):
    page = visitor.open(lesson(1).replace(".ipynb", ".html"))
    quiz = page.locator("form.asynclab-quiz-01-stability-limit")
    expect(quiz.locator(".asynclab-question math")).not_to_have_count(0)
    quiz.get_by_role("button", name="Show solution").click()
    feedback = quiz.locator(".asynclab-feedback")
    expect(feedback.locator("math")).not_to_have_count(0)
    for text in (quiz.locator(".asynclab-question").inner_text(), feedback.inner_text()):
        assert "$" not in text and "\\mathrm" not in text and "\\lambda" not in text
    visitor.assert_clean()


NUMERIC = json.loads((REPO_ROOT / "tests" / "numeric_answers.json").read_text())["cases"]


def test_numeric_answers_read_as_the_notebook_reads_them(visitor):
    """Every case of tests/numeric_answers.json, typed into its quiz: the page reads the
    same number as asynclab/course/numeric.py (tests/test_quiz.py), or refuses it."""
    by_lesson = {}
    for qid, typed, expected in NUMERIC:
        by_lesson.setdefault(int(qid[:2]), []).append((qid, typed, expected))
    for number, cases in by_lesson.items():
        page = visitor.open(lesson(number).replace(".ipynb", ".html"))
        for qid, typed, expected in cases:
            quiz = page.locator(f"form.asynclab-quiz-{qid}")
            feedback = quiz.locator(".asynclab-feedback")
            quiz.get_by_label("Your answer").fill(typed)
            quiz.get_by_role("button", name="Check").click()
            if expected is None:
                expect(feedback).to_have_attribute("data-state", "invalid")
                continue
            expect(feedback).not_to_have_attribute("data-state", "invalid")
            q = get(qid)
            verdict = feedback.locator(".asynclab-verdict")
            if any(o.correct and abs(expected - o.value) <= q.tolerance for o in q.options):
                expect(verdict).to_contain_text(f"✓ Correct: {expected:.4g} is within")
            else:
                expect(verdict).to_contain_text(f"you answered {expected:.4g}.")
    visitor.assert_clean()


def test_the_search_finds_a_lesson_and_opens_it(visitor):
    page = visitor.open("index.html")
    box = page.locator("#site-search input")
    box.fill("straggler")
    results = page.locator("#site-search .pagefind-ui__result-link")
    expect(results.first).to_be_visible()
    titles = [results.nth(i).inner_text() for i in range(results.count())]
    assert any("Synchronous data-parallel SGD" in t for t in titles), titles
    href = results.first.get_attribute("href")
    assert href.startswith(SUB_PATH), href            # under the site's sub-path
    results.first.click()
    expect(page).to_have_url(visitor.base + href[len(SUB_PATH):])
    expect(page.locator("main h1")).to_be_visible()
    visitor.assert_clean()                            # the index came from the site itself


@pytest.mark.parametrize("screen", [PHONE], ids=["phone"], indirect=True)
def test_on_a_phone_no_page_overflows_and_the_menu_opens_the_sidebar(visitor):
    pages = ["index.html"] + [n.replace(".ipynb", ".html") for n in lesson_notebooks()] + [
        "glossary.html", "references.html", "cheatsheet.html"]
    for name in pages:
        page = visitor.open(name)
        page.wait_for_load_state("load")
        # What sticks out of the screen and is not inside a box that scrolls (or clips).
        wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) {
                             if (getComputedStyle(a).overflowX !== 'visible') return false; }
                           return true; })
            .slice(0, 3).map(e => e.tagName + '.' + e.className)""")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0 and not wide, f"{name} is {overflow} px too wide: {wide}"
    page = visitor.open(lesson(2).replace(".ipynb", ".html"))
    sidebar, menu = page.locator("nav.site-sidebar"), page.get_by_role("button", name="Menu")
    expect(sidebar).to_be_hidden()
    menu.click()
    expect(sidebar).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    sidebar.locator(".site-sections a").nth(1).click()      # a section: the menu closes
    expect(sidebar).to_be_hidden()
    menu.click()
    sidebar.get_by_role("link", name="Glossary").click()
    expect(page).to_have_url(visitor.base + "glossary.html")
    visitor.assert_clean()


def test_long_code_opens_from_its_fold_and_the_sidebar_lists_the_sections(visitor):
    page = visitor.open(lesson(2).replace(".ipynb", ".html"))
    fold = page.locator("details.site-code").first
    code = fold.locator(".jp-InputArea-editor")
    expect(code).to_be_hidden()
    fold.locator("summary").click()
    expect(code).to_be_visible()
    expect(fold.locator("summary")).to_contain_text("Hide the code")
    sections = page.locator("nav.site-sidebar .site-sections a")
    expect(sections.first).to_be_visible()
    target = sections.nth(2).get_attribute("href")
    sections.nth(2).click()
    expect(page).to_have_url(visitor.base + lesson(2).replace(".ipynb", ".html") + target)
    visitor.assert_clean()


def test_opened_as_files_the_pages_work_and_the_search_box_says_how_to_serve_them(
        browser, site_folder):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and errors.append(
            message.text))
        page.goto((site_folder / lesson(3).replace(".ipynb", ".html")).as_uri())
        expect(page.locator("#site-search .site-search-note")).to_contain_text(
            "python3 -m http.server")
        expect(page.locator("#site-search input")).to_have_count(0)
        quiz = page.locator("form.asynclab-quiz-03-idle-fraction")
        quiz.get_by_label("Your answer").fill("52%")
        quiz.get_by_role("button", name="Check").click()
        expect(quiz.locator(".asynclab-verdict")).to_contain_text("✓ Correct")
        expect(page.locator(".asynclab-replay-animation[data-ready=yes]")).to_have_count(1)
        assert not errors, errors
    finally:
        context.close()
