"""Test set-up: headless matplotlib, nothing written to the real home, and
nothing left running or in shared memory after any test."""
import atexit
import multiprocessing
import os
import shutil
import tempfile

import matplotlib
import pytest

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
