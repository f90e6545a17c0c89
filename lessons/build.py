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
import hashlib
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
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
MAX_BYTES = 1_500_000      # keep notebooks light in git
CELL_TIMEOUT = 300         # seconds


def lesson_sources(selected):
    sources = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    if not selected:
        return sources
    bad = [n for n in selected if not n.isdigit()]
    if bad:
        raise ValueError(f"lesson numbers look like 03, got {bad[0]!r}")
    wanted = {f"{int(n):02d}" for n in selected}
    chosen = [s for s in sources if s.name[:2] in wanted]
    missing = wanted - {s.name[:2] for s in chosen}
    if missing:
        raise ValueError(f"no source for lesson {', '.join(sorted(missing))} in {SOURCES} "
                         f"(have {', '.join(s.name[:2] for s in sources)})")
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


def stable_id(cell, seen):
    """A cell id from the cell's content, so rebuilding an unchanged lesson changes nothing."""
    digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
    cell_id, n = digest, 1
    while cell_id in seen:
        n += 1
        cell_id = f"{digest}-{n}"
    seen.add(cell_id)
    return cell_id


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


def build(source: Path, root: Path, out_dir: Path = HERE) -> Path:
    """Execute ``source`` into ``out_dir/<same name>.ipynb``; on any error nothing is written."""
    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(HERE)}}, record_timing=False)
    client.execute()
    seen = set()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.id = stable_id(cell, seen)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    nb.metadata.pop("widgets", None)
    text = nbformat.writes(nb)
    if str(root) in text:
        raise SystemExit(f"build.py: {source.name}: an output shows the build's temporary "
                         f"directory {root}; print something that does not depend on it")
    size = len(text.encode())
    if size > MAX_BYTES:
        raise SystemExit(f"build.py: {source.name} would make a {size / 1e6:.2f} MB notebook; "
                         f"the limit is {MAX_BYTES / 1e6} MB (smaller or fewer figures)")
    target = out_dir / f"{source.stem}.ipynb"
    target.write_text(text, encoding="utf-8")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers, e.g. 03 (default: all)")
    args = parser.parse_args(argv)
    try:
        sources = lesson_sources(args.lessons)
    except ValueError as err:
        parser.error(str(err))
    with clean_environment() as root:
        for source in sources:
            start = time.perf_counter()
            try:
                target = build(source, root)
            except CellExecutionError as err:
                raise SystemExit(f"build.py: {source.name}: a cell failed; nothing written.\n{err}")
            print(f"{target.name}: {target.stat().st_size / 1e3:.0f} kB, "
                  f"executed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
