"""How much the simulated engine adds on top of the gradient arithmetic.

    python benchmarks/bench_engine.py            # full size (about a minute)
    python benchmarks/bench_engine.py --quick    # 10x fewer gradients

Prints the figures the engine is held to:
  * a 1-worker simulated run against a plain numpy loop doing the same gradient
    steps on the default logistic problem (target: at most 1.5x);
  * seconds per gradient with 1000 simulated workers against 1 (target: at most 1.3x);
  * seconds per gradient with 100,000 simulated workers against 1 on a small problem
    (d=100, where the engine's own cost shows), a million gradients, ten per worker
    (target: at most 1.5x);
  * the communication models at 1000 workers (issue 11), against plain async
    with the same 10 ms latency: overlap, a shared server link, and a ring
    all-reduce (target: each at most 1.3x per gradient).
Each timing is the best of a few repeats, which filters out other load.
"""
import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import asynclab
from asynclab.backends.base import worker_streams


def plain_loop(problem, gradients, lr, batch, seed):
    """Sequential SGD with the same gradients and evaluations (training loss,
    test and validation loss and accuracy), no engine."""
    rng = worker_streams(seed, 1)[0][0]
    w = problem.initial_params()
    every = max(1, gradients // 99)

    def evaluate(w):
        problem.loss(w), problem.held_out(w, "test"), problem.held_out(w, "validation")

    evaluate(w)
    for k in range(1, gradients + 1):
        w = w - lr * problem.gradient(w, problem.sample(rng, batch))
        if k % every == 0:
            evaluate(w)
    return w


def best_of(repeats, fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = 10_000 if args.quick else 100_000
    problem = asynclab.Logistic(features=1000, examples=2000)
    _ = problem.data
    config = asynclab.Config(problem=problem, policy="async", workers=1, gradients=n, lr=0.1)
    with threadpool_limits(1):  # one BLAS thread, the same for both sides
        t_loop, w_loop = best_of(args.repeats, lambda: plain_loop(problem, n, 0.1, 32, 0))
        t_one, r_one = best_of(args.repeats, lambda: asynclab.run(config))
        assert np.array_equal(w_loop, r_one.params), "engine and loop must do the same steps"
        t_many, _ = best_of(args.repeats, lambda: asynclab.run(config, workers=1000))
        talking = config.replace(workers=1000, latency=0.01)
        # 1000 x 8 kB messages of 10 ms each per second: a link of 4e8 B/s is busy.
        models = {"async, 10 ms latency": talking,
                  "  + overlap": talking.replace(overlap=True),
                  "  + shared server link": talking.replace(server_bandwidth=4e8),
                  "allreduce, 10 ms latency": talking.replace(policy="allreduce")}
        # The simulator at scale: d=100, where the engine's own cost is a large part.
        small = asynclab.Logistic(features=100, examples=2000)
        _ = small.data
        scale_n, scale_w = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
        at_scale = config.replace(problem=small, gradients=scale_n, lr=0.01)
        t_small = {1: float("inf"), scale_w: float("inf")}
        for _ in range(args.repeats):      # in turn, so that other load hits both alike
            for w in t_small:
                t_small[w] = min(t_small[w], best_of(1, lambda: asynclab.run(at_scale,
                                                                             workers=w))[0])
        # Round robin over the models, so that load from elsewhere hits them alike.
        t_models = dict.fromkeys(models, float("inf"))
        for _ in range(args.repeats):
            for name, c in models.items():
                t_models[name] = min(t_models[name], best_of(1, lambda: asynclab.run(c))[0])
    print(f"default logistic problem: d={problem.dim}, batch 32, {n} gradients, "
          f"best of {args.repeats}")
    print(f"{'':40}{'seconds':>9}{'us/gradient':>13}{'ratio':>8}  target")
    print(f"{'plain numpy loop':40}{t_loop:9.3f}{1e6 * t_loop / n:13.1f}{1:8.2f}")
    print(f"{'simulated, 1 worker':40}{t_one:9.3f}{1e6 * t_one / n:13.1f}"
          f"{t_one / t_loop:8.2f}  <= 1.5 x loop")
    print(f"{'simulated, 1000 workers':40}{t_many:9.3f}{1e6 * t_many / n:13.1f}"
          f"{t_many / t_one:8.2f}  <= 1.3 x 1 worker")
    print(f"small problem: d={small.dim}, {scale_n:,} gradients")
    print(f"{'simulated, 1 worker':40}{t_small[1]:9.3f}{1e6 * t_small[1] / scale_n:13.1f}"
          f"{1:8.2f}")
    print(f"{f'simulated, {scale_w:,} workers':40}{t_small[scale_w]:9.3f}"
          f"{1e6 * t_small[scale_w] / scale_n:13.1f}{t_small[scale_w] / t_small[1]:8.2f}"
          "  <= 1.5 x 1 worker")
    base = t_models["async, 10 ms latency"]
    for name, t in t_models.items():
        target = "" if t is base else "<= 1.3 x async"
        print(f"{'1000 workers: ' + name:40}{t:9.3f}{1e6 * t / n:13.1f}{t / base:8.2f}  {target}")


if __name__ == "__main__":
    main()
