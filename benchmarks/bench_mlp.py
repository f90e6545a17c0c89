"""The MLP workload: engine overhead, Hogwild! scaling, and accuracy on digits.

    flock /tmp/asynclab-bench.lock python benchmarks/bench_mlp.py            # about 2 minutes
    flock /tmp/asynclab-bench.lock python benchmarks/bench_mlp.py --repeats 1

An MLP 64-64-10 (ReLU) on scikit-learn's digits, batch 32. Three figures:

* a 1-worker simulated run against a bare numpy loop training the same MLP
  (its own forward and backward code, the same minibatches, the same
  evaluations of the training loss and the validation and test loss and accuracy, about
  100 of each): target at most 1.3x. They must end with the same parameters,
  bit for bit.
* process Hogwild! with 2 workers against 1, in gradients per second (every
  worker computes the same number of gradients; process start-up excluded):
  target at least 1.7x. Beside it, the bare shared-memory Hogwild! loop of
  bench_backends.py on the same MLP: what two processes can do on this
  machine at this moment.
* a simulated sync run (4 workers) until 0.95 validation accuracy: how many
  gradients it takes and the wall time of a run of that many.

Each timing is the best of ``--repeats`` rounds; rounds run every
measurement once, so that changes in the machine's load touch all of them
alike. Other work on the machine lowers every figure.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

import asynclab
from asynclab.backends.base import worker_streams
from bench_backends import bare_rate

PROBLEM = asynclab.MLP(dataset="digits", hidden=(64,), activation="relu")
BATCH, LR, SEED = 32, 0.1, 0
EVAL_POINTS = 100


def bare_loop(problem, gradients):
    """Minibatch SGD on the MLP in plain numpy: one weight matrix and bias per
    layer, the forward pass, softmax cross-entropy and backpropagation
    written out, with the engine's evaluations. Returns the final parameters."""
    X, y, X_validation, y_validation, X_test, y_test = problem.data
    rng = worker_streams(SEED, 1)[0][0]
    w0 = problem.initial_params()
    W1, b1 = w0[:64 * 64].reshape(64, 64).copy(), w0[4096:4160].copy()
    W2, b2 = w0[4160:4800].reshape(64, 10).copy(), w0[4800:].copy()

    def log_softmax(z):
        shifted = z - z.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def evaluate():      # the training loss; the validation and test loss and accuracy
        for data, labels in ((X, y), (X_validation, y_validation), (X_test, y_test)):
            z = np.maximum(data @ W1 + b1, 0.0) @ W2 + b2
            -np.mean(log_softmax(z)[np.arange(len(labels)), labels])
            if labels is not y:
                (z.argmax(axis=1) == labels).mean()

    every = max(1, gradients // (EVAL_POINTS - 1))
    evaluate()
    for k in range(1, gradients + 1):
        idx = rng.integers(0, len(y), size=BATCH)
        xb, yb = X[idx], y[idx]
        h = np.maximum(xb @ W1 + b1, 0.0)
        p = np.exp(log_softmax(h @ W2 + b2))
        p[np.arange(BATCH), yb] -= 1.0
        dz = p / BATCH
        gW2, gb2 = h.T @ dz, dz.sum(axis=0)
        dz = (dz @ W2.T) * (h > 0.0)
        gW1, gb1 = xb.T @ dz, dz.sum(axis=0)
        W1, b1, W2, b2 = W1 - LR * gW1, b1 - LR * gb1, W2 - LR * gW2, b2 - LR * gb2
        if k % every == 0:
            evaluate()
    evaluate()
    return np.concatenate([W1.ravel(), b1, W2.ravel(), b2])


def engine_one_worker(gradients):
    config = asynclab.Config(problem=PROBLEM, policy="async", workers=1, gradients=gradients,
                             lr=LR, batch=BATCH, seed=SEED, eval_points=EVAL_POINTS)
    return asynclab.run(config).params


def hogwild_rate(workers, per_worker):
    r = asynclab.run(problem=PROBLEM, backend="process", policy="hogwild", workers=workers,
                     gradients=workers * per_worker, lr=LR, batch=BATCH, eval_points=10)
    return r.summary.gradients_per_second


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds (the best is kept)")
    parser.add_argument("--gradients", type=int, default=20_000,
                        help="gradients of the overhead runs, and per Hogwild! worker")
    args = parser.parse_args(argv)
    n = args.gradients
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("command: python " + " ".join(sys.argv))
    print(f"asynclab {asynclab.__version__}, {os.cpu_count()} cores, load average {load:.2f} "
          f"at start, best of {args.repeats} rounds")
    print(f"MLP {'-'.join(map(str, PROBLEM.network.sizes))} ({PROBLEM.dim} parameters) on "
          f"digits ({PROBLEM.train_examples} training, {PROBLEM.validation_examples} "
          f"validation, {PROBLEM.test_examples} test examples), batch {BATCH}, lr {LR}")
    best = {}
    with threadpool_limits(1):    # one BLAS thread, the same for both sides
        for _ in range(args.repeats):
            for name, fn, arg in (("bare", bare_loop, PROBLEM), ("engine", engine_one_worker, n)):
                seconds, params = timed(fn, arg, n) if name == "bare" else timed(fn, arg)
                best[name] = min(best.get(name, np.inf), seconds)
                best[name + " params"] = params
            for workers in (1, 2):
                best[workers] = max(best.get(workers, 0.0), hogwild_rate(workers, n))
                best["bare", workers] = max(best.get(("bare", workers), 0.0),
                                            bare_rate(PROBLEM, workers, n))
    assert np.array_equal(best["bare params"], best["engine params"]), \
        "engine and bare loop must do the same steps"
    ratio = best["engine"] / best["bare"]
    print(f"\n{n} gradients, 1 worker, {EVAL_POINTS} evaluations of training loss, validation "
          "and test loss and accuracy (same final parameters, bit for bit)")
    print(f"  bare numpy MLP loop      {best['bare']:7.3f} s  {1e6 * best['bare'] / n:6.1f} us/gradient")
    print(f"  simulated, 1 worker      {best['engine']:7.3f} s  {1e6 * best['engine'] / n:6.1f} "
          f"us/gradient  {ratio:.2f}x the loop (target <= 1.3x)")
    speedup = best[2] / best[1]
    print(f"\nprocess hogwild, {n} gradients per worker (gradients/s)")
    print(f"  asynclab    1 worker {best[1]:8.0f}   2 workers {best[2]:8.0f}   {speedup:.2f}x "
          "(target >= 1.7x)")
    bare = best["bare", 2] / best["bare", 1]
    print(f"  bare loop   1 worker {best['bare', 1]:8.0f}   2 workers {best['bare', 2]:8.0f}   "
          f"{bare:.2f}x (the machine's room, same rounds)")
    config = asynclab.Config(problem=PROBLEM, policy="sync", workers=4, gradients=20_000,
                             lr=0.5, batch=BATCH, seed=SEED, eval_points=400)
    result = asynclab.run(config)
    reached = result.history.reached(0.95, "validation_accuracy")
    print("\nsimulated sync, 4 workers, lr 0.5, until 0.95 validation accuracy")
    if reached is None:
        print(f"  never reached in {config.gradients} gradients "
              f"(final validation accuracy {result.summary.final_validation_accuracy:.3f})")
    else:
        gradients = result.history.gradients[reached]
        seconds, short = timed(asynclab.run, config.replace(gradients=gradients))
        print(f"  reached {result.history.validation_accuracy[reached]:.3f} after {gradients} "
              f"gradients ({result.history.updates[reached]} updates); a run of {gradients} "
              f"gradients took {seconds:.2f} s wall clock (final test accuracy "
              f"{short.summary.final_accuracy:.3f})")
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
