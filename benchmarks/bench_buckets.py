"""Gradient buckets on real workers against the simulator's prediction.

    python benchmarks/bench_buckets.py                 # about a minute
    python benchmarks/bench_buckets.py --gradients 40  # quicker, noisier

Two workers, injected times that dominate what is modelled: 40 ms of compute
per gradient (``compute`` for the simulator, ``delay`` for real workers), 1 ms
of latency and 20 ms for a message's bytes (S / bandwidth), 4 buckets. For sync
and allreduce, with and without overlap, on threads and processes, prints the
simulated and the real wall-clock time of the same Config and their ratio, and
the transfer and hidden fractions of both. Other work on the machine slows the
real runs (the load average is printed).
"""
from __future__ import annotations

import argparse
import os

import asynclab


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gradients", type=int, default=100)
    args = parser.parse_args()
    problem = asynclab.Logistic(features=50, examples=500)       # S = 400 bytes
    print(f"load average over the last minute {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("backend  policy     overlap   simulated s  real s  real/simulated   "
          "transfer real/sim   hidden real/sim")
    for backend in ("thread", "process"):
        for policy in ("sync", "allreduce"):
            for buckets in (4, None):
                over = dict(overlap=True, buckets=buckets) if buckets else {}
                config = asynclab.Config(problem=problem, policy=policy, workers=2,
                                         gradients=args.gradients, lr=0.3, seed=1, eval_points=5,
                                         compute="const:0.04", delay="const:0.04", latency=0.001,
                                         bandwidth=problem.nbytes / 0.02, **over)
                sim = asynclab.run(config).summary
                real = asynclab.run(config, backend=backend).summary
                print(f"{backend:8} {policy:10} {'4 buckets' if buckets else 'no':9} "
                      f"{sim.time:11.3f} {real.time:7.3f} {real.time / sim.time:16.3f}   "
                      f"{real.transfer_fraction:8.2f} / {sim.transfer_fraction:.2f}   "
                      f"{real.overlap_fraction:8.2f} / {sim.overlap_fraction:.2f}")


if __name__ == "__main__":
    main()
