"""Independent runs in worker processes: the same numbers as serial, bit for bit,
and a plain fallback when a run cannot go to another process."""
import multiprocessing
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import asynclab
from asynclab import limits, parallel

PROBLEM = asynclab.Logistic(features=20, examples=200)
BASE = asynclab.Config(problem=PROBLEM, workers=4, gradients=300, target_loss=0.45)


def same(a, b):
    """Two Results are bit-identical: summary, history, every trace record, parameters."""
    assert a.to_dict(trace=True) == b.to_dict(trace=True)
    assert a.trace.rows == b.trace.rows and a.history.loss == b.history.loss
    assert a.params.tobytes() == b.params.tobytes()


def test_parallel_runs_are_bit_identical_to_serial_runs():
    configs = [BASE.replace(policy=p, lr=lr, straggler=(0.2, 4))
               for p in ("sync", "async", "ssp:2", "backup:1", "local:3") for lr in (0.3, 1.0)]
    serial = asynclab.run_many(configs, seeds=2)
    parallel_ = asynclab.run_many(configs, seeds=2, jobs=2)
    assert len(serial) == len(parallel_) == 20
    assert [r.config.seed for r in parallel_[:4]] == [0, 1, 0, 1]
    for a, b in zip(serial, parallel_):
        same(a, b)
    for config, r in zip((c.replace(seed=s) for c in configs for s in (0, 1)), parallel_):
        same(r, asynclab.run(config))       # and each is the run itself


def test_tune_and_compare_with_jobs_equal_serial():
    grid = [0.1, 0.5, 2.0]
    assert (asynclab.tune(BASE, policy="sync", lrs=grid, seeds=2, jobs=2).to_dict()
            == asynclab.tune(BASE, policy="sync", lrs=grid, seeds=2).to_dict())
    fast = asynclab.compare(["sync", "async"], BASE, seeds=2, tune=True, lrs=grid, jobs=2)
    slow = asynclab.compare(["sync", "async"], BASE, seeds=2, tune=True, lrs=grid)
    for policy in ("sync", "async"):
        assert fast[policy].to_dict() == slow[policy].to_dict()
        for a, b in zip(fast[policy].results, slow[policy].results):
            same(a, b)
    plain = asynclab.compare("sync,async", BASE, jobs=2)
    same(plain["async"], asynclab.run(BASE, policy="async"))


def test_seed_lists_and_job_counts_are_checked():
    assert parallel.seed_list(BASE.replace(seed=5), 3) == [5, 6, 7]
    assert parallel.seed_list(BASE, [9, 2]) == [9, 2]
    with pytest.raises(ValueError, match="jobs must be at least 1, got 0"):
        asynclab.run_many([BASE], jobs=0)
    with pytest.raises(ValueError, match="jobs must be a whole number, got 1.5"):
        asynclab.run_many([BASE], jobs=1.5)
    with pytest.raises(ValueError, match="seed must be at least 0, got -1"):
        parallel.seed_list(BASE, [-1])
    assert asynclab.run_many(BASE)[0].history.loss == asynclab.run(BASE).history.loss


def test_too_many_runs_are_refused_before_any_starts():
    with pytest.raises(ValueError, match="runs must be at most 10,000 in one call"):
        asynclab.run_many([BASE] * 10_001)
    big = BASE.replace(problem=asynclab.Logistic(features=3000), gradients=10_000_000)
    assert limits.MAX_WORK / 2 < 10_000_000 * 32 * 3000 <= limits.MAX_WORK   # one is allowed
    limits.check_batch([big] * 4)                # four together too (an hour or two)...
    with pytest.raises(ValueError, match="over all runs"):
        asynclab.run_many([big] * 5)             # ...five are refused before any starts


def test_real_backends_and_notebook_classes_stay_in_this_process(monkeypatch):
    reason = parallel._why_not_in_processes([BASE.replace(backend="thread")])
    assert "thread backend measure wall-clock time" in reason

    class Notebook(asynclab.LeastSquares):     # as if defined in a notebook cell
        pass

    Notebook.__module__, Notebook.__qualname__ = "__main__", "Notebook"
    config = BASE.replace(problem=Notebook(features=5, examples=50))
    notebook = types.ModuleType("__main__")       # a kernel's __main__: no __file__
    notebook.Notebook = Notebook
    monkeypatch.setitem(sys.modules, "__main__", notebook)
    assert "Notebook is defined in this notebook or session (module __main__)" in \
        parallel._why_not_in_processes([config])
    assert parallel._why_not_in_processes([BASE]) is None
    unpicklable = BASE.replace(problem=Notebook(features=5, examples=50))
    object.__setattr__(unpicklable, "eval_points", lambda: 0)     # a lambda cannot be sent
    assert "cannot be sent to another process" in parallel._why_not_in_processes([unpicklable])


def test_a_class_defined_in_an_interactive_session_falls_back_to_serial_and_says_so():
    code = textwrap.dedent("""
        import warnings
        import asynclab

        class Doubled(asynclab.LeastSquares):        # defined in __main__, which has no file
            def loss(self, w):
                return 2 * super().loss(w)

        config = asynclab.Config(problem=Doubled(features=5, examples=50), gradients=60)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runs = asynclab.run_many([config], seeds=2, jobs=2)
        print([str(w.message) for w in caught])
        print(runs[1].history.loss == asynclab.run(config, seed=1).history.loss)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    warned, equal = done.stdout.strip().splitlines()
    assert "jobs=2: Doubled is defined in this notebook or session" in warned
    assert "running the 2 runs one after another" in warned and equal == "True"


def test_a_script_read_from_standard_input_falls_back_to_serial_and_says_so():
    """Spawned workers re-import the main script: one piped into Python has no file."""
    code = textwrap.dedent("""
        import asynclab
        config = asynclab.Config(gradients=40, eval_points=2)
        runs = asynclab.run_many([config], seeds=2, jobs=2)
        print(runs[1].history.loss == asynclab.run(config, seed=1).history.loss)
    """)
    done = subprocess.run([sys.executable], input=code, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
    assert "main script (<stdin>) is not a file that worker processes can import" in done.stderr


def test_a_run_that_fails_in_a_worker_raises_here_and_leaves_no_process():
    bad = BASE.replace(policy="sync", fail=((1, 3),))       # sync stalls without worker 1
    with pytest.raises(asynclab.StalledError):
        asynclab.run_many([BASE, bad, BASE], jobs=2)
    assert parallel._pool is None and not multiprocessing.active_children()   # all ended
    assert np.isfinite(asynclab.run_many([BASE], jobs=2)[0].summary.final_loss)


def test_worker_processes_are_kept_for_the_next_call_and_closed_on_demand():
    configs = [BASE.replace(lr=lr) for lr in (0.3, 1.0, 3.0)]
    first = asynclab.run_many(configs, jobs=2)
    pool = parallel._pool
    assert pool is not None and pool[0] == 2
    workers = {p.pid for p in pool[1]._processes.values()}
    again = asynclab.run_many(configs, jobs=2)
    assert parallel._pool is pool                            # the same processes, started once
    assert {p.pid for p in pool[1]._processes.values()} == workers
    for a, b in zip(first, again):
        same(a, b)
    asynclab.run_many(configs, jobs=3)                       # another size: another pool
    assert parallel._pool[0] == 3 and parallel._pool is not pool
    parallel.close_pool()
    assert parallel._pool is None and not multiprocessing.active_children()
    parallel.close_pool()                                    # nothing to close: nothing happens


def test_a_worker_process_reuses_the_data_of_a_problem_it_ran_before(monkeypatch):
    monkeypatch.setattr(parallel, "_kept", {})
    a, b = (asynclab.Logistic(features=20, examples=200) for _ in range(2))
    assert a == b and a is not b
    first = parallel._run_kept(BASE.replace(problem=a))
    second = parallel._run_kept(BASE.replace(problem=b, lr=0.5))
    assert first.config.problem is a and second.config.problem is a     # a's data, generated once
    same(second, asynclab.run(BASE.replace(problem=b, lr=0.5)))
    for features in range(21, 21 + parallel.KEPT_PROBLEMS):             # only the last few kept
        parallel._run_kept(BASE.replace(problem=asynclab.Logistic(features=features,
                                                                 examples=200), gradients=20))
    assert a not in parallel._kept and len(parallel._kept) == parallel.KEPT_PROBLEMS


def test_an_interrupt_stops_a_batch_at_once_and_kept_workers_ignore_ctrl_c():
    import os
    import signal
    import threading
    import time
    asynclab.run_many([BASE, BASE.replace(lr=0.3)], jobs=2)        # workers kept
    workers = list(parallel._pool[1]._processes.values())
    for process in workers:                      # a notebook's interrupt button, between cells
        os.kill(process.pid, signal.SIGINT)
    time.sleep(0.5)
    assert all(p.is_alive() for p in workers), [p.exitcode for p in workers]
    again = asynclab.run_many([BASE, BASE.replace(lr=0.3)], jobs=2)  # the kept pool still works
    assert parallel._pool[1]._processes and len(again) == 2
    long = [BASE.replace(gradients=2_000_000, eval_points=2, lr=lr) for lr in (0.1, 0.2, 0.3)]
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))   # Ctrl-C, here only
    timer.start()
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        asynclab.run_many(long, jobs=2)
    assert time.perf_counter() - start < 20      # not the minutes the runs would take
    assert parallel._pool is None and not multiprocessing.active_children()
