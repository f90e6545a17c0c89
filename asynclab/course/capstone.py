"""The capstone of the course: tune a strategy for a described cluster, checked on the simulator.

The cluster is fixed (``CLUSTER``, told in words by ``describe()``;
asynclab.course.capstone_cluster): 16 machines training the MLP of lesson 10 on
the digits, with stragglers and a parameter server that applies one push at a
time. The learner chooses only what an engineer running a job on it could choose::

    from asynclab.course import capstone
    print(capstone.describe())
    report = capstone.check({"policy": "async", "lr": 0.1})

``check`` runs the choice on the seeds ``REPORT_SEEDS`` next to two references,
synchronous and asynchronous SGD on all 16 workers, each at its own learning rate
and momentum tuned on other seeds (``TUNING_SEEDS``; stored as data by
asynclab.course.capstone_references, since tuning takes 264 runs). It passes when
the choice reached the target validation accuracy in every run and, against each
reference, the seed-by-seed ratio of the times has its whole 95% interval below 1
(asynclab.stats.paired_ratio): faster than the better reference, beyond the
noise of five seeds. Its feedback explains each difference as *updates needed*
times *seconds per update*, and names what made either factor large. A choice
that still holds the placeholder ``...`` (or lacks a policy or a learning rate) is
told what is missing, without running anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np

from ..parallel import run_many
from ..stats import Estimate, paired_ratio
from .capstone_cluster import CLUSTER, TUNABLE, config, describe, label, missing
from .capstone_feedback import explain, row
from .capstone_references import LEARNING_RATES, MOMENTA, TUNING_SEEDS
from .capstone_references import choices as reference_choices

__all__ = ["CLUSTER", "TUNABLE", "LEARNING_RATES", "MOMENTA", "TUNING_SEEDS", "REPORT_SEEDS",
           "describe", "config", "missing", "measure", "references", "reference_choices",
           "check", "Measurement", "Report"]

REPORT_SEEDS = (3, 4, 5, 6, 7)       # fresh: the references were tuned on TUNING_SEEDS
JOBS = 2                             # worker processes for the check's runs


def _geometric_mean(values):
    values = list(values)
    if any(not math.isfinite(v) for v in values):
        return math.inf
    return float(np.exp(np.mean(np.log(values))))


@dataclass(frozen=True)
class Measurement:
    """One strategy's runs on REPORT_SEEDS, summarised (times in simulated seconds)."""
    label: str
    config: object
    times: tuple             # time to the target accuracy per seed (inf: not reached)
    updates: float           # geometric mean of the updates applied when it was reached
    wait: float              # mean fractions of the workers' time: at a barrier or bound,
    queue: float             # in the server's queue,
    comm: float              # sending their own messages
    staleness: float
    accuracy: float          # mean final test accuracy (a run that failed counts as 0)
    diverged: int            # runs whose loss became infinite or NaN

    @property
    def time(self):
        """Geometric mean of the times (inf if a run did not reach the target)."""
        return _geometric_mean(self.times)

    @property
    def per_update(self):
        return self.time / self.updates if math.isfinite(self.updates) else math.inf

    @property
    def idle(self):
        return self.wait + self.queue


def _measurement(cfg, runs) -> Measurement:
    target = cfg.target_accuracy
    times = [r.history.time_to(target, "validation_accuracy") for r in runs]
    updates = [r.history.updates_to(target, "validation_accuracy") for r in runs]

    def mean(field):
        return float(np.mean([getattr(r.summary, field) for r in runs]))
    return Measurement(
        label(cfg), cfg, tuple(math.inf if t is None else t for t in times),
        _geometric_mean(math.inf if u is None else u for u in updates),
        mean("wait_fraction"), mean("queue_fraction"), mean("transfer_fraction"),
        mean("mean_staleness"),
        float(np.mean([r.summary.final_accuracy if r.summary.final_accuracy is not None
                       and math.isfinite(r.summary.final_accuracy) else 0.0 for r in runs])),
        sum(r.summary.diverged for r in runs))


def _measure_all(configs) -> list:
    """A Measurement of each Config on REPORT_SEEDS, all runs in one batch."""
    seeds = len(REPORT_SEEDS)
    results = run_many(list(configs), seeds=list(REPORT_SEEDS), jobs=JOBS)
    return [_measurement(cfg, results[seeds * i:seeds * (i + 1)])
            for i, cfg in enumerate(configs)]


def measure(cfg) -> Measurement:
    """``cfg`` run on every seed of REPORT_SEEDS, summarised."""
    return _measure_all([cfg])[0]


_REFERENCES = {}     # {name: Measurement} of the references, measured once per session


def _reference_configs() -> list:
    return [CLUSTER.replace(**choice) for choice in reference_choices().values()]


def references() -> dict:
    """{name: Measurement} of the references on REPORT_SEEDS (run once per session)."""
    if not _REFERENCES:
        _REFERENCES.update(zip(reference_choices(), _measure_all(_reference_configs())))
    return dict(_REFERENCES)


@dataclass(frozen=True)
class Report:
    yours: Measurement | None     # None: the choice was incomplete and nothing ran
    references: dict
    lines: tuple
    paired: dict = None           # {name: Estimate of your time / its time, seed by seed}

    @property
    def reached(self):
        return self.yours is not None and math.isfinite(self.yours.time)

    def beats(self, name):
        """Faster than reference ``name``: the whole 95% interval of the ratio below 1
        (or the reference missed the target on a seed on which you reached it)."""
        ratio = self.paired[name] if self.reached else None
        return self.reached and (ratio is None or ratio.high < 1)

    @property
    def passed(self):
        return self.reached and all(self.beats(name) for name in self.references)

    def __str__(self):
        return "\n".join(self.lines)


def _seed_text():
    return f"seeds {REPORT_SEEDS[0]}-{REPORT_SEEDS[-1]}"


def _ratio_text(report, name) -> str:
    ratio = report.paired[name]
    if ratio is None:       # you reached the target on every seed; this reference did not
        return f"/ {name}'s: {name} missed the target on a seed"
    return (f"/ {name}'s = {ratio.mean:.2f} [{ratio.low:.2f}, {ratio.high:.2f}]"
            + ("" if report.beats(name) else " (not below 1)"))


def _verdict(report) -> str:
    if not report.reached:
        return (f"✗ Not yet: your strategy must reach {CLUSTER.target_accuracy:.0%} "
                f"validation accuracy in every run ({_seed_text()}).")
    by_time = sorted(report.references, key=lambda name: report.references[name].time)
    ratios = ", ".join(_ratio_text(report, name) for name in by_time)
    if report.passed:
        best = report.references[by_time[0]]
        return (f"✓ You beat both references over {_seed_text()}, each 95% interval below 1: "
                f"your time {ratios}. That is {best.time / report.yours.time:.1f}x sooner than "
                f"the better reference ({best.label}).")
    return (f"✗ Not yet: over {_seed_text()}, your time {ratios}. Beat each reference with "
            "the whole 95% interval below 1.")


def check(choice, show=True) -> Report:
    """Run ``choice`` on the cluster, compare it with the references, explain; print the
    feedback (``show=False``: only return it) and return the Report."""
    if missing(choice):
        report = Report(None, {}, (
            f"✗ Not yet: your choice still needs {' and '.join(missing(choice))}. Replace each "
            "... with your value, e.g. {'policy': 'async', 'lr': 0.1}; you may also set "
            f"workers (1-{CLUSTER.workers}), staleness_aware (True/False), momentum "
            "(0 to below 1) and the other options describe() lists.",), {})
        if show:
            print(report)
        return report
    cfg = config(choice)
    if _REFERENCES:
        yours = measure(cfg)
    else:                             # the first check: the references' runs in its batch
        yours, *measured = _measure_all([cfg] + _reference_configs())
        _REFERENCES.update(zip(reference_choices(), measured))
    refs = references()
    paired = {name: _paired(yours, ref) for name, ref in refs.items()}
    lines = [f"Your strategy: {yours.label}", row(yours),
             f"References (each tuned on seeds {', '.join(map(str, TUNING_SEEDS))}):"]
    lines += [row(m) for m in refs.values()]
    lines += [f"Why (time to the target = updates needed x seconds per update; geometric "
              f"means over {_seed_text()}):"]
    lines += [f"- {why}" for why in explain(yours, refs, len(REPORT_SEEDS))]
    report = Report(yours, refs, tuple(lines), paired)
    report = Report(yours, refs, tuple(lines + [_verdict(report)]), paired)
    if show:
        print(report)
    return report


def _paired(yours, ref) -> Estimate | None:
    """Your time over ``ref``'s, seed by seed, with its 95% interval (None: a run of
    yours or of the reference did not reach the target, so there is no ratio on every
    seed)."""
    if not (math.isfinite(yours.time) and math.isfinite(ref.time)):
        return None
    return paired_ratio(yours.times, ref.times)
