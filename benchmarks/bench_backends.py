"""How the real backends scale from 1 to 2 workers, in gradients per second.

    python benchmarks/bench_backends.py              # about two minutes
    python benchmarks/bench_backends.py --repeats 1  # quicker, noisier

Rows, each measured with 1 and then 2 workers (every worker computes the same
number of gradients, so ideal scaling is 2.0x on two cores):

* ``bare loop``: a hand-written Hogwild! loop over ``multiprocessing.shared_memory``
  with nothing else in it, the reference for what processes can do here.
* ``process hogwild`` / ``process async``: the process backend, lock-free, and
  through the parameter server in the parent (one round trip per gradient).
* ``thread hogwild``: the thread backend, for small steps (the default dense
  logistic problem: the GIL serialises them) and large steps (spent inside
  numpy, which releases the GIL).

Rates are wall-clock, from the moment the workers are told to start until the
last one is done (process start-up is not included), best of ``--repeats``.
Other work on the machine lowers them: run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from multiprocessing import shared_memory

import numpy as np
from threadpoolctl import threadpool_limits

import asynclab

SMALL_STEPS = asynclab.Logistic(features=1000, examples=2000)   # d = 1000
LARGE_STEPS = asynclab.Logistic(features=100_000, examples=256)  # d = 100000
PER_WORKER = {SMALL_STEPS: 40_000, LARGE_STEPS: 150}             # gradients per worker
BATCH, LR = 32, 0.1


def _bare_worker(problem, segment, seed, n, go, done):
    """Hogwild! with nothing else: sample, gradient, write into shared memory."""
    shm = shared_memory.SharedMemory(name=segment)
    w = np.ndarray(problem.dim, buffer=shm.buf)
    problem.data
    rng = np.random.default_rng(seed)
    with threadpool_limits(limits=1, user_api="blas"):
        done.put("ready")
        go.wait()
        for _ in range(n):
            w -= LR * problem.gradient(w, problem.sample(rng, BATCH))
    done.put("done")
    del w
    shm.close()


def bare_rate(problem, workers, n):
    ctx = multiprocessing.get_context("spawn")
    shm = shared_memory.SharedMemory(create=True, size=8 * problem.dim)
    go, done = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_bare_worker, args=(problem, shm.name, k, n, go, done))
             for k in range(workers)]
    try:
        for p in procs:
            p.start()
        for _ in procs:
            assert done.get(timeout=120) == "ready"
        start = time.perf_counter()
        go.set()
        for _ in procs:
            assert done.get(timeout=600) == "done"
        return workers * n / (time.perf_counter() - start)
    finally:
        for p in procs:
            p.join(10)
        shm.close()
        shm.unlink()


def engine_rate(problem, backend, policy, workers, n):
    r = asynclab.run(problem=problem, backend=backend, policy=policy, workers=workers,
                     gradients=workers * n, batch=BATCH, lr=LR, eval_points=10)
    return r.summary.gradients_per_second


def measure(problem, backend, policy, workers):
    n = PER_WORKER[problem]
    if backend is None:
        return bare_rate(problem, workers, n)
    return engine_rate(problem, backend, policy, workers, n)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds (the best is kept)")
    args = parser.parse_args(argv)
    rows = [("bare loop (processes)", SMALL_STEPS, None, None),
            ("process hogwild", SMALL_STEPS, "process", "hogwild"),
            ("process async (server)", SMALL_STEPS, "process", "async"),
            ("thread hogwild, small steps", SMALL_STEPS, "thread", "hogwild"),
            ("thread hogwild, large steps", LARGE_STEPS, "thread", "hogwild"),
            ("process hogwild, large steps", LARGE_STEPS, "process", "hogwild")]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("command: python " + " ".join(sys.argv))
    print(f"asynclab {asynclab.__version__}, {os.cpu_count()} cores, load average "
          f"{load:.2f} at start, best of {args.repeats} rounds; batch {BATCH}")
    print(f"small steps: logistic d={SMALL_STEPS.dim}; large steps: logistic d={LARGE_STEPS.dim}")
    # Rounds run every measurement once, so that changes in the machine's
    # load touch all of them alike; each figure is its best round.
    rates = {}
    for _ in range(args.repeats):
        for name, *how in rows:
            for workers in (1, 2):
                rate = measure(*how, workers)
                rates[name, workers] = max(rates.get((name, workers), 0.0), rate)
    print(f"{'':30s} {'1 worker':>12s} {'2 workers':>12s} {'speed-up':>9s}   (gradients/s)")
    for name, *_ in rows:
        one, two = rates[name, 1], rates[name, 2]
        print(f"{name:30s} {one:12.0f} {two:12.0f} {two / one:8.2f}x")
    hog = rates["process hogwild", 2] / rates["process hogwild", 1]
    vs_bare = rates["process hogwild", 1] / rates["bare loop (processes)", 1]
    print(f"process hogwild, 2 workers / 1 worker: {hog:.2f}x (target >= 1.85x)")
    print(f"process hogwild 1 worker / bare loop 1 worker: {vs_bare:.2f}x (target >= 0.85x)")
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
