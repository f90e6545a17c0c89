"""A notebook in JupyterLab or Jupyter Notebook 7, driven the way a learner drives it.

Cells are run from the notebook UI (click a cell, Run menu, Shift+Enter) with
the notebook's own kernel; nothing is executed behind the UI's back. Waits are
conditions in the page (a cell's prompt shows its execution count, a widget
view exists), each bounded by a timeout generous enough for a loaded 2-core
machine, so a hang fails with a message instead of stalling CI.

Both front ends draw a notebook with the same JupyterLab components (cells,
menus and their commands, ipywidgets' manager); they differ in their URL, in
where they say that the kernel is ready, and in Notebook 7 having no file
browser to fold away (FrontEnd).
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

KERNEL_START_TIMEOUT = 90_000  # ms: opening a notebook starts a fresh kernel
RUN_TIMEOUT = 180_000  # ms: executing the cells of one lesson (< 15 s each when idle)
RENDER_TIMEOUT = 60_000  # ms: widget views and redraws after a kernel round trip

EXECUTED = re.compile(r"^\[\d+\]:$")  # a prompt after its cell ran; "[*]:" while it runs
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"  # the output type of a widget
STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"  # also tracebacks


@dataclass(frozen=True)
class FrontEnd:
    """One of the front ends learners open notebooks in."""
    name: str   # short, for test ids: "lab", "notebook"
    title: str  # as people call it

    def __str__(self) -> str:
        return self.name


LAB = FrontEnd("lab", "JupyterLab 4")
NOTEBOOK = FrontEnd("notebook", "Jupyter Notebook 7")
FRONT_ENDS = (LAB, NOTEBOOK)


class NotebookPage:
    """One notebook open in a front end (one per browser page): run cells, read their outputs."""

    def __init__(self, page: Page, path: Path, front_end: FrontEnd = LAB):
        self.page = page
        self.path = path
        self.name = path.name
        self.front_end = front_end
        # The served copy's cells as stored: sources (to find cells), outputs it was built with.
        self.stored_cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        self.notebook = page.locator(".jp-NotebookPanel .jp-Notebook")

    def find(self, pattern: str) -> int:
        """Index of the first code cell whose source matches the regular expression `pattern`."""
        for index in range(len(self.stored_cells)):
            if self.is_code(index) and re.search(pattern, self.source(index)):
                return index
        raise LookupError(f"no code cell of {self.name} matches {pattern!r}")

    def source(self, index: int) -> str:
        source = self.stored_cells[index]["source"]
        return "".join(source) if isinstance(source, list) else source

    def is_code(self, index: int) -> bool:
        return self.stored_cells[index]["cell_type"] == "code"

    def widget_cells(self) -> list[int]:
        """Indices of the cells whose stored outputs show a widget (as the lesson was built)."""
        return [index for index, cell in enumerate(self.stored_cells)
                if any(WIDGET_VIEW in output.get("data", {}) for output in cell.get("outputs", []))]

    def open(self, url: str, fresh: bool = True) -> "NotebookPage":
        """Load the front end on `url`, wait for the notebook and an idle kernel; if `fresh`,
        clear old outputs.

        Clearing the stored outputs (Edit > Clear Outputs of All Cells) resets
        every prompt to "[ ]:", so a number in a prompt afterwards proves that
        the cell ran in this session, and widgets found later are live views.
        Not `fresh`: the page joins the kernel the notebook already has (its
        session) and shows the outputs saved with the notebook, whose widget
        views then draw the kernel's live widgets.
        """
        self.page.goto(url)
        expect(self.notebook).to_be_visible(timeout=KERNEL_START_TIMEOUT)
        expect(self.kernel_status()).to_be_visible(timeout=KERNEL_START_TIMEOUT)
        if self.front_end is LAB:
            self.hide_file_browser()
        if fresh:
            self.menu("Edit", "editmenu:clear-all")
            expect(self.notebook.locator(".jp-OutputArea-output")).to_have_count(0)
        return self

    def kernel_status(self) -> Locator:
        """Where the front end says that the notebook's kernel is ready: visible once it is.

        JupyterLab: the status bar's kernel item reading "<kernel name> | Idle";
        not the toolbar's execution indicator, which says "idle" before any kernel
        exists (cells run then are silently dropped). Notebook 7 has no status
        bar: its toolbar once it names a kernel and the indicator is idle (the
        indicator goes "idle" with "No Kernel", "initializing", "connecting",
        then "idle" with the kernel's name).
        """
        if self.front_end is LAB:
            return self.page.locator(".jp-StatusBar-TextItem", has_text=re.compile(
                r"^(?!No Kernel).+ \| Idle$"))
        return (self.page.locator(".jp-NotebookPanel-toolbar")
                .filter(has=self.page.locator(".jp-Notebook-ExecutionIndicator[data-status=idle]"))
                .filter(has=self.page.locator(".jp-KernelName", has_text=re.compile(
                    r"^(?!No Kernel)\S"))))

    def hide_file_browser(self) -> None:
        """Collapse JupyterLab's left sidebar (click its open tab), leaving the notebook the
        whole width."""
        self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
        expect(self.page.locator("#jp-left-stack")).to_be_hidden()

    def save(self) -> None:
        """File > Save, and wait until the served file is rewritten and whole again: it
        then holds this session's outputs, widget views included."""
        before = self.path.stat().st_mtime_ns
        self.menu("File", "docmanager:save")
        deadline = time.monotonic() + RENDER_TIMEOUT / 1000
        while not self._saved_since(before):
            assert time.monotonic() < deadline, f"{self.name} was not saved"
            self.page.wait_for_timeout(100)

    def _saved_since(self, mtime_ns: int) -> bool:
        if self.path.stat().st_mtime_ns == mtime_ns:
            return False
        try:  # the server may be writing it right now
            json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError:
            return False
        return True

    def menu(self, title: str, command: str) -> None:
        """Open `title` in the main menu bar and click its entry bound to `command`."""
        self.page.locator("#jp-MainMenu .lm-MenuBar-item",
                          has_text=re.compile(f"^{title}$")).click()
        self.page.locator(f".lm-Menu li[data-command='{command}']").click()

    def cell(self, index: int) -> Locator:
        return self.notebook.locator(f".jp-Cell[data-windowed-list-index='{index}']")

    def select(self, index: int) -> None:
        """Make code cell `index` the active cell in command mode, as clicking its prompt does."""
        cell = self.cell(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").click()
        expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"))

    def run(self, index: int) -> Locator:
        """Run code cell `index`, not yet run in this session, with Shift+Enter; its output area."""
        assert self.is_code(index), f"{self.name} cell {index} is not a code cell"
        expect(self.cell(index).locator(".jp-InputPrompt")).to_have_text("[ ]:")
        self.select(index)
        self.page.keyboard.press("Shift+Enter")
        self.wait_executed(index)
        return self.outputs(index)

    def run_through(self, index: int) -> Locator:
        """Run the cells above `index` (Run > Run All Above Selected Cell), then `index` itself.

        Returns the output area of cell `index` once every one of these cells
        ran without writing to stderr.
        """
        if index > 0:
            self.select(index)
            self.menu("Run", "notebook:run-all-above")
        outputs = self.run(index)  # the kernel runs cells in order: those above are done
        self.wait_executed_through(index)
        return outputs

    def run_all(self) -> None:
        """Run > Run All Cells, and wait until every code cell ran without writing to stderr."""
        self.menu("Run", "runmenu:run-all")
        self.wait_executed_through(len(self.stored_cells) - 1)

    def wait_executed_through(self, last: int) -> None:
        """Wait for every code cell up to `last` with something to run (empty ones never run)."""
        for index in range(last + 1):
            if self.is_code(index) and self.source(index).strip():
                self.wait_executed(index)

    def wait_executed(self, index: int) -> None:
        """Wait until cell `index` ran; fail with its stderr output (or traceback) if it has any."""
        cell = self.cell(index)
        expect(cell.locator(".jp-InputPrompt")).to_have_text(EXECUTED, timeout=RUN_TIMEOUT)
        errors = cell.locator(STDERR)
        if errors.count():
            raise AssertionError(f"{self.name} cell {index} wrote to stderr or raised:\n"
                                 + "\n".join(errors.all_text_contents()))

    def outputs(self, index: int) -> Locator:
        return self.cell(index).locator(".jp-OutputArea")

    def widget(self, index: int, css_class: str) -> Locator:
        """The widget view with `css_class` in cell `index`'s output, once it rendered."""
        view = self.outputs(index).locator(f".jupyter-widgets.{css_class}").first
        expect(view).to_be_visible(timeout=RENDER_TIMEOUT)
        return view

    def widget_errors(self) -> list[str]:
        """Widget outputs that failed to render ("Error displaying widget ...") or never did.

        Waits first for views still "Loading widget..." (a view of a model the
        front end does not know yet says so until the widget manager gives up).
        """
        outputs = self.notebook.locator(".jp-OutputArea-output")
        loading = outputs.filter(has_text=re.compile(r"^\s*Loading widget\.\.\.\s*$"))
        try:
            expect(loading).to_have_count(0, timeout=RENDER_TIMEOUT)
        except AssertionError:
            return [f"still 'Loading widget...' after {RENDER_TIMEOUT / 1000:.0f} s: "
                    f"{loading.count()} view(s)"]
        return outputs.filter(has_text=re.compile(
            "Error displaying widget|Failed to (load|create) (model|view)")).all_text_contents()

    def screenshot(self, path: Path, focus: Locator | None = None) -> Path:
        """Save what the learner sees, with the top of `focus` at the top of the notebook."""
        if focus is not None:
            focus.evaluate("element => element.scrollIntoView({block: 'start'})")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        return path
