"""Reference implementations the tests compare the engine with, and shared helpers."""
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from asynclab.backends.base import worker_streams

SMALL = dict(features=20, examples=300)


def sgd_reference(problem, *, lr, batch, seed, steps, workers=1, momentum=0.0):
    """Plain minibatch SGD: each step uses one minibatch from every worker's
    stream, concatenated (so ``workers`` times the batch). With ``momentum``,
    heavy-ball: velocity = momentum * velocity + lr * gradient, w -= velocity."""
    rngs, _ = worker_streams(seed, workers)
    w = problem.initial_params()
    velocity = np.zeros_like(w)
    for _ in range(steps):
        idx = np.concatenate([problem.sample(rngs[k], batch) for k in range(workers)])
        if momentum:
            velocity = momentum * velocity + lr * problem.gradient(w, idx)
            w = w - velocity
        else:
            w = w - lr * problem.gradient(w, idx)
    return w


def activity_by_worker(result):
    """{worker: [(start, end, kind, version), ...]} of what each worker was doing."""
    out = {}
    for e in result.trace.events:
        if e.kind in ("compute", "pull", "push", "wait") and e.worker >= 0:
            out.setdefault(e.worker, []).append((e.start, e.end, e.kind, e.version))
    return out


def load_build():
    """lessons/build.py as a module (it is a script, not part of the package)."""
    path = Path(__file__).resolve().parents[1] / "lessons" / "build.py"
    spec = importlib.util.spec_from_file_location("lesson_build", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_with_a_fresh_home(script, tmp_path):
    """``python -c script`` with a fresh HOME and TMPDIR and no RAY_* variables
    (as a user's first run); returns (process, home, temp), pipes open in text."""
    home, temp = tmp_path / "home", tempfile.mkdtemp(prefix="alr-", dir="/tmp")
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home), TMPDIR=temp)
    child = subprocess.Popen([sys.executable, "-c", script], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return child, home, temp


def read_until(stream, marker):
    """Read a text stream until ``marker`` has appeared; what was read.
    Fails if the stream ends first."""
    text = ""
    while marker not in text:
        char = stream.read(1)
        assert char, f"the stream ended before {marker!r}: {text}"
        text += char
    return text


def interrupt(child, timeout):
    """Ctrl-C a child process (SIGINT) and wait: it stops with KeyboardInterrupt."""
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=timeout)
    assert child.returncode != 0 and "KeyboardInterrupt" in err, err
