"""Independent runs, one after another or in worker processes: ``run_many``.

A simulated run is a pure function of its Config, so several of them (other
seeds, other learning rates, other policies) can run at the same time in
worker processes and give the same numbers, bit for bit, as running them here
one by one. ``tune`` and ``compare`` send all their runs through this one
function, so ``jobs=`` means the same everywhere.

The worker processes are *spawned* (fresh interpreters), never forked: forking
a Jupyter kernel, which runs threads, can deadlock. A spawned process imports
what it runs, so a Config must refer only to importable code. A problem class
defined in a notebook (module ``__main__`` without a file) cannot be imported
there; such runs, and runs on real backends (whose wall-clock timings would
disturb each other), run here one after another, and a warning says why.

The worker processes are kept for the next call with the same ``jobs``, so a
session (a notebook that tunes several times, say) starts them once, not once
per call: spawning them costs about a second, more than many small batches take.
They end with the session, or at once with :func:`close_pool`; a failed or
interrupted batch ends them too. A worker process keeps the data of the last
few problems it ran (:data:`KEPT_PROBLEMS`), so runs of one problem do not each
generate or load it again.

Progress: a batch of runs whose Configs ask for a bar (``progress``) shows
one bar over the batch, counting finished runs, instead of one per run.
"""
from __future__ import annotations

import atexit
import contextlib
import dataclasses
import io
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from . import limits
from .backends import get_backend
from .backends.base import new_bar
from .config import Config, _number

__all__ = ["run_many", "seed_list", "close_pool"]

KEPT_PROBLEMS = 4     # problems (with their data) a worker process keeps between runs
_pool = None          # (jobs, ProcessPoolExecutor) kept for the next call (see the docstring)
_kept = {}            # in a worker process: problem -> the same problem, its data generated


def seed_list(config, seeds, *, first=None, name="seeds") -> list:
    """The seeds ``seeds`` stands for: a count K means ``first`` .. ``first + K - 1``
    (``first`` defaults to ``config.seed``); a list of whole numbers is taken as it
    is. ``name`` is the argument's name in error messages."""
    if isinstance(seeds, (list, tuple, range)):
        if not seeds:
            raise ValueError(f"{name} must not be an empty list")
        return [_number("seed", s, low=0, integer=True) for s in seeds]
    count = _number(name, seeds, low=1, integer=True)
    if count > limits.MAX_RUNS:
        raise ValueError(f"{name} must be at most {limits.MAX_RUNS:,}, got {count:,}")
    first = config.seed if first is None else first
    return [first + k for k in range(count)]


def check_jobs(jobs) -> int:
    return _number("jobs", jobs, low=1, integer=True)


def run_many(configs, *, seeds=None, jobs=1) -> list:
    """Run each Config (with each of ``seeds``, if given) and return the Results in order.

    ``configs`` is a Config or a list of them; ``seeds`` a count or a list (see
    ``seed_list``); the runs of one Config come together, seed by seed.
    ``jobs`` > 1 runs up to that many at once in spawned worker processes.
    """
    configs = [configs] if isinstance(configs, Config) else list(configs)
    if seeds is not None:
        configs = [c.replace(seed=s) for c in configs for s in seed_list(c, seeds)]
    jobs = check_jobs(jobs)
    limits.check_batch(configs)
    if len(configs) < 2:
        return [_run_one(c) for c in configs]      # one run: its own bar, over its gradients
    reason = None if jobs == 1 else _why_not_in_processes(configs)
    if reason:
        warnings.warn(f"jobs={jobs}: {reason}; running the {len(configs)} runs one after "
                      "another in this process instead", RuntimeWarning, stacklevel=2)
    shown = next((c.progress for c in configs if c.progress), False)
    bar = new_bar(shown, total=len(configs), desc=f"{len(configs)} runs", unit="run")
    quiet = [c.replace(progress=False) for c in configs] if bar is not None else configs
    try:
        if jobs == 1 or reason:
            results = []
            for config in quiet:
                results.append(_run_one(config))
                _tick(bar)
        else:
            results = _in_processes(quiet, jobs, bar)
    finally:
        if bar is not None:
            bar.close()
    if bar is None:
        return results
    # The Results carry the Configs as given (the runs ran without their own bars).
    return [dataclasses.replace(r, config=c) for r, c in zip(results, configs)]


def _tick(bar):
    if bar is not None:
        bar.update(1)


def _in_processes(configs, jobs, bar):
    pool = _pool_of(jobs)
    try:
        with _spawned_ignoring_interrupts():
            futures = [pool.submit(_run_kept, c) for c in configs]
        for done in as_completed(futures):
            done.result()                  # a failed run raises here, as soon as it fails
            _tick(bar)
        return [f.result() for f in futures]
    except BrokenProcessPool:
        close_pool()
        raise RuntimeError(
            "a worker process stopped before its runs were done (a script that runs "
            "experiments with jobs > 1 must start them under `if __name__ == '__main__':`; "
            "a process can also be killed, e.g. when memory runs out)") from None
    except KeyboardInterrupt:     # stop now: the runs under way are ended, not awaited
        close_pool(now=True)
        raise
    except BaseException:         # a failed run: drop the runs not started
        close_pool()
        raise


def _pool_of(jobs):
    """The worker processes of ``jobs`` (started now if they are not kept already)."""
    global _pool
    if _pool is not None and _pool[0] != jobs:
        close_pool()
    if _pool is None:
        context = multiprocessing.get_context("spawn")
        _pool = (jobs, ProcessPoolExecutor(jobs, mp_context=context,
                                           initializer=_ignore_interrupts))
    return _pool[1]


@contextlib.contextmanager
def _spawned_ignoring_interrupts():
    """The pool starts a worker inside ``submit`` when it has no idle one. A spawned
    Python keeps an ignored SIGINT ignored, so a Ctrl-C cannot reach a worker that has
    not yet run its initializer. (Only the main thread may set signals; a Ctrl-C
    during these few milliseconds of submitting is dropped.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _ignore_interrupts():
    """In a worker process. Ctrl-C, and a notebook's interrupt button, reach the whole
    process group: kept workers that died of it would break the next call. The
    parent decides instead, and ends the workers of a batch it interrupts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def close_pool(now=False):
    """End the worker processes kept for the next ``run_many`` (nothing if none are):
    the runs not started are dropped; the ones running finish first, or with
    ``now`` are ended at once."""
    global _pool
    if _pool is not None:
        _, pool = _pool
        _pool = None
        if not now:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        # ProcessPoolExecutor has no public way to end its workers before Python 3.14:
        # end those it has (it may start one more meanwhile, hence twice), and let its
        # manager thread notice.
        # (shutdown() drops the pool's references to both, so take them first.)
        table = getattr(pool, "_processes", None) or {}
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)
        for _ in range(2):
            for process in list(table.values()):
                process.terminate()
            if manager is not None:
                manager.join(5.0)
        for process in list(table.values()):
            process.join(5.0)


atexit.register(close_pool)


def _run_one(config):
    return get_backend(config.backend)(config)


def _run_kept(config):
    """``_run_one`` in a worker process, on the same problem object as the last runs
    of an equal problem, whose data is then generated or loaded already."""
    try:
        problem = _kept.pop(config.problem, config.problem)
    except TypeError:                             # a problem of the user's that has no hash
        return _run_one(config)
    _kept[problem] = problem                      # the most recent last
    while len(_kept) > KEPT_PROBLEMS:
        del _kept[next(iter(_kept))]
    if problem is not config.problem:
        config = dataclasses.replace(config, problem=problem)
    return _run_one(config)


class _ModuleRecorder(pickle.Pickler):
    """Pickles to nowhere, noting the module of every class and function it meets."""

    def __init__(self):
        super().__init__(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL)
        self.modules = {}

    def reducer_override(self, obj):
        kind = obj if isinstance(obj, type) or callable(obj) else type(obj)
        module = getattr(kind, "__module__", None)
        if module is not None:
            self.modules.setdefault(module, getattr(kind, "__qualname__", repr(kind)))
        return NotImplemented


def _why_not_in_processes(configs):
    """Why these runs cannot go to spawned workers (None if they can)."""
    real = sorted({c.backend for c in configs} - {"simulated"})
    if real:
        return (f"runs on the {', '.join(real)} backend measure wall-clock time, which "
                "runs side by side would distort")
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.exists(main_file):
        return (f"this session's main script ({main_file}) is not a file that worker "
                "processes can import; run it from a .py file to run in parallel")
    main_has_file = main_file is not None
    for config in configs:
        recorder = _ModuleRecorder()
        try:
            recorder.dump(config)
        except Exception as err:  # noqa: BLE001 - any pickling failure means "not here"
            return f"the Config cannot be sent to another process ({err})"
        if "__main__" in recorder.modules and not main_has_file:
            return (f"{recorder.modules['__main__']} is defined in this notebook or session "
                    "(module __main__), which worker processes cannot import; define it in a "
                    ".py module to run in parallel")
    return None
