"""Test set-up: headless matplotlib, nothing written to the real home, and
nothing left running or in shared memory after any test."""
import atexit
import multiprocessing
import os
import shutil
import tempfile

import matplotlib
import pytest

import course_environment

from asynclab.backends.sharedmem import leaked_segments
from asynclab.parallel import close_pool

matplotlib.use("Agg")   # here, not MPLBACKEND: that would leak into notebook kernels

_home = tempfile.mkdtemp(prefix="asynclab-test-home-")
atexit.register(shutil.rmtree, _home, True)
os.environ.setdefault("ASYNCLAB_HOME", _home)
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_home, "matplotlib"))
os.environ.setdefault("ASYNCLAB_HEADLESS", "1")


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """No worker process and no shared-memory segment of this process outlives
    a test, whatever the test did (a run that finished, failed or was stopped)."""
    yield
    close_pool()      # run_many keeps its worker processes for the next call: not across tests
    assert multiprocessing.active_children() == []
    assert leaked_segments(os.getpid()) == []


COURSE_TEST = "test_lessons_nbval.py::test_every_lesson_reproduces_its_stored_outputs"


def pytest_collection_finish(session):
    """Start installing the course command's environment as soon as we know its
    lessons will run (tests/course_environment.py)."""
    if any(COURSE_TEST in item.nodeid for item in session.items):
        course_environment.start()


def pytest_runtest_setup(item):
    """The course's lessons run in the background while browser tests run, and
    only then: any other test first waits for the lesson running to end."""
    lessons = course_environment.started()
    if lessons is not None:
        if item.get_closest_marker("e2e"):
            lessons.run_in_background()
        else:
            lessons.pause()


def pytest_sessionfinish(session):
    course_environment.close()


def pytest_terminal_summary(terminalreporter):
    if course_environment.summary:
        terminalreporter.write_line(course_environment.summary)
