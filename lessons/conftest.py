"""nbval set-up for the lessons: the headless, throw-away environment the build uses.

The notebooks were executed by lessons/build.py with ASYNCLAB_HEADLESS=1 and a
fresh ASYNCLAB_HOME; the same settings here make nbval's kernel print the
same text (quizzes and dashboards in their headless form) without reading or
writing the real home. Values already set (tests/conftest.py, CI) are kept.
nbval masks the PNG pictures inside HTML outputs with nbval-sanitize.cfg.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from nbval.kernel import RunningKernel

_scratch = tempfile.mkdtemp(prefix="asynclab-lessons-")
os.environ.setdefault("ASYNCLAB_HEADLESS", "1")
os.environ.setdefault("ASYNCLAB_HOME", os.path.join(_scratch, "asynclab"))
os.environ.setdefault("IPYTHONDIR", os.path.join(_scratch, "ipython"))

# Build matplotlib's font cache where the kernels will look for it (their
# MPLCONFIGDIR, which may be a fresh temporary one) before any kernel starts, so
# a kernel never prints "Matplotlib is building the font cache" into an output.
# A subprocess, because this process may have fixed its own config dir already.
subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=True,
               capture_output=True, env=os.environ.copy())


SANITIZE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbval-sanitize.cfg")


def _stop_asking_first(self):
    """nbval ends each notebook's kernel at once (SIGKILL to its process group). A
    lesson that ran experiments with jobs > 1 keeps a pool of worker processes,
    whose named semaphores the kernel's resource tracker would remove as the kernel
    exits; killed with it, they stay in /dev/shm (five per lesson). Asked to shut
    down, the kernel closes its pool first; it is still killed if it does not exit
    within jupyter_client's grace period."""
    self.kc.stop_channels()
    self.km.shutdown_kernel(now=False)
    del self.km


RunningKernel.stop = _stop_asking_first


def pytest_configure(config):
    """Give nbval the sanitize file, by absolute path: it works from any directory pytest
    is started in (a relative path in pyproject's addopts would not). A file given on
    the command line wins."""
    if getattr(config.option, "nbval_sanitize_with", "") is None:
        config.option.nbval_sanitize_with = SANITIZE


def pytest_unconfigure(config):
    shutil.rmtree(_scratch, ignore_errors=True)
