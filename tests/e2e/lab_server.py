"""A throw-away JupyterLab server for browser tests (it serves Jupyter Notebook 7 too).

The server runs with the current interpreter on 127.0.0.1, on a free port,
behind a random token, in its own process group, with every directory Jupyter,
IPython, matplotlib and asynclab write to pointed into one temporary directory.
It serves a copy of the notebooks, so tests never modify the stored lessons.
`stop()` always leaves nothing behind: the server, its kernels and anything the
kernels started are terminated, and the temporary directory is removed.
"""
from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil  # a dependency of ipykernel, so always present next to JupyterLab

START_TIMEOUT = 90.0  # seconds; a loaded 2-core machine needs ~5-20 s
STOP_TIMEOUT = 15.0  # seconds to wait for a graceful shutdown before SIGKILL

# User settings that keep the browser session quiet and predictable: no news
# or update pop-ups covering the notebook, no autosave racing the tests.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {
        "autosave": False},
}


def _die_with_parent() -> None:
    """In the server's process before exec: die with the test process, even when that is killed
    with SIGKILL (Linux prctl PDEATHSIG). SIGKILL because a SIGTERM arriving while a kernel
    starts can leave the server hanging in its shutdown; its kernels then exit on their own
    (ipykernel polls its parent and quits when it changes)."""
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """A port nobody listens on right now (the server is told not to retry others)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PortTaken(Exception):
    """The server could not bind its port (another process took it after we chose it)."""


class LabServer:
    """JupyterLab serving a temporary copy of `notebooks` (a directory), set up in `workdir`."""

    def __init__(self, notebooks: Path, repo_root: Path, workdir: Path):
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.scratch = Path(tempfile.mkdtemp(prefix="lab-", dir=workdir))
        self.root = self.scratch / "lessons"
        shutil.copytree(notebooks, self.root,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        self.home = self.scratch / "home"  # HOME of the server and its kernels
        self.asynclab_home = self.home / ".asynclab"  # where the learner's quiz answers go
        self.log_path = self.scratch / "jupyter-lab.log"
        self.repo_root = repo_root
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict:
        """The environment of the server and its kernels: every home-like directory is temporary."""
        home = self.home
        dirs = {
            "HOME": home, "JUPYTER_CONFIG_DIR": home / ".jupyter",
            "JUPYTER_DATA_DIR": home / ".local/share/jupyter",
            "JUPYTER_RUNTIME_DIR": home / "runtime", "IPYTHONDIR": home / ".ipython",
            "MPLCONFIGDIR": home / ".matplotlib", "ASYNCLAB_HOME": self.asynclab_home,
            "JUPYTERLAB_SETTINGS_DIR": home / "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": home / "lab-workspaces",
        }
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        for name, settings in LAB_SETTINGS.items():
            target = dirs["JUPYTERLAB_SETTINGS_DIR"] / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(settings))
        env = {k: v for k, v in os.environ.items()
               # MPLBACKEND=Agg would remove the inline figures the tests look at;
               # ASYNCLAB_HEADLESS would replace the widgets with text.
               if k not in ("MPLBACKEND", "ASYNCLAB_HEADLESS", "JUPYTER_PATH", "JUPYTER_TOKEN")}
        env.update({k: str(v) for k, v in dirs.items()})
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        # The kernels import asynclab from the checkout under test.
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(self.repo_root), os.environ.get("PYTHONPATH")]))
        return env

    def start(self) -> "LabServer":
        """Start the server and wait until it answers; another free port if ours was taken."""
        for _ in range(3):
            self._launch()
            try:
                self._wait_until_ready()
                return self
            except PortTaken:  # someone bound "our" free port before the server did
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"JupyterLab found no free port:\n{self.log_tail()}")

    def _launch(self) -> None:
        command = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}", "--ServerApp.open_browser=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=self.environment(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)

    def _wait_until_ready(self) -> None:
        """Poll /api/status until the server answers; fail with its log if it dies or hangs."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "already in use" in self.log_tail():
                    raise PortTaken(self.port)
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.api_url("status"), timeout=5) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within "
                           f"{START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def api_url(self, path: str) -> str:
        return f"{self.url}/api/{path}?token={self.token}"

    def api(self, method: str, path: str):
        """One REST call to the server; the decoded JSON reply (None when empty)."""
        request = urllib.request.Request(self.api_url(path), method=method)
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End every notebook session and kernel, so the next test starts from a fresh kernel."""
        for session in self.api("GET", "sessions"):
            self.api("DELETE", f"sessions/{session['id']}")
        for kernel in self.api("GET", "kernels"):
            self.api("DELETE", f"kernels/{kernel['id']}")

    def lab_url(self, notebook: str) -> str:
        """The JupyterLab page with `notebook` (relative to the served root) open."""
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"

    def notebook_url(self, notebook: str) -> str:
        """The Jupyter Notebook 7 page of `notebook` (the same server serves both front ends)."""
        return f"{self.url}/notebooks/{notebook}?token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self, keep_log: Path | None = None) -> None:
        """Terminate the server, its kernels and their children; remove the scratch directory
        (after copying the server's log to `keep_log`, if given).

        Kernels run in their own sessions (jupyter_client starts them with
        setsid), so killing the server's process group alone would orphan them:
        collect every descendant first, ask politely, then SIGKILL survivors.
        """
        if self.process is not None and self.process.poll() is None:
            try:
                family = [psutil.Process(self.process.pid)]
                family += family[0].children(recursive=True)
            except psutil.NoSuchProcess:
                family = []
            try:  # SIGTERM: the server shuts its kernels down cleanly
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            _, alive = psutil.wait_procs(family, timeout=STOP_TIMEOUT)
            for proc in alive:
                try:
                    proc.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(alive, timeout=STOP_TIMEOUT)
            self.process.wait(timeout=STOP_TIMEOUT)
        if keep_log is not None and self.log_path.exists():
            keep_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.log_path, keep_log)
        shutil.rmtree(self.scratch, ignore_errors=True)
