"""Running experiments: ``run`` one Config, ``compare`` several policies.

Both are plain functions over Configs. Many runs at once go through
:func:`asynclab.parallel.run_many` (``jobs=``), learning rates (and momenta)
are tuned by :func:`asynclab.tuning.tune`. A tuned comparison reports each
policy's chosen setting on fresh seeds, other than those that chose it: the
best of a grid measured on the seeds that picked it is biased low (the winner
is partly the luckiest), and new seeds remove that bias.
"""
from __future__ import annotations

import dataclasses

from . import limits
from .backends import get_backend
from .config import Config
from .parallel import run_many, seed_list
from .policies import parse_policy, parse_policy_list
from .runs import POSITIVE, Paired, Runs
from .tuning import plan, tune_all


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
            momenta=None, report_seeds=None, baseline=None, metric="time_to_target", jobs=1,
            **changes):
    """Run the same experiment under several policies.

    ``policies`` is a list such as ``["sync", "async", "ssp:2"]`` or one
    comma-separated string ``"sync,async,ssp:2"``. By default each policy runs
    once, at the Config's ``lr`` and ``seed``, and the answer is
    ``{policy: Result}``.

    For a fair comparison give ``seeds`` (a count from ``seed``, or a list;
    default 3) and/or ``tune=True``: the answer is then ``{policy: Runs}``: the Results,
    means and 95% confidence intervals of every summary figure
    (``runs["sync"].summary["time"]``). Untuned, each policy runs with every
    seed. Tuned, each policy runs with every seed at every rate of ``lrs`` (and
    every momentum of ``momenta``; see :func:`asynclab.tune`), the best setting
    by ``metric`` is chosen, and then run again on ``report_seeds``, which the
    Runs hold (its ``tuning`` holds the tuning seeds' runs). ``report_seeds``
    is a count K (the K seeds after the largest tuning seed; default: as many
    as there are tuning seeds) or a list sharing no seed with the tuning seeds.

    ``baseline="sync"`` (one of ``policies``, and ``metric`` a time) gives every
    other policy's Runs a ``paired`` ratio of its metric over the baseline's on
    the same seeds: the geometric mean of per-seed ratios and its 95% interval;
    seeds where either run did not reach are left out, and named.
    ``jobs`` > 1 runs in worker processes, bit-identically. The outer
    optimiser's settings (``outer_lr``, ``outer_momentum``) go to the diloco:H
    policies only, as ``topology`` matters to gossip only.
    """
    policies = parse_policy_list(policies)
    base = config.replace(**changes) if config is not None else Config(**changes)
    configs = [_with_policy(base, p) for p in policies]
    names = [str(c.policy) for c in configs]
    if seeds is None and not tune and baseline is None and momenta is None \
            and report_seeds is None:
        return dict(zip(names, run_many(configs, jobs=jobs)))
    seeds = 3 if seeds is None else seeds
    report = check_compare(configs, seeds=seeds, tune=tune, lrs=lrs, momenta=momenta,
                           report_seeds=report_seeds, baseline=baseline, metric=metric)
    if tune:
        runs = _tuned(configs, report, lrs=lrs, momenta=momenta, seeds=seeds, metric=metric,
                      jobs=jobs)
    else:
        results = iter(run_many(configs, seeds=seeds, jobs=jobs))
        grouped = [tuple(next(results) for _ in seed_list(c, seeds)) for c in configs]
        runs = [Runs(group[0].config, group) for group in grouped]
    runs = dict(zip(names, runs))
    if baseline is None:
        return runs
    baseline = str(parse_policy(baseline))
    return {name: r if name == baseline else
            dataclasses.replace(r, paired=Paired.of(r, runs[baseline], metric))
            for name, r in runs.items()}


def check_compare(configs, *, seeds=3, tune=False, lrs=None, momenta=None, report_seeds=None,
                  baseline=None, metric="time_to_target") -> list | None:
    """Check a comparison of ``configs`` (one per policy) over ``seeds`` before any
    run starts, its run count included (ValueError naming the bad value), and
    return the report seeds (None when not tuned)."""
    names = [str(c.policy) for c in configs]
    if baseline is not None:
        _check_baseline(baseline, names, metric, configs[0])
    if not tune:
        if momenta is not None or report_seeds is not None:
            raise ValueError("momenta and report_seeds go with tune=True (to run at one "
                             "momentum, set momentum=)")
        limits.check_batch([c.replace(seed=s) for c in configs for s in seed_list(c, seeds)])
        return None
    report = report_seed_list(seed_list(configs[0], seeds), report_seeds)
    reports = [c.replace(seed=s) for c in configs for s in report]
    limits.check_batch(plan(configs, lrs=lrs, momenta=momenta, seeds=seeds, metric=metric)
                       + reports)          # all runs, counted before any of them starts
    return report


def report_seed_list(tuning_seeds, report_seeds=None) -> list:
    """The seeds a tuned setting is reported on: a count K means the K seeds after
    the largest tuning seed (None: as many as there are tuning seeds); a list
    must share no seed with ``tuning_seeds``."""
    if report_seeds is None:
        report_seeds = len(tuning_seeds)
    chosen = seed_list(None, report_seeds, first=max(tuning_seeds) + 1, name="report_seeds")
    shared = sorted(set(chosen) & set(tuning_seeds))
    if shared:
        raise ValueError(f"report_seeds must not include a tuning seed (tuning seeds "
                         f"{', '.join(map(str, tuning_seeds))}), got {report_seeds!r}, "
                         f"which shares {', '.join(map(str, shared))}")
    return chosen


def _with_policy(base, policy) -> Config:
    """``base`` under ``policy``, without an outer optimiser unless it has one."""
    if parse_policy(policy).outer is None:
        return base.replace(policy=policy, outer_lr=None, outer_momentum=None)
    return base.replace(policy=policy)


def _tuned(configs, report, *, lrs, momenta, seeds, metric, jobs) -> list:
    """Each Config tuned on ``seeds``, its best setting then run on the ``report`` seeds."""
    tunings = tune_all(configs, lrs=lrs, momenta=momenta, seeds=seeds, metric=metric,
                       jobs=jobs)
    best = [t.best_runs().config for t in tunings]
    results = iter(run_many([c.replace(seed=s) for c in best for s in report], jobs=jobs))
    runs = []
    for tuning in tunings:
        group = tuple(next(results) for _ in report)
        runs.append(Runs(group[0].config, group, tuning))
    return runs


def _check_baseline(baseline, names, metric, config) -> str:
    name = str(parse_policy(baseline))
    if name not in names:
        raise ValueError(f"baseline {baseline!r} must be one of the policies compared: "
                         f"{', '.join(names)}")
    if metric not in POSITIVE:
        raise ValueError(f"baseline compares times: metric must be time_to_target or "
                         f"time_to_accuracy, got {metric!r}")
    target = "target_loss" if metric == "time_to_target" else "target_accuracy"
    if getattr(config, target) is None:
        raise ValueError(f"baseline compares {metric}, which needs a target: set {target} "
                         f"(--{target.replace('_', '-')})")
    return name
