"""Where the tests find things in the stored lessons (read as JSON, never modified)."""
from __future__ import annotations

import json
import re
from pathlib import Path

LESSONS = Path(__file__).resolve().parents[2] / "lessons"


def lesson_notebooks() -> list[str]:
    """File names of the numbered lessons, in order (00_welcome.ipynb, ...)."""
    return sorted(path.name for path in LESSONS.glob("[0-9][0-9]_*.ipynb"))


def lesson(number: int) -> str:
    """The file name of lesson `number`."""
    names = [name for name in lesson_notebooks() if name.startswith(f"{number:02d}_")]
    assert names, f"no lesson {number:02d}_*.ipynb in {LESSONS}"
    return names[0]


def lesson_calling(function: str, prefer: int) -> str:
    """The lesson whose code calls `function(`, lesson `prefer` first, then in order."""
    names = lesson_notebooks()
    names.sort(key=lambda name: not name.startswith(f"{prefer:02d}_"))
    call = re.compile(rf"\b{function}\(")
    for name in names:
        cells = json.loads((LESSONS / name).read_text(encoding="utf-8"))["cells"]
        if any(cell["cell_type"] == "code" and call.search("".join(cell["source"]))
               for cell in cells):
            return name
    raise AssertionError(f"no lesson calls {function}(")
