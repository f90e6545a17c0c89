"""What one run may cost: sizes that would take hours or all memory are refused up front.

A Config is checked here after its fields are valid one by one. Each limit
is a rough budget, not a promise: the goal is that a typo (``--gradients
1e12``, ``--examples 10**9``) gives one clear line at once instead of a run
that never ends or a machine that runs out of memory.

Units: *work* counts multiply-adds of minibatch gradients (about 1e9 per
second on one core of a laptop), *bytes* the memory a run allocates.
"""
from __future__ import annotations

import math

import numpy as np

from .network import ring_time

MAX_WORKERS = 100_000                # simulated workers (each is a generator and a few lists)
MAX_REAL_WORKERS = 256               # threads or processes on one machine
MAX_RAY_NODES = 8                    # local Ray nodes: each is 3 processes, about 250 MB
MAX_GRADIENTS = 10_000_000           # the trace keeps about 4 records per gradient
MAX_WORK = 1e12                      # gradients x batch x parameters: about 15-30 minutes
MAX_EVAL_WORK = 1e12                 # loss evaluations x examples x parameters
MAX_DATA_BYTES = 4 << 30             # a problem's generated or loaded data
MAX_INJECTED_SECONDS = 60.0          # mean injected sleep on real workers: latency, a message
                                     # (latency + bytes / bandwidth), delay, an allreduce step
MAX_RING_DRAWS = 1e9                 # latencies a simulated ring draws: 2(N-1) per worker per step
                                     # (and per bucket)
MAX_BUCKET_MESSAGES = 4 * MAX_GRADIENTS   # gradients x buckets: each part is one message
MAX_VIRTUAL_SECONDS = 1e15          # a simulated run's time (30 million years): beyond it,
                                     # sums of times overflow to infinity long before the end
MAX_RUNS = 10_000                    # runs of one run_many / tune / compare call
MAX_BATCH_WORK = 4 * MAX_WORK        # all of them together: an hour or two at most


def _refuse(what, value, limit, advice):
    raise ValueError(f"{what} = {value:.3g} is more than a run may take (at most {limit:.3g}); "
                     f"{advice}")


def check(config):
    """Raise ValueError (one line) if ``config`` would cost more than the limits allow."""
    problem = config.problem
    real = config.backend in ("thread", "process")
    most = MAX_REAL_WORKERS if real else MAX_WORKERS
    if config.workers > most:
        raise ValueError(f"workers must be at most {most} on the {config.backend} backend, "
                         f"got {config.workers}")
    if config.ray_nodes is not None and config.ray_nodes > MAX_RAY_NODES:
        raise ValueError(f"ray_nodes must be at most {MAX_RAY_NODES} on one machine (each node "
                         f"is a raylet and two agents, about 250 MB), got {config.ray_nodes}")
    if config.gradients > MAX_GRADIENTS:
        raise ValueError(f"gradients must be at most {MAX_GRADIENTS:,}, got {config.gradients:,}")
    examples = problem.train_examples
    if config.batch > examples:
        raise ValueError(f"batch must be at most the problem's {examples} examples, "
                         f"got {config.batch}")
    params = 8.0 * problem.dim
    if params > MAX_DATA_BYTES:
        smaller = "smaller hidden layers" if getattr(problem, "hidden", None) else "fewer features"
        raise ValueError(f"the parameter vector of problem {problem.name!r} has {problem.dim:,} "
                         f"parameters, {params:.3g} bytes as float64, more than a run may take "
                         f"(at most {MAX_DATA_BYTES // 8:,} parameters, {MAX_DATA_BYTES:.3g} "
                         f"bytes); use {smaller}")
    data = data_bytes(problem)
    if data > MAX_DATA_BYTES:
        _refuse("the problem's data in bytes", data, MAX_DATA_BYTES,
                "use fewer examples or features")
    work = float(config.gradients) * config.batch * cost_per_example(problem)
    if work > MAX_WORK:
        _refuse("gradients x batch x parameters", work, MAX_WORK,
                "use fewer gradients, a smaller batch or a smaller problem")
    if config.buckets > problem.dim:
        raise ValueError(f"buckets must be at most the problem's {problem.dim} parameters, "
                         f"got {config.buckets}")
    messages = float(config.gradients) * config.buckets
    if messages > MAX_BUCKET_MESSAGES:
        _refuse("gradients x buckets (messages sent)", messages, MAX_BUCKET_MESSAGES,
                "use fewer buckets or fewer gradients")
    if config.policy.ring:
        held = 16.0 * config.workers * problem.dim      # a step's gradients, and their ring sum
        if held > MAX_DATA_BYTES:
            _refuse("allreduce: workers x parameters x 16 bytes", held, MAX_DATA_BYTES,
                    "use fewer workers or a smaller problem")
        if not isinstance(config.latency, float):
            draws = 2.0 * config.gradients * config.workers * config.buckets
            if draws > MAX_RING_DRAWS:
                _refuse("allreduce with a latency law: latencies drawn (2 x gradients x "
                        "workers x buckets)", draws, MAX_RING_DRAWS,
                        "use a constant latency, fewer workers, buckets or gradients")
    if config.policy.gossip or config.policy.averages_models:
        # gossip: every worker's model; local:H, diloco:H: a round's updates, kept
        # until it closes to measure the client drift (asynclab.drift)
        held = 8.0 * config.workers * problem.dim
        if held > MAX_DATA_BYTES:
            _refuse(f"{config.policy.name}: workers x parameters x 8 bytes", held,
                    MAX_DATA_BYTES, "use fewer workers or a smaller problem")
    evals = min(config.eval_points, config.gradients + 1)
    eval_work = float(evals) * (examples + _held_out_examples(problem)) * cost_per_example(problem)
    if eval_work > MAX_EVAL_WORK:
        _refuse("loss evaluations x examples x parameters", eval_work, MAX_EVAL_WORK,
                "use fewer eval_points or a smaller problem")
    if config.backend == "simulated":
        seconds = virtual_seconds(config)
        if not seconds <= MAX_VIRTUAL_SECONDS:      # also catches inf and NaN
            raise ValueError(f"the run would take about {seconds:.3g} simulated seconds, more "
                             f"than the {MAX_VIRTUAL_SECONDS:.0e} a run may take (its times would "
                             "overflow); use a larger bandwidth or server_bandwidth, or a "
                             "smaller latency, compute time or apply_time")
    else:
        # Mean seconds real workers sleep: per message, per gradient, per allreduce step.
        latency = config.latency
        mean = latency if isinstance(latency, float) else latency.mean
        injected = [("latency" if isinstance(latency, float) else "latency (mean)", mean)]
        nbytes, bandwidth, n = problem.nbytes, config.bandwidth, config.workers
        if math.isfinite(bandwidth):
            injected.append((f"message time (latency + {nbytes:g} bytes / bandwidth "
                             f"{bandwidth:g})", mean + nbytes / bandwidth))
        if config.delay is not None:
            injected.append(("delay (mean)", config.delay.mean))
        if config.policy.ring:     # 2(N-1) rounds a step, each latency + bytes / (N bandwidth)
            injected.append((f"allreduce step time (2(N-1) = {2 * (n - 1)} ring rounds)",
                             ring_time(n, mean, nbytes, bandwidth)))
        if config.buckets > 1:     # K parts, each its own message (or ring)
            k = config.buckets
            part = (ring_time(n, mean, nbytes / k, bandwidth) if config.policy.ring
                    else mean + nbytes / (k * bandwidth))
            injected.append((f"a gradient's {k} bucket messages", k * part))
        for name, seconds in injected:
            if seconds > MAX_INJECTED_SECONDS:
                raise ValueError(f"{name} must be at most {MAX_INJECTED_SECONDS:g} s on real "
                                 f"workers (it is slept for real), got {seconds:g}")


def virtual_seconds(config) -> float:
    """A rough upper estimate of a simulated run's length in virtual seconds: every
    gradient computed and sent one after another, at the slowest worker's mean
    pace, through the server's link too."""
    timing, nbytes = config.timing, config.problem.nbytes
    latency = timing.latency if isinstance(timing.latency, float) else timing.latency.mean
    slowest = max(timing.speeds, default=1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        compute = np.float64(timing.compute.mean) * slowest * timing.straggle_factor
        message = latency + np.float64(nbytes) / timing.bandwidth
        server = np.float64(nbytes) / config.server_bandwidth
        step = compute + 2 * message + 2 * server + timing.apply_time
        if config.policy.ring:
            step += ring_time(config.workers, latency, nbytes, timing.bandwidth)
        if config.buckets > 1:      # each part pays the latency again (a ring's, 2(N-1) times)
            rounds = 2 * (config.workers - 1) if config.policy.ring else 1
            step += (config.buckets - 1) * rounds * latency
        return float(np.float64(config.gradients) * step)


def check_batch(configs):
    """Raise ValueError (one line) if the runs of ``configs`` together cost too much:
    each is checked when its Config is made; here their number and total work."""
    if len(configs) > MAX_RUNS:
        raise ValueError(f"runs must be at most {MAX_RUNS:,} in one call, got {len(configs):,} "
                         "(learning rates x momenta x seeds x policies)")
    work = sum(float(c.gradients) * c.batch * cost_per_example(c.problem) for c in configs)
    if work > MAX_BATCH_WORK:
        _refuse("gradients x batch x parameters over all runs", work, MAX_BATCH_WORK,
                "use fewer learning rates, seeds or gradients")


def cost_per_example(problem) -> float:
    """Multiply-adds of one example's gradient: one per parameter it touches. That
    is every parameter of a dense model (a linear one, or an MLP: all its weights,
    not just one per input), one per stored feature of a sparse one."""
    nonzeros = getattr(problem, "nonzeros", None)
    return float(nonzeros if nonzeros is not None else problem.dim)


def _held_out_examples(problem) -> int:
    """Examples an evaluation point scores besides the training set."""
    return problem.test_examples + problem.validation_examples


def data_bytes(problem) -> float:
    """Bytes of the data a problem generates or loads (float64 values), training
    and held-out (validation and test) examples, plus its parameter vector."""
    examples = problem.train_examples + _held_out_examples(problem)
    nonzeros = getattr(problem, "nonzeros", None)
    features = getattr(problem, "features", problem.dim)
    per_example = 16 * nonzeros if nonzeros is not None else 8 * features
    return float(examples) * per_example + 8.0 * problem.dim
