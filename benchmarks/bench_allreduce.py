"""The process backend's ring all-reduce against a bare one written here.

    python benchmarks/bench_allreduce.py            # about a minute
    python benchmarks/bench_allreduce.py --steps 20 # quicker, noisier

Two workers, d = 1,000,000 parameters (8 MB per gradient). Both sides compute
the same least-squares gradient (8 rows of a 64 MB data matrix, with one BLAS
thread per process as the backend's workers run, so the caches and the cores
are in the same state when the reduction starts), then sum two rows of one
shared-memory array chunk by chunk in ring order, one reduce-scatter round and
one all-gather round with a barrier after each:

* ``bare ring``: two processes and a ``multiprocessing.Barrier``, nothing else
  (timed from both gradients ready to the end of its all-gather round);
* ``process allreduce``: a run of the process backend (``policy="allreduce"``),
  its all-reduce time read off its trace (the push and pull rows of worker 0:
  the reduce-scatter and the all-gather, after both gradients were ready).

Prints the median time per all-reduce of each and their ratio (target: the
backend at most 1.5x the bare ring). Other work on the machine slows both.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from multiprocessing import shared_memory

import numpy as np
from threadpoolctl import threadpool_limits

import asynclab
from asynclab.trace import PULL, PUSH

DIM = 1_000_000
BATCH = 8


def _problem():
    return asynclab.LeastSquares(features=DIM, examples=BATCH)


def _bare_worker(worker, segment, steps, barrier, out):
    with threadpool_limits(limits=1, user_api="blas"):   # one BLAS thread, as the backend's workers
        _bare_ring(worker, segment, steps, barrier, out)


def _bare_ring(worker, segment, steps, barrier, out):
    problem, params = _problem(), np.zeros(DIM)
    shm = shared_memory.SharedMemory(name=segment)
    rows = np.ndarray((2, DIM), buffer=shm.buf)
    mine, other = rows[worker], rows[1 - worker]
    half = DIM // 2
    # Reduce-scatter: worker 0 adds the other's chunk 1, worker 1 chunk 0; then all-gather.
    reduce_part = slice(half, DIM) if worker == 0 else slice(0, half)
    gather_part = slice(0, half) if worker == 0 else slice(half, DIM)
    times = []
    rng = np.random.default_rng(worker)
    for _ in range(steps):
        mine[:] = problem.gradient(params, problem.sample(rng, BATCH))   # a new gradient
        barrier.wait()
        start = time.perf_counter()
        mine[reduce_part] += other[reduce_part]
        barrier.wait()
        mine[gather_part] = other[gather_part]
        times.append(time.perf_counter() - start)   # as the backend's trace measures it
        barrier.wait()
    out.put(times)
    del rows, mine, other
    shm.close()


def bare_ring(steps):
    ctx = multiprocessing.get_context("spawn")
    shm = shared_memory.SharedMemory(create=True, size=2 * 8 * DIM)
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_bare_worker, args=(w, shm.name, steps, barrier, out))
             for w in range(2)]
    try:
        for p in procs:
            p.start()
        times = [out.get(timeout=600) for _ in procs]
        for p in procs:
            p.join()
    finally:
        shm.close()
        shm.unlink()
    return float(np.median(np.max(times, axis=0)))


def engine_ring(steps):
    r = asynclab.run(problem=_problem(), backend="process", policy="allreduce", workers=2,
                     gradients=2 * steps, batch=BATCH, lr=1e-3, eval_points=2)
    pushes = [e for e in r.trace.of_kind(PUSH) if e.worker == 0]
    pulls = [e for e in r.trace.of_kind(PULL) if e.worker == 0]
    return float(np.median([b.end - a.start for a, b in zip(pushes, pulls)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bare = min(bare_ring(args.steps) for _ in range(args.repeats))
    engine = min(engine_ring(args.steps) for _ in range(args.repeats))
    print(f"2 workers, d={DIM:,} (8 MB), {args.steps} all-reduces, median of each run, "
          f"best of {args.repeats}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':24}{'ms per all-reduce':>18}{'ratio':>8}  target")
    print(f"{'bare ring':24}{1e3 * bare:18.2f}{1:8.2f}")
    print(f"{'process allreduce':24}{1e3 * engine:18.2f}{engine / bare:8.2f}  <= 1.5 x bare")


if __name__ == "__main__":
    main()
