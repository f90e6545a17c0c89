"""Build the lesson notebooks from their text sources, executing them top to bottom.

    python lessons/build.py          # every lesson in lessons/src/
    python lessons/build.py 03 04    # only these

Each ``lessons/src/NN_name.py`` (jupytext percent format: the single source
of truth, reviewed as text) becomes ``lessons/NN_name.ipynb`` with its outputs,
executed by this Python's own kernel. The kernel runs with a throw-away HOME,
IPYTHONDIR, MPLCONFIGDIR, JUPYTER_PATH and ASYNCLAB_HOME, and with
ASYNCLAB_HEADLESS=1, so nothing of the builder's machine ends up in the
outputs and widgets are stored as their text and static-figure form (a
learner who runs a cell gets the live widgets). The stored outputs are what
``pytest --nbval`` compares; see lessons/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
MAX_BYTES = 1_500_000      # keep notebooks light in git
CELL_TIMEOUT = 300         # seconds


def lesson_sources(selected):
    sources = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    if not selected:
        return sources
    chosen = [s for s in sources if s.name[:2] in {f"{int(n):02d}" for n in selected}]
    missing = {f"{int(n):02d}" for n in selected} - {s.name[:2] for s in chosen}
    if missing:
        raise SystemExit(f"build.py: no source for lesson {', '.join(sorted(missing))} in "
                         f"{SOURCES} (have {', '.join(s.name[:2] for s in sources)})")
    return chosen


@contextmanager
def clean_environment():
    """Temporary home directories and a kernelspec for this very Python."""
    root = Path(tempfile.mkdtemp(prefix="asynclab-build-"))
    saved = dict(os.environ)
    try:
        env = {name: str(root / name.lower()) for name in
               ("HOME", "IPYTHONDIR", "MPLCONFIGDIR", "JUPYTER_PATH", "ASYNCLAB_HOME")}
        for path in env.values():
            os.makedirs(path)
        spec = Path(env["JUPYTER_PATH"]) / "kernels" / "python3"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)", "language": "python"}))
        os.environ.update(env, ASYNCLAB_HEADLESS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
        os.environ.pop("MPLBACKEND", None)       # it would replace the inline figures
        # Build matplotlib's font cache now, so no "building the font cache" warning
        # lands in a notebook's output.
        subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], check=True,
                       capture_output=True)
        yield root
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)


def coalesce_streams(outputs):
    """Join consecutive prints to the same stream (how a kernel splits them varies)."""
    joined = []
    for out in outputs:
        if (out.output_type == "stream" and joined and joined[-1].output_type == "stream"
                and joined[-1].name == out.name):
            joined[-1].text += out.text
        else:
            joined.append(out)
    return joined


def build(source: Path, root: Path) -> Path:
    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(HERE)}}, record_timing=False)
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    nb.metadata.pop("widgets", None)
    text = nbformat.writes(nb)
    if str(root) in text:
        raise SystemExit(f"build.py: {source.name}: an output shows the build's temporary "
                         f"directory {root}; print something that does not depend on it")
    target = HERE / f"{source.stem}.ipynb"
    target.write_text(text, encoding="utf-8")
    if len(text.encode()) > MAX_BYTES:
        raise SystemExit(f"build.py: {target.name} is {len(text.encode()) / 1e6:.2f} MB; "
                         f"the limit is {MAX_BYTES / 1e6} MB (smaller or fewer figures)")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers, e.g. 03 (default: all)")
    args = parser.parse_args(argv)
    sources = lesson_sources(args.lessons)
    with clean_environment() as root:
        for source in sources:
            start = time.perf_counter()
            target = build(source, root)
            print(f"{target.relative_to(HERE.parent)}: {target.stat().st_size / 1e3:.0f} kB, "
                  f"executed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
