"""One setting run with several seeds (``Runs``), and two policies compared seed by seed.

``Runs.summary`` estimates every numeric Summary field over the seeds, each
with the interval that fits what it measures (see asynclab.stats):

- positive quantities, ``POSITIVE`` (times and a rate): geometric mean and a
  log-scale t-interval, which never goes below zero; if a value is zero (a
  target already met at the start), the arithmetic mean with its interval cut
  at zero;
- bounded ones, ``RANGES`` (an accuracy and the fractions of time in [0, 1];
  counts, staleness and distances, at least 0): the arithmetic mean, its
  t-interval cut to that range;
- the rest (the losses, which a problem may define as any real number, and
  the settings every run shares): the arithmetic mean and its t-interval.
  The seed is left out: ``Runs.seeds`` lists them.

``Paired``: a policy's metric over a baseline policy's on the same seeds
(``compare(..., baseline="sync")``): the geometric mean of per-seed ratios and
its 95% interval. A seed where either run did not reach is left out and named.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .config import Config
from .stats import Estimate, bounded_estimate, estimate, paired_ratio, positive_estimate

__all__ = ["Runs", "Paired", "POSITIVE", "RANGES", "field_estimate", "metric_value"]

POSITIVE = ("time", "time_to_target", "time_to_accuracy", "gradients_per_second")
FRACTIONS = ("final_accuracy", "final_validation_accuracy", "compute_fraction", "comm_fraction", "idle_fraction",
             "wait_fraction", "queue_fraction", "transfer_fraction", "overlap_fraction")
COUNTS = ("updates", "dropped", "mean_staleness", "max_staleness", "bytes_sent", "bytes_pushed",
          "bytes_pulled", "client_drift", "consensus_distance")
RANGES = {**{name: (0.0, 1.0) for name in FRACTIONS},
          **{name: (0.0, math.inf) for name in COUNTS}}


def field_estimate(name, values, level=0.95) -> Estimate:
    """The estimate of Summary field ``name`` over ``values`` (see the module docstring)."""
    if name in POSITIVE:
        return positive_estimate(values, level)
    if name in RANGES:
        return bounded_estimate(values, *RANGES[name], level=level)
    return estimate(values, level)


def metric_value(result, metric):
    """The run's metric, or None if it did not get there (or diverged)."""
    value = getattr(result.summary, metric, None)
    if result.summary.diverged or value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class Paired:
    """``metric`` of one policy over the ``baseline`` policy's, seed by seed."""
    policy: str
    baseline: str
    metric: str
    ratio: Estimate           # geometric mean of per-seed ratios; below 1: policy is faster
    seeds: tuple              # the seeds where both runs reached
    left_out: tuple           # the seeds where either run did not reach (or diverged)

    @classmethod
    def of(cls, runs, baseline_runs, metric) -> Paired:
        mine = {r.config.seed: metric_value(r, metric) for r in runs.results}
        theirs = {r.config.seed: metric_value(r, metric) for r in baseline_runs.results}
        if sorted(mine) != sorted(theirs):
            raise ValueError(f"a paired comparison needs the same seeds, got {sorted(mine)} "
                             f"for {runs.policy} and {sorted(theirs)} for {baseline_runs.policy}")
        both = [s for s in mine if mine[s] is not None and theirs[s] is not None]
        ratio = paired_ratio([mine[s] for s in both], [theirs[s] for s in both])
        return cls(runs.policy, baseline_runs.policy, metric, ratio, tuple(both),
                   tuple(s for s in mine if s not in both))

    def __str__(self):
        text = f"{self.metric} of {self.policy} / {self.baseline}: {self.ratio}"
        text += f" over seeds {', '.join(map(str, self.seeds))}" if self.seeds else ""
        if self.left_out:
            text += (f" (left out: seeds {', '.join(map(str, self.left_out))}, where "
                     "either run did not reach)")
        return text

    def to_dict(self) -> dict:
        return {"baseline": self.baseline, "metric": self.metric, **self.ratio.to_dict(),
                "seeds": list(self.seeds), "left_out": list(self.left_out)}


@dataclass(frozen=True)
class Runs:
    """One setting run with several seeds: the Results, and the mean and 95% CI of
    each numeric summary figure (over the runs that have it: time_to_target only
    over those that reached the target). After ``compare(..., tune=True)`` the
    results come from the report seeds and ``tuning`` holds the runs, on other
    seeds, that chose the setting."""
    config: Config            # the setting, with the first seed
    results: tuple
    tuning: object = None     # the asynclab.tuning.Tuning that chose the setting, if tuned
    paired: Paired | None = None        # against compare's baseline policy

    @property
    def policy(self) -> str:
        return str(self.config.policy)

    @property
    def seeds(self) -> tuple:
        return tuple(r.config.seed for r in self.results)

    def estimate(self, name) -> Estimate:
        values = [getattr(r.summary, name) for r in self.results]
        return field_estimate(name, [v for v in values if _is_number(v) and math.isfinite(v)])

    @property
    def summary(self) -> dict:
        """``{field: Estimate}`` for every numeric field of the runs' summaries but
        the seed (the runs' seeds are ``seeds``)."""
        names = [f.name for f in dataclasses.fields(self.results[0].summary)]
        return {name: self.estimate(name) for name in names if name != "seed"
                and any(_is_number(getattr(r.summary, name)) for r in self.results)}

    def to_dict(self) -> dict:
        d = {"policy": self.policy, "lr": self.config.lr, "momentum": self.config.momentum,
             "seeds": list(self.seeds),
             "summary": {name: e.to_dict() for name, e in self.summary.items()}}
        if self.tuning is not None:
            d["tuning"] = self.tuning.to_dict()
        if self.paired is not None:
            d["paired"] = self.paired.to_dict()
        return d

    def __repr__(self):
        s = self.summary
        seeds = f"seeds {_seed_text(self.seeds)}"
        if self.tuning is not None:
            seeds += f", tuned on seeds {_seed_text(self.tuning.seeds)}"
        paired = "" if self.paired is None else f", {self.paired.metric} / " \
            f"{self.paired.baseline}'s {self.paired.ratio}"
        return (f"<Runs {self.policy}, lr {self.config.lr:g}, momentum "
                f"{self.config.momentum:g}, {seeds}: time {s['time']}, "
                f"final loss {s['final_loss']}{paired}>")


def _seed_text(seeds) -> str:
    """``3-7`` for consecutive seeds, else ``1, 4, 9``."""
    seeds = list(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
