"""The harness that makes the course command's environment leaves nothing behind
when a session ends early (tests/course_environment.py)."""
import os
import time

import pytest

from course_environment import CourseLessons, can_install, has_checkout, repository_files


def group_alive(group, within):
    """Whether process group ``group`` still has a process after ``within`` seconds
    (a killed process lingers until it is reaped)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.skipif(not can_install(), reason="needs a git checkout and the install")
def test_a_session_ended_during_the_install_leaves_no_process_and_no_copy():
    lessons = CourseLessons()
    group, folder = lessons._set_up.pid, lessons.folder
    try:
        deadline = time.monotonic() + 30
        while not (lessons.clone / ".venv").exists():      # python3 -m venv has begun
            assert time.monotonic() < deadline and lessons._set_up.poll() is None
            time.sleep(0.1)
        lessons.run_in_background()          # waits for the install, which never ends
        lessons.stop_install()
        assert not group_alive(group, within=2)    # pip too, not just the shell that started it
    finally:
        lessons.close()
    assert not folder.exists()
    assert lessons.done == {} and lessons.in_background == 0


@pytest.mark.skipif(not has_checkout(), reason="needs a git checkout")
def test_the_copy_holds_what_a_fresh_clone_holds():
    # The README and the lessons at least; nothing git ignores (this checkout's .venv).
    files = repository_files()
    assert "README.md" in files and "pyproject.toml" in files
    assert any(name.startswith("lessons/") and name.endswith(".ipynb") for name in files)
    assert not any(name.startswith(".venv/") for name in files)
