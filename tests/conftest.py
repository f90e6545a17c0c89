"""Test set-up: headless matplotlib, and nothing written to the real home."""
import atexit
import os
import shutil
import tempfile

import matplotlib

matplotlib.use("Agg")   # here, not MPLBACKEND: that would leak into notebook kernels

_home = tempfile.mkdtemp(prefix="asynclab-test-home-")
atexit.register(shutil.rmtree, _home, True)
os.environ.setdefault("ASYNCLAB_HOME", _home)
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_home, "matplotlib"))
os.environ.setdefault("ASYNCLAB_HEADLESS", "1")
