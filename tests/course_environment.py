"""The course command's environment, made as a learner's machine makes it, and
every lesson run in it under strict nbval.

A fresh copy of the repository gets a fresh virtual environment, built by the
set-up part of the Quick start's course command exactly as written (everything
before it opens the front end). tests/test_lessons_nbval.py checks that every
lesson reproduces its stored outputs there.

That is about a minute of installing and five of lessons, so tests/conftest.py
starts it early: the install as soon as collection shows the test will run
(:func:`start`), and the lessons, one at a time, while the browser tests run
(:meth:`CourseLessons.run_in_background`). The browser tests use about one of
the machine's two cores and assert no timing, so the lessons take the other.
Before any other test starts, the background stops after the lesson it is
running (:meth:`CourseLessons.pause`): the engine's timing tests never share the
machine with a lesson. The test runs what is left, two at a time.

Set ASYNCLAB_SKIP_COURSE_INSTALL=1 to skip the install (quick local runs; CI
never sets it).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONT_END = re.compile(r"\.venv/bin/jupyter (lab|notebook)\b")
SKIP_INSTALL = os.environ.get("ASYNCLAB_SKIP_COURSE_INSTALL") == "1"
# Each lesson's pytest makes its own throw-away ASYNCLAB_HOME and IPYTHONDIR
# (lessons/conftest.py), so that two lessons at once share no state.
NOT_INHERITED = ("PYTEST_CURRENT_TEST", "ASYNCLAB_HOME", "IPYTHONDIR")
STOP_GRACE = 30     # seconds a stopped lesson's pytest has to shut its kernel down

_started = None     # the one CourseLessons of this test session, once started
summary = None      # what it did, said at the end of the session (tests/conftest.py)


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


def lesson_names(folder) -> list[str]:
    names = sorted(p.name for p in (Path(folder) / "lessons").glob("[0-9][0-9]_*.ipynb"))
    assert names, f"{folder} has the lessons"
    return names


def shared_memory() -> set:
    """The names in /dev/shm (empty where there is none, as on macOS)."""
    folder = Path("/dev/shm")
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


class StrictNbval:
    """Strict nbval of lessons by ``python`` in ``folder``, each in a pytest of its own."""

    def __init__(self, python, folder, env):
        self.python, self.folder = Path(python), Path(folder)
        self.env = {k: v for k, v in env.items() if k not in NOT_INHERITED}
        self._running = set()          # the pytest processes now running
        self._lock = threading.Lock()  # guards _running (two threads run lessons)

    def lesson(self, name) -> str | None:
        """Run one lesson: None if it passed, else the end of its report."""
        nbval = subprocess.Popen(
            [str(self.python), "-m", "pytest", "-q", "--color=no", "-p", "no:cacheprovider",
             "--nbval", "--nbval-current-env", f"lessons/{name}"],
            cwd=self.folder, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        with self._lock:
            self._running.add(nbval)
        try:
            out, err = nbval.communicate()
        finally:
            with self._lock:
                self._running.discard(nbval)
        return out[-4000:] + err[-1000:] if nbval.returncode else None

    def lessons(self, names, at_once=2) -> dict[str, str | None]:
        """Run these lessons, ``at_once`` at a time: each one's failure or None."""
        with ThreadPoolExecutor(at_once) as pool:
            return dict(zip(names, pool.map(self.lesson, names)))

    def stop(self):
        """Stop the lessons still running (an interrupted session) as Ctrl-C would:
        each lesson's pytest then shuts its kernel down, which closes the lesson's
        worker processes; killed if it has not ended within STOP_GRACE seconds."""
        with self._lock:
            running = list(self._running)
        for process in running:
            process.send_signal(signal.SIGINT)
        for process in running:
            try:
                process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()


class CourseLessons:
    """The course command's set-up, run in the background in a copy of the repository
    under a temporary folder of its own (removed by :meth:`close`), and the lessons
    run there so far."""

    def __init__(self):
        self.shared_memory_before = shared_memory()
        self.folder = Path(tempfile.mkdtemp(prefix="asynclab-course-"))
        self.clone = self.folder / "asynclab"
        for name in repository_files():
            target = self.clone / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
        set_up, self.opens = set_up_part(course_command())
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("VIRTUAL_ENV", "PYTHON", "PIP_REQUIRE"))}
        env["HOME"] = str(self.folder / "home")
        # "python3" must be this Python's, as on a learner's machine where it is the system one.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.env = env
        self.nbval = StrictNbval(self.clone / ".venv" / "bin" / "python", self.clone, env)
        self.done: dict[str, str | None] = {}    # lesson -> its failure or None, so far
        self.in_background = 0         # of them, run while browser tests ran
        self._log = open(self.folder / "set-up.log", "w+")
        self._set_up = subprocess.Popen(["bash", "-c", set_up], cwd=self.clone, env=env,
                                        stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)   # its own process group
        self._background = None        # the thread running lessons while browser tests run
        self._stop = threading.Event()   # set: start no further lesson in the background
        self._closing = False            # the session ends: lessons running are stopped

    def ready(self) -> Path:
        """Wait for the set-up; the environment's bin folder."""
        status = self._set_up.wait()
        self._log.seek(0)
        assert status == 0, f"the course command's set-up failed:\n{self._log.read()[-4000:]}"
        return self.clone / ".venv" / "bin"

    def run_in_background(self):
        """Run the lessons one at a time in a thread, from now until :meth:`pause`."""
        if self._background is None and not self._stop.is_set():
            self._background = threading.Thread(target=self._run_lessons, daemon=True)
            self._background.start()

    def _run_lessons(self):
        if self._set_up.wait() != 0:
            return                     # the test reports the failed set-up
        for name in lesson_names(self.clone):
            if self._stop.is_set():
                return
            failure = self.nbval.lesson(name)
            if self._closing:
                return                 # stopped halfway: no verdict
            self.done[name] = failure
            self.in_background += 1

    def stop_install(self):
        """Kill the set-up if it still runs: bash, pip and all (its process group)."""
        if self._set_up.poll() is None:
            os.killpg(self._set_up.pid, signal.SIGKILL)
            self._set_up.wait()

    def pause(self):
        """Start no further lesson in the background; wait for the one running."""
        self._stop.set()
        if self._background is not None:
            self._background.join()

    def close(self):
        """Stop whatever still runs (an interrupted session), then remove the copy."""
        self._closing = True
        self._stop.set()
        self.stop_install()
        self.nbval.stop()
        if self._background is not None:
            self._background.join()
        self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def has_checkout() -> bool:
    """True in a git checkout with git at hand: what the copy is made from."""
    return shutil.which("git") is not None and (ROOT / ".git").exists()


def can_install() -> bool:
    """False when skipped, or without a git checkout to copy."""
    return not SKIP_INSTALL and has_checkout()


def start() -> CourseLessons | None:
    """The session's course environment, its set-up started on the first call
    (None if it cannot be installed here)."""
    global _started
    if _started is None and can_install():
        _started = CourseLessons()
    return _started


def started() -> CourseLessons | None:
    return _started


def close():
    """Stop what still runs and remove the copy (end of the session)."""
    global _started, summary
    if _started is not None:
        _started.close()
        ran = len(_started.done)
        summary = (f"course environment: {ran} lesson{'s' * (ran != 1)} under strict nbval, "
                   f"{_started.in_background} of them beside the browser tests")
        _started = None
