"""Fixtures for the browser tests: one headless Chromium and one JupyterLab per session,
a fresh browser context per test, screenshots and logs saved as test artefacts.

Without Chromium or Playwright the tests skip, saying how to install them
(or fail, with ASYNCLAB_E2E_REQUIRED=1 as in CI).
Whatever happens in a test, the browser and the servers are shut down by the
fixtures' finalizers, and each server's temporary directory is removed.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import psutil
import pytest

from . import INSTALL, skip_or_fail
from .lab_server import LabServer
from .scratch_notebook import write_scratch_notebook

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ASYNCLAB_E2E_ARTIFACTS") or REPO_ROOT / "test-artifacts" / "e2e")
# Debian's chromium first; Google Chrome (as on GitHub's runners) drives the same way.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless, and quiet on a machine without internet: without the networking
# flags Chromium keeps trying to reach Google services and floods refused connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--disable-dev-shm-usage"]
WORKDIR_PREFIX = "asynclab-e2e-"
VIEWPORT = {"width": 1366, "height": 900}
ACTION_TIMEOUT = 60_000  # ms for actions and assertions without their own timeout (loaded machine)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures know whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def workdir():
    """One temporary directory for this session's browser and servers, removed at the end.

    A run killed outright cannot clean up, so each directory names its owner
    process and the next session removes directories whose owner is gone.
    """
    for old in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            owner = int((old / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not psutil.pid_exists(owner):
            shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    (path / "owner.pid").write_text(str(os.getpid()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(workdir):
    """Headless Chromium (Debian's package) driven by Playwright; closed at the end of the session.

    Playwright keeps its browser profile and downloads in the driver's TMPDIR;
    pointing that into `workdir` lets us remove whatever a crashed browser leaves behind.
    """
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        skip_or_fail(f"Playwright for Python is not installed: {INSTALL}")
    executable = os.environ.get("ASYNCLAB_E2E_CHROMIUM") or next(
        filter(None, map(shutil.which, BROWSERS)), None)
    if not executable or not os.access(executable, os.X_OK):
        skip_or_fail(f"no Chromium found (looked for {executable or ', '.join(BROWSERS)}): "
                     f"{INSTALL}")
    expect.set_options(timeout=ACTION_TIMEOUT)  # assertions wait as long as actions may
    scratch = workdir / "browser"
    scratch.mkdir()
    saved_tmpdir = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(scratch)  # read once, when the driver process starts
    try:
        playwright = sync_playwright().start()
    finally:
        if saved_tmpdir is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved_tmpdir
    try:
        # A temporary HOME: Chromium's crash reporter and dconf write under it.
        home = scratch / "home"
        env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_CACHE_HOME": str(home / ".cache")}
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS, env=env)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


def _serve(notebooks: Path, workdir: Path, log_name: str):
    server = LabServer(notebooks, REPO_ROOT, workdir)
    try:
        yield server.start()
    finally:
        server.stop(keep_log=ARTIFACTS / log_name)


@pytest.fixture(scope="session")
def lessons_lab(browser, workdir):
    """JupyterLab serving a temporary copy of lessons/ (needs the browser, so it skips first)."""
    yield from _serve(REPO_ROOT / "lessons", workdir, "jupyter-lab-lessons.log")


@pytest.fixture(scope="session")
def scratch_lab(browser, workdir):
    """JupyterLab serving the harness's scratch notebook, written at test time."""
    folder = workdir / "scratch-notebook"
    write_scratch_notebook(folder / "scratch.ipynb")
    yield from _serve(folder, workdir, "jupyter-lab-scratch.log")


class Learner:
    """One learner at one browser tab (a fresh browser context), for one test.

    `open()` loads a notebook in JupyterLab or Notebook 7; `snap()` saves numbered
    screenshots of the steps under test-artifacts/e2e/<test name>/.
    """

    def __init__(self, context, artifacts: Path):
        from .browser_console import ConsoleLog
        self.context = context
        self.page = context.new_page()
        self.artifacts = artifacts
        self.console: ConsoleLog | None = None
        self.servers: list[LabServer] = []
        self.notebook = None
        self.steps = 0

    def open(self, lab: LabServer, notebook: str, front_end=None, fresh: bool = True):
        """Open `notebook` in `front_end` (JupyterLab by default) in this tab; `fresh`: with
        its outputs cleared, else joining its running kernel (NotebookPage.open)."""
        from .browser_console import ConsoleLog
        from .notebook_page import LAB, NOTEBOOK, NotebookPage
        front_end = front_end or LAB
        if front_end is NOTEBOOK:
            require_notebook_7()
        self.servers.append(lab)
        if self.console is None:  # one log per page, from the first notebook on
            self.console = ConsoleLog(self.page, lab.url)
        url = lab.lab_url(notebook) if front_end is LAB else lab.notebook_url(notebook)
        self.notebook = NotebookPage(self.page, lab.root / notebook, front_end).open(url, fresh)
        return self.notebook

    def snap(self, step: str, focus=None) -> Path:
        """Screenshot of what the learner sees now, named '<NN>-<step>.png'."""
        self.steps += 1
        return self.notebook.screenshot(self.artifacts / f"{self.steps:02d}-{step}.png", focus)

    def assert_no_errors(self) -> None:
        """No widget failed to render and the browser console has no error (known noise aside)."""
        broken = self.notebook.widget_errors()
        assert not broken, "widgets failed to render:\n" + "\n".join(broken)
        self.console.assert_clean()


@pytest.fixture
def learner(browser, request):
    """A fresh browser context for this test; on failure, a screenshot, the error and a trace."""
    artifacts = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(artifacts, ignore_errors=True)  # no stale screenshots from an earlier run
    artifacts.mkdir(parents=True)
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT)
    context.tracing.start(snapshots=True)  # DOM snapshots; no screencast: CPU is scarce
    person = Learner(context, artifacts)
    try:
        yield person
    finally:
        report = getattr(request.node, "report_call", None)
        failed = report is None or report.failed
        try:
            if failed:
                _best_effort(person.page.screenshot, path=str(artifacts / "FAILED.png"))
                if report is not None:  # the failure's text, next to its screenshot
                    (artifacts / "FAILED.txt").write_text(report.longreprtext, encoding="utf-8")
            _best_effort(context.tracing.stop,
                         path=str(artifacts / "trace.zip") if failed else None)
            if person.console is not None:
                person.console.save(artifacts / "console.log")
        finally:
            try:
                context.close()
            finally:
                for server in person.servers:
                    server.shutdown_kernels()


def require_notebook_7() -> None:
    """Skip (or fail, in CI) when the `notebook` package (Notebook 7) is not installed."""
    try:
        from importlib.metadata import version
        major = int(version("notebook").split(".")[0])
    except Exception:  # noqa: BLE001 - not installed, or an unreadable version
        major = 0
    if major < 7:
        skip_or_fail("Jupyter Notebook 7 is not installed: pip install 'notebook>=7' "
                     "(in the test extra)")


def _best_effort(action, **kwargs) -> None:
    """Save an artefact if the page still allows it; a crashed page must not hide the failure."""
    try:
        action(**kwargs)
    except Exception as error:  # noqa: BLE001 - reported, never raised over the test's own error
        warnings.warn(f"could not save a test artefact: {error}", stacklevel=2)
