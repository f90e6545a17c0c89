"""Every lesson under strict nbval, in the environment the course command makes.

The README's course command installs everything the lessons need. A fresh copy
of the repository gets a fresh virtual environment, built by the set-up part of
the Quick start's course command exactly as written (tests/course_environment.py).
In that environment, the one learners get, every lesson must reproduce its
stored outputs: a lesson that imports a package the course command does not
install (Ray, once) fails here. The set-up starts as soon as collection shows
this test will run, and the lessons run one at a time while the browser tests
run, before this test (tests/course_environment.py says how, and why it is safe).

The test environment runs every lesson too, in the browser
(tests/e2e/test_lessons_render.py); each lesson ran under strict nbval in both
environments until the suite's time had to come down, and the course's is the
one a learner has. Where the course environment cannot be made
(ASYNCLAB_SKIP_COURSE_INSTALL=1, for quick local runs, or no git checkout to
copy), the lessons run under strict nbval in this environment instead.

Each lesson runs in a pytest of its own; those the browser tests left are run
here two at a time (this process only waits, the lessons are independent, and
the two cores halve the wait). One lesson alone:
``python -m pytest --nbval --nbval-current-env lessons/03_asynchronous_updates.ipynb``.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import course_environment as course
from course_environment import (ROOT, StrictNbval, course_command, lesson_names, set_up_part,
                                shared_memory)

pytestmark = [pytest.mark.timeout(1800)]


def test_split_of_the_course_command():
    set_up, opens = set_up_part(course_command())
    assert set_up.startswith("python3 -m venv .venv && ") and "pip install" in set_up
    assert opens.startswith(".venv/bin/jupyter ")


def test_every_lesson_reproduces_its_stored_outputs_in_the_course_environment():
    started = course.start()       # started at collection, normally: this waits for it
    if started is None:            # skipped or no checkout: this environment instead
        before = shared_memory()
        failures = StrictNbval(sys.executable, ROOT, os.environ).lessons(lesson_names(ROOT))
    else:
        before = started.shared_memory_before
        venv_bin = started.ready()
        started.pause()            # the lessons it ran while the browser tests ran
        front_end = started.opens.split()[0].split("/")[-1]            # jupyter
        subcommand = started.opens.split()[1]                          # lab or notebook
        version = subprocess.run([str(venv_bin / front_end), subcommand, "--version"],
                                 cwd=started.clone, env=started.env, capture_output=True,
                                 text=True)
        assert version.returncode == 0, version.stderr
        left = [name for name in lesson_names(started.clone) if name not in started.done]
        started.done.update(started.nbval.lessons(left))
        failures = started.done
    failed = [f"{name}:\n{failure}" for name, failure in sorted(failures.items()) if failure]
    assert not failed, "\n\n".join(failed)
    # Nothing left behind: a lesson's kernel closes its pool of worker processes, and
    # their named semaphores with it, before it ends (lessons/conftest.py).
    left_behind = shared_memory() - before
    assert not left_behind, f"left in /dev/shm by a lesson's kernel or a test: {left_behind}"
