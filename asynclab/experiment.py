"""Running experiments: ``run`` one Config, ``compare`` several policies.

Both are plain functions over Configs. Many runs at once go through
:func:`asynclab.parallel.run_many` (``jobs=``), learning rates are tuned by
:func:`asynclab.tuning.tune`.
"""
from __future__ import annotations

from .backends import get_backend
from .config import Config
from .parallel import run_many, seed_list
from .policies import parse_policy_list
from .tuning import Runs, tune_all


def run(config: Config | None = None, /, **changes):
    """Run one experiment and return its :class:`~asynclab.results.Result`.

    Either pass a Config, or keyword fields of Config, or both (the keywords
    override the Config's fields)::

        run(policy="sync", workers=8, gradients=4000, seed=1)
    """
    if config is None:
        config = Config(**changes)
    elif changes:
        config = config.replace(**changes)
    return get_backend(config.backend)(config)


def compare(policies, config: Config | None = None, /, *, seeds=None, tune=False, lrs=None,
            metric="time_to_target", jobs=1, **changes):
    """Run the same experiment under several policies.

    ``policies`` is a list such as ``["sync", "async", "ssp:2"]`` or one
    comma-separated string ``"sync,async,ssp:2"``. By default each policy runs
    once, at the Config's ``lr`` and ``seed``, and the answer is
    ``{policy: Result}``.

    For a fair comparison give ``seeds`` (a count from ``seed``, or a list)
    and/or ``tune=True``: each policy then runs with every seed, at its own best
    rate of ``lrs`` by ``metric`` when tuned (see :func:`asynclab.tune`), and the
    answer is ``{policy: Runs}``: the Results, means and 95% confidence
    intervals of every summary figure (``runs["sync"].summary["time"]``), and
    the tuning table. ``jobs`` > 1 runs in worker processes, bit-identically.
    """
    policies = parse_policy_list(policies)
    base = config.replace(**changes) if config is not None else Config(**changes)
    configs = [base.replace(policy=p) for p in policies]
    names = [str(c.policy) for c in configs]
    if seeds is None and not tune:
        return dict(zip(names, run_many(configs, jobs=jobs)))
    seeds = 3 if seeds is None else seeds
    if tune:
        tunings = tune_all(configs, lrs=lrs, seeds=seeds, metric=metric, jobs=jobs)
        return {name: t.best_runs() for name, t in zip(names, tunings)}
    results = iter(run_many(configs, seeds=seeds, jobs=jobs))
    grouped = [tuple(next(results) for _ in seed_list(c, seeds)) for c in configs]
    return {name: Runs(runs[0].config, runs) for name, runs in zip(names, grouped)}
