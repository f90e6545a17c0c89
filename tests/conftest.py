"""Test set-up: headless matplotlib, and nothing written to the real home."""
import os
import tempfile

import matplotlib

matplotlib.use("Agg")   # here, not MPLBACKEND: that would leak into notebook kernels

_home = tempfile.mkdtemp(prefix="asynclab-test-home-")
os.environ.setdefault("ASYNCLAB_HOME", _home)
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_home, "matplotlib"))
os.environ.setdefault("ASYNCLAB_HEADLESS", "1")
