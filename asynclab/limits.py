"""What one run may cost: sizes that would take hours or all memory are refused up front.

A Config is checked here after its fields are valid one by one. Each limit
is a rough budget, not a promise: the goal is that a typo (``--gradients
1e12``, ``--examples 10**9``) gives one clear line at once instead of a run
that never ends or a machine that runs out of memory.

Units: *work* counts multiply-adds of minibatch gradients (about 1e9 per
second on one core of a laptop), *bytes* the memory a run allocates.
"""
from __future__ import annotations

MAX_WORKERS = 100_000                # simulated workers (each is a generator and a few lists)
MAX_REAL_WORKERS = 256               # threads or processes on one machine
MAX_GRADIENTS = 10_000_000           # the trace keeps about 4 records per gradient
MAX_WORK = 1e12                      # gradients x batch x parameters: about 15-30 minutes
MAX_EVAL_WORK = 1e12                 # loss evaluations x examples x parameters
MAX_DATA_BYTES = 4 << 30             # a problem's generated or loaded data
MAX_INJECTED_SECONDS = 60.0          # one injected sleep on real workers (latency, delay)
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
    if config.gradients > MAX_GRADIENTS:
        raise ValueError(f"gradients must be at most {MAX_GRADIENTS:,}, got {config.gradients:,}")
    examples = getattr(problem, "examples", None)
    if examples is not None and config.batch > examples:
        raise ValueError(f"batch must be at most the problem's {examples} examples, "
                         f"got {config.batch}")
    data = data_bytes(problem)
    if data > MAX_DATA_BYTES:
        _refuse("the problem's data in bytes", data, MAX_DATA_BYTES,
                "use fewer examples or features")
    work = float(config.gradients) * config.batch * cost_per_example(problem)
    if work > MAX_WORK:
        _refuse("gradients x batch x parameters", work, MAX_WORK,
                "use fewer gradients, a smaller batch or a smaller problem")
    evals = min(config.eval_points, config.gradients + 1)
    eval_work = float(evals) * (examples or 1) * cost_per_example(problem)
    if eval_work > MAX_EVAL_WORK:
        _refuse("loss evaluations x examples x parameters", eval_work, MAX_EVAL_WORK,
                "use fewer eval_points or a smaller problem")
    if config.backend != "simulated":
        injected = [("latency", config.latency)]
        if config.delay is not None:
            injected.append(("delay (mean)", config.delay.mean))
        for name, seconds in injected:
            if seconds > MAX_INJECTED_SECONDS:
                raise ValueError(f"{name} must be at most {MAX_INJECTED_SECONDS:g} s on real "
                                 f"workers (it is slept for real), got {seconds:g}")


def check_batch(configs):
    """Raise ValueError (one line) if the runs of ``configs`` together cost too much:
    each is checked when its Config is made; here their number and total work."""
    if len(configs) > MAX_RUNS:
        raise ValueError(f"runs must be at most {MAX_RUNS:,} in one call, got {len(configs):,} "
                         "(learning rates x seeds x policies)")
    work = sum(float(c.gradients) * c.batch * cost_per_example(c.problem) for c in configs)
    if work > MAX_BATCH_WORK:
        _refuse("gradients x batch x parameters over all runs", work, MAX_BATCH_WORK,
                "use fewer learning rates, seeds or gradients")


def cost_per_example(problem) -> float:
    """Multiply-adds of one example's gradient: one per parameter for a dense linear
    model, one per stored feature for a sparse one."""
    nonzeros = getattr(problem, "nonzeros", None)
    return float(nonzeros if nonzeros is not None else problem.dim)


def data_bytes(problem) -> float:
    """Bytes of the data a problem generates or loads (float64 values)."""
    examples = getattr(problem, "examples", 0) or 0
    nonzeros = getattr(problem, "nonzeros", None)
    per_example = 16 * nonzeros if nonzeros is not None else 8 * problem.dim
    return float(examples) * per_example + 8.0 * problem.dim
