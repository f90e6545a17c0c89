"""The README's course command installs everything the lessons need.

A fresh copy of the repository gets a fresh virtual environment, built by the
set-up part of the Quick start's course command exactly as written (everything
before it opens the front end). In that environment every lesson must run
under strict nbval and reproduce its stored outputs: a lesson that imports a
package the course command does not install (Ray, once) fails here.

This test installs packages from the package index, so it takes a few
minutes; it is skipped when ASYNCLAB_SKIP_COURSE_INSTALL=1 (for quick local runs;
CI never sets it).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRONT_END = re.compile(r"\.venv/bin/jupyter (lab|notebook)\b")

pytestmark = [pytest.mark.timeout(1800),
              pytest.mark.skipif(os.environ.get("ASYNCLAB_SKIP_COURSE_INSTALL") == "1",
                                 reason="ASYNCLAB_SKIP_COURSE_INSTALL=1")]


def course_command() -> str:
    """The Quick start's one-line command that sets up and opens the course."""
    lines = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    found = [line for line in lines if line.startswith("python3 -m venv") and FRONT_END.search(line)]
    assert len(found) == 1, "the README's Quick start has exactly one course command"
    return found[0]


def set_up_part(command: str) -> tuple[str, str]:
    """(the commands before the front end starts, the front-end command)."""
    steps = command.split(" && ")
    opens = next(i for i, step in enumerate(steps) if FRONT_END.search(step))
    assert opens > 0 and opens == len(steps) - 1, "the front end is opened last"
    return " && ".join(steps[:opens]), steps[opens]


def repository_files() -> list[str]:
    """What a fresh clone holds: tracked files, plus new ones not ignored (work in progress)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [name for name in out.splitlines() if (ROOT / name).is_file()]


def test_split_of_the_course_command():
    set_up, opens = set_up_part(course_command())
    assert set_up.startswith("python3 -m venv .venv && ") and "pip install" in set_up
    assert opens.startswith(".venv/bin/jupyter ")


def test_the_course_command_installs_what_every_lesson_needs(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy")
    clone = tmp_path / "asynclab"
    for name in repository_files():
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    set_up, opens = set_up_part(course_command())
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIRTUAL_ENV", "PYTHON", "PIP_REQUIRE"))}
    env["HOME"] = str(tmp_path / "home")
    # "python3" must be this Python's, as on a learner's machine where it is the system one.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    subprocess.run(["bash", "-c", set_up], cwd=clone, env=env, check=True,
                   stdout=subprocess.DEVNULL)

    venv_bin = clone / ".venv" / "bin"
    front_end = opens.split()[0].split("/")[-1]            # jupyter
    subcommand = opens.split()[1]                          # lab or notebook
    version = subprocess.run([str(venv_bin / front_end), subcommand, "--version"], cwd=clone,
                             env=env, capture_output=True, text=True)
    assert version.returncode == 0, version.stderr

    lessons = sorted(p.name for p in (clone / "lessons").glob("[0-9][0-9]_*.ipynb"))
    assert lessons, "the copy has the lessons"

    def validate(name):
        """Strict nbval of one lesson in the course's environment: (name, failure or None)."""
        nbval = subprocess.run(
            [str(venv_bin / "python"), "-m", "pytest", "-q", "--color=no", "-p",
             "no:cacheprovider", "--nbval", "--nbval-current-env", f"lessons/{name}"],
            cwd=clone, env=env, capture_output=True, text=True)
        failure = nbval.stdout[-4000:] + nbval.stderr[-1000:] if nbval.returncode else None
        return name, failure

    # Two lessons at a time, each in its own pytest: this process only waits, and the
    # lessons are independent, so the two cores halve the wait.
    with ThreadPoolExecutor(2) as pool:
        failures = [f"{name}:\n{failure}" for name, failure in pool.map(validate, lessons)
                    if failure is not None]
    assert not failures, "\n\n".join(failures)
