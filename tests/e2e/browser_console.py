"""What the browser said while a learner used the notebook: console messages and page errors.

Every console error and uncaught page error fails the test, except the noise
listed in NOISE, each entry with the reason it cannot come from asynclab's
widgets. The whole log is saved next to the screenshots for reading after CI.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page


def _request_to_another_host(entry: "Entry", origin: str) -> bool:
    return (entry.text.startswith("Failed to load resource")
            and urlsplit(entry.url).netloc not in ("", urlsplit(origin).netloc))


# Errors Jupyter Notebook 7.6 (with JupyterLab 4.6) throws from its own code while its
# page starts, on any notebook, before a cell runs: the first in its keyboard-shortcut
# settings (it looks up the schema of @jupyterlab/completer-extension:inline-completer,
# which that page never loads), the second when JupyterLab's file-browser restorer asks
# for a command that Notebook 7's notebook page does not register.
NOTEBOOK_7_START_ERRORS = ("TypeError: Cannot read properties of undefined (reading 'schema')",
                           "Error: Command 'filebrowser:open-path' not registered.")


def _notebook_7_start_error(entry: "Entry", origin: str) -> bool:
    return (entry.kind == "pageerror" and entry.text.startswith(NOTEBOOK_7_START_ERRORS)
            and "/static/notebook/notebook_core." in entry.text)


def _font_cached_for_jupyterlab(entry: "Entry", origin: str) -> bool:
    path = urlsplit(entry.url).path
    return ("status of 403" in entry.text
            and path.startswith(("/static/notebook/", "/static/lab/"))
            and path.endswith((".woff", ".woff2", ".ttf", ".eot")))


# Known noise: (why it cannot come from asynclab's widgets, test on an entry).
NOISE = [
    ("a failed request to another host: CI machines have no internet (web fonts, news "
     "feeds), and asynclab's widgets load nothing from outside the JupyterLab server",
     _request_to_another_host),
    ("Jupyter Notebook 7.6's own start-up errors (NOTEBOOK_7_START_ERRORS), thrown from its "
     "notebook_core bundle on any notebook; asynclab has no front-end code",
     _notebook_7_start_error),
    ("a font of one front end refused with 403 after the other front end loaded a font of "
     "the same file name from the same server: jupyter_server's FileFindHandler caches a "
     "file's location by name for every static route, so the second route then finds the "
     "first one's copy outside its own folder (either order: Notebook 7 after JupyterLab, "
     "or JupyterLab after Notebook 7). The tests open both front ends on one server",
     _font_cached_for_jupyterlab),
]


@dataclass(frozen=True)
class Entry:
    kind: str  # a console message type ("error", "warning", "log", ...) or "pageerror"
    text: str
    url: str  # where the message came from ("" when unknown)

    def __str__(self) -> str:
        return f"[{self.kind}] {self.text}" + (f"  ({self.url})" if self.url else "")


class ConsoleLog:
    """Collects a page's console messages and uncaught errors from the moment it is attached."""

    def __init__(self, page: Page, origin: str):
        self.origin = origin  # the JupyterLab server, e.g. http://127.0.0.1:8888
        self.entries: list[Entry] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.entries.append(
            Entry("pageerror", f"{error.name}: {error.message}\n{error.stack or ''}".strip(), "")))

    def _on_console(self, message: ConsoleMessage) -> None:
        self.entries.append(Entry(message.type, message.text, message.location.get("url", "")))

    def is_noise(self, entry: Entry) -> bool:
        return any(test(entry, self.origin) for _, test in NOISE)

    def errors(self) -> list[Entry]:
        """Console errors and page errors that are not known noise."""
        return [entry for entry in self.entries
                if entry.kind in ("error", "pageerror") and not self.is_noise(entry)]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(map(str, self.entries)) + "\n", encoding="utf-8")

    def assert_clean(self) -> None:
        errors = self.errors()
        assert not errors, "errors in the browser console:\n" + "\n".join(map(str, errors))
