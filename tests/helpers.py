"""Reference implementations the tests compare the engine with, and shared helpers."""
import importlib.util
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
