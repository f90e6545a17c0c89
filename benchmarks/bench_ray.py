"""Gradients per second of the Ray backend against Ray's own parameter-server example.

    python benchmarks/bench_ray.py            # 3000 gradients per run, best of 3
    python benchmarks/bench_ray.py --quick    # 1000 gradients, best of 2
    python benchmarks/bench_ray.py --features 1000000 --gradients 60   # large vectors

Both sides run on one local Ray, on a logistic problem (d=1000, 2000 examples,
batch 32), with 2 workers and one actor per worker and per server, and are
timed from the moment their actors are up until the last gradient is applied.
``benchmarks/ray_reference.py`` is the example's pattern written directly
against Ray (no trace, no policies). The asynclab rows add the effect of
``ray_batch`` (gradients per message) and of ``shards`` (server actors).
The machine's load average is printed: other work on the machine slows
every row, which is why each figure is the best of a few repeats.

asynclab evaluates the loss 10 times per run (the example never does).
``--features`` sets the problem's dimension (above 1000, the data set
shrinks towards 16 MB, and to no fewer than 8 examples). Sharding spreads the server's traffic
over several actors; on one machine they share the same cores and memory,
so this benchmark can show its cost but not a cluster's gain.
"""
import argparse
import os
import time

import numpy as np
import ray

import asynclab
from asynclab.backends.ray import RayRun, ray_session

import ray_reference


def best_of(repeats, fn):
    """(seconds, extra) of the fastest of ``repeats`` calls; fn returns both."""
    return min((fn() for _ in range(repeats)), key=lambda out: out[0])


def asynclab_run(config, **knobs):
    result = RayRun(ray, config.replace(**knobs)).run()
    s = result.summary
    return s.time, f"{s.mean_staleness:9.2f}{s.final_loss:9.4f}"


def reference_run(problem, config, synchronous):
    seconds, params = ray_reference.run(problem, workers=config.workers,
                                        gradients=config.gradients, lr=config.lr,
                                        synchronous=synchronous)
    return seconds, f"{'-':>9}{problem.loss(params):9.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--features", type=int, default=1000, help="the problem's dimension")
    parser.add_argument("--gradients", type=int, default=None, help="per run")
    args = parser.parse_args()
    n = args.gradients or (1000 if args.quick else 3000)
    repeats = args.repeats or (2 if args.quick else 3)
    problem = asynclab.Logistic(features=args.features,
                                examples=max(8, min(2000, 2_000_000 // args.features)))
    base = asynclab.Config(problem=problem, backend="ray", workers=2, gradients=n, lr=0.1,
                           eval_points=10)
    sync = base.replace(policy="sync")
    rows = [
        ("Ray example, async (ray.wait loop)", lambda: reference_run(problem, base, False)),
        ("asynclab ray, async", lambda: asynclab_run(base)),
        ("asynclab ray, async, ray_batch=4", lambda: asynclab_run(base, ray_batch=4)),
        ("asynclab ray, async, ray_batch=16", lambda: asynclab_run(base, ray_batch=16)),
        ("asynclab ray, async, shards=2", lambda: asynclab_run(base, shards=2)),
        ("Ray example, sync (wait for all)", lambda: reference_run(problem, sync, True)),
        ("asynclab ray, sync", lambda: asynclab_run(sync)),
    ]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with ray_session(ray, None, cpus=4, nbytes=problem.nbytes * 4):
        figures = [(label, *best_of(repeats, fn)) for label, fn in rows]
    print(f"logistic problem: d={problem.dim}, batch 32, 2 workers, {n} gradients "
          f"per run, best of {repeats}; {os.cpu_count()} CPUs, load average "
          f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after "
          f"({time.perf_counter() - started:.0f} s)")
    print(f"{'':38}{'seconds':>8}{'grad/s':>8}{'vs ex.':>8}{'stale':>9}{'loss':>9}")
    example = None
    for label, seconds, extra in figures:
        if label.startswith("Ray example"):
            example = seconds
        ratio = example / seconds                 # > 1: faster than the example
        print(f"{label:38}{seconds:8.2f}{n / seconds:8.0f}{ratio:8.2f}{extra}")
    assert np.isfinite([f[1] for f in figures]).all()


if __name__ == "__main__":
    main()
