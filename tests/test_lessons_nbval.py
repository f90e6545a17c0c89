"""Every lesson under strict nbval, in the test environment and in the course's.

1. In this environment (the README's test command's), every lesson must run and
   reproduce its stored outputs (pytest --nbval, strictly).
2. The README's course command installs everything the lessons need. A fresh copy
   of the repository gets a fresh virtual environment, built by the set-up part of
   the Quick start's course command exactly as written (everything before it opens
   the front end). In that environment, too, every lesson must reproduce its
   stored outputs: a lesson that imports a package the course command does not
   install (Ray, once) fails here.

Each lesson runs in a pytest of its own, two at a time (this process only waits,
the lessons are independent, and the two cores halve the wait), and the course
environment is installed in the background while part 1 runs. Installing takes
packages from the package index; ASYNCLAB_SKIP_COURSE_INSTALL=1 skips part 2 (for
quick local runs; CI never sets it). One lesson alone:
``python -m pytest --nbval --nbval-current-env lessons/03_asynchronous_updates.ipynb``.
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

SKIP_INSTALL = os.environ.get("ASYNCLAB_SKIP_COURSE_INSTALL") == "1"
pytestmark = [pytest.mark.timeout(1800)]


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


class CourseEnvironment:
    """The course command's set-up, run in the background in a copy of the repository."""

    def __init__(self, tmp_path):
        self.clone = tmp_path / "asynclab"
        for name in repository_files():
            target = self.clone / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
        set_up, self.opens = set_up_part(course_command())
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("VIRTUAL_ENV", "PYTHON", "PIP_REQUIRE"))}
        env["HOME"] = str(tmp_path / "home")
        # "python3" must be this Python's, as on a learner's machine where it is the system one.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.env = env
        self._log = open(tmp_path / "set-up.log", "w+")
        self._set_up = subprocess.Popen(["bash", "-c", set_up], cwd=self.clone, env=env,
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def ready(self) -> Path:
        """Wait for the set-up; the environment's bin folder."""
        status = self._set_up.wait()
        self._log.seek(0)
        assert status == 0, f"the course command's set-up failed:\n{self._log.read()[-4000:]}"
        return self.clone / ".venv" / "bin"

    def close(self):
        if self._set_up.poll() is None:        # a failed or interrupted session
            self._set_up.kill()
            self._set_up.wait()
        self._log.close()


@pytest.fixture(scope="module")
def course_environment(tmp_path_factory):
    """Started before the lessons run here, so that the install overlaps them (None when
    skipped or without a git checkout to copy)."""
    if SKIP_INSTALL or shutil.which("git") is None or not (ROOT / ".git").exists():
        yield None
        return
    started = CourseEnvironment(tmp_path_factory.mktemp("course"))
    try:
        yield started
    finally:
        started.close()


def strict_nbval(python, folder, env, lessons) -> list[str]:
    """Strict nbval of each lesson by ``python`` in ``folder``, two at a time, each in
    its own pytest: the failures, with the end of their report."""
    def validate(name):
        nbval = subprocess.run(
            [str(python), "-m", "pytest", "-q", "--color=no", "-p", "no:cacheprovider",
             "--nbval", "--nbval-current-env", f"lessons/{name}"],
            cwd=folder, env=env, capture_output=True, text=True)
        failure = nbval.stdout[-4000:] + nbval.stderr[-1000:] if nbval.returncode else None
        return name, failure

    with ThreadPoolExecutor(2) as pool:
        return [f"{name}:\n{failure}" for name, failure in pool.map(validate, lessons)
                if failure is not None]


def lesson_names(folder) -> list[str]:
    names = sorted(p.name for p in (folder / "lessons").glob("[0-9][0-9]_*.ipynb"))
    assert names, f"{folder} has the lessons"
    return names


def test_every_lesson_reproduces_its_stored_outputs(course_environment):
    # Each lesson's pytest makes its own throw-away ASYNCLAB_HOME and IPYTHONDIR
    # (lessons/conftest.py), so that two lessons at once share no state.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_CURRENT_TEST", "ASYNCLAB_HOME", "IPYTHONDIR")}
    before = shared_memory()
    failures = strict_nbval(sys.executable, ROOT, env, lesson_names(ROOT))
    assert not failures, "\n\n".join(failures)
    # Nothing left behind: a lesson's kernel closes its pool of worker processes, and
    # their named semaphores with it, before it ends (lessons/conftest.py).
    assert shared_memory() - before == set()


def shared_memory() -> set:
    """The names in /dev/shm (empty where there is none, as on macOS)."""
    folder = Path("/dev/shm")
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@pytest.mark.skipif(SKIP_INSTALL, reason="ASYNCLAB_SKIP_COURSE_INSTALL=1")
def test_the_course_command_installs_what_every_lesson_needs(course_environment):
    if course_environment is None:
        pytest.skip("needs a git checkout to copy")
    venv_bin = course_environment.ready()
    clone, env, opens = course_environment.clone, course_environment.env, course_environment.opens
    front_end = opens.split()[0].split("/")[-1]            # jupyter
    subcommand = opens.split()[1]                          # lab or notebook
    version = subprocess.run([str(venv_bin / front_end), subcommand, "--version"], cwd=clone,
                             env=env, capture_output=True, text=True)
    assert version.returncode == 0, version.stderr
    failures = strict_nbval(venv_bin / "python", clone, env, lesson_names(clone))
    assert not failures, "\n\n".join(failures)
