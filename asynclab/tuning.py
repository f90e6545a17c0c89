"""Fair comparisons: each policy at its own best learning rate, over several seeds.

    tuning = asynclab.tune(config, lrs=[0.1, 0.2, 0.5, 1, 2], seeds=3)
    tuning.best_lr, tuning.at_edge        # the chosen rate; True if it is the grid's end
    print(tuning)                         # every rate tried: mean, 95% CI, seeds reached

A *metric* is a Summary field where lower is better: ``time_to_target`` (needs
``target_loss``), ``final_loss``, or ``time_to_accuracy`` (a classification
run's). How runs that never get there count: a run *reaches* when its metric
has a value and it did not diverge. Rates are ranked first by how many seeds
reached, then by the mean metric over those seeds (the 95% t-interval is
over the same seeds), then by how few seeds diverged, then by the mean final
loss of the seeds that did not. The last two decide when no rate reached on
any seed, so a rate that diverged on some seeds never wins on the final loss
of the others. A rate that reached on 3 seeds of 3 beats one that was faster
on 2 of 3.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from . import limits
from .config import Config, _number
from .parallel import run_many, seed_list
from .stats import Estimate, estimate

__all__ = ["tune", "Tuning", "Row", "Runs", "METRICS", "DEFAULT_LRS"]

METRICS = ("time_to_target", "final_loss", "time_to_accuracy")
# The default grid: 1-2-5 steps over three decades, which holds the best rates of
# the lessons' problems for every policy (async near 0.1-0.5, sync near 1-5).
DEFAULT_LRS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def check_lrs(lrs) -> tuple:
    """The grid, sorted and without repeats; a clear error if it is empty or not positive."""
    if lrs is None:
        return DEFAULT_LRS
    if isinstance(lrs, (int, float)) or not list(lrs):
        raise ValueError(f"lrs must be a non-empty list of learning rates > 0, got {lrs!r}")
    return tuple(sorted({_number("lr", lr, low=0, strict=True) for lr in lrs}))


def check_metric(metric, config) -> str:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if metric == "time_to_target" and config.target_loss is None:
        raise ValueError("metric 'time_to_target' needs a target: set target_loss "
                         "(--target-loss) or choose metric 'final_loss'")
    if metric == "time_to_accuracy" and config.target_accuracy is None:
        raise ValueError("metric 'time_to_accuracy' needs a target: set target_accuracy "
                         "(--target-accuracy, a classification problem) or choose metric "
                         "'final_loss'")
    return metric


def metric_value(result, metric):
    """The run's metric, or None if it did not get there (or diverged)."""
    value = getattr(result.summary, metric, None)
    if result.summary.diverged or value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class Runs:
    """One setting run with several seeds: the Results, and mean and 95% CI of each
    numeric summary figure (over the runs that have it: time_to_target only
    over those that reached the target)."""
    config: Config            # the setting, with the first seed
    results: tuple
    tuning: "Tuning | None" = None

    @property
    def policy(self) -> str:
        return str(self.config.policy)

    def estimate(self, name) -> Estimate:
        values = [getattr(r.summary, name) for r in self.results]
        return estimate([v for v in values if _is_number(v) and math.isfinite(v)])

    @property
    def summary(self) -> dict:
        """``{field: Estimate}`` for every numeric field of the runs' summaries."""
        names = [f.name for f in dataclasses.fields(self.results[0].summary)]
        return {name: self.estimate(name) for name in names
                if any(_is_number(getattr(r.summary, name)) for r in self.results)}

    def to_dict(self) -> dict:
        d = {"policy": self.policy, "lr": self.config.lr,
             "seeds": [r.config.seed for r in self.results],
             "summary": {name: e.to_dict() for name, e in self.summary.items()}}
        if self.tuning is not None:
            d["tuning"] = self.tuning.to_dict()
        return d

    def __repr__(self):
        s = self.summary
        return (f"<Runs {self.policy}, lr {self.config.lr:g}, {len(self.results)} seeds: "
                f"time {s['time']}, final loss {s['final_loss']}>")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Row:
    """One learning rate of the grid, over the seeds."""
    lr: float
    estimate: Estimate        # of the metric, over the seeds that reached
    ok: int                   # seeds that reached (metric has a value, no divergence)
    diverged: int
    missed: int               # seeds that ended without reaching, without diverging
    final_loss: float         # mean final loss of the runs that did not diverge

    def rank_key(self):
        mean = self.estimate.mean if self.ok else math.inf
        return (-self.ok, mean, self.diverged,
                self.final_loss if math.isfinite(self.final_loss) else math.inf, self.lr)

    def to_dict(self):
        e = self.estimate.to_dict()
        return {"lr": self.lr, "mean": e["mean"], "ci_low": e["ci_low"],
                "ci_high": e["ci_high"], "ok": self.ok, "diverged": self.diverged,
                "missed": self.missed}


@dataclass(frozen=True)
class Tuning:
    """What ``tune`` found: every rate tried, the best one, and its runs."""
    policy: str
    metric: str
    seeds: tuple
    rows: tuple                              # one Row per rate, rates ascending
    best: Row
    runs: dict = field(repr=False, default_factory=dict)    # {lr: [Result per seed]}

    @property
    def best_lr(self) -> float:
        return self.best.lr

    @property
    def at_edge(self) -> bool:
        """The best rate is the smallest or largest tried: the optimum may lie beyond."""
        return len(self.rows) > 1 and self.best.lr in (self.rows[0].lr, self.rows[-1].lr)

    @property
    def reached(self) -> bool:
        """Whether the best rate reached the metric on at least one seed."""
        return self.best.ok > 0

    def best_runs(self) -> Runs:
        return Runs(self.runs[self.best_lr][0].config, tuple(self.runs[self.best_lr]), self)

    def to_dict(self) -> dict:
        return {"policy": self.policy, "metric": self.metric, "lr": self.best_lr,
                "at_edge": self.at_edge, "seeds": list(self.seeds),
                "rows": [row.to_dict() for row in self.rows]}

    def __str__(self):
        n = len(self.seeds)
        lines = [f"{self.policy}: {self.metric}, mean and 95% CI over the seeds that reached "
                 f"(of {n}: seeds {', '.join(map(str, self.seeds))})",
                 f"  {'lr':>8}  {'mean':>10}  {'95% CI':>23}  reached  diverged"]
        for row in self.rows:
            e = row.estimate
            ci = "-" if row.ok < 2 else f"[{e.low:.4g}, {e.high:.4g}]"
            mean = "-" if not row.ok else f"{e.mean:.4g}"
            mark = "  <- best" if row is self.best else ""
            lines.append(f"  {row.lr:>8g}  {mean:>10}  {ci:>23}  {row.ok:>4}/{n:<2}  "
                         f"{row.diverged:>8}{mark}")
        if not self.reached:
            lines.append("No rate reached on any seed: the best is the one with the fewest "
                         "diverged seeds, then the lowest mean final loss.")
        if self.at_edge:
            lines.append(f"The best rate {self.best_lr:g} is at the edge of the grid: "
                         "try rates beyond it.")
        elif len(self.rows) == 1:
            lines.append("Only one rate was tried: nothing shows that another is not better.")
        return "\n".join(lines)


def tune(config: Config | None = None, /, *, lrs=None, seeds=3, metric="time_to_target",
         jobs=1, **changes) -> Tuning:
    """Run ``config`` at every learning rate of ``lrs`` (default ``DEFAULT_LRS``) with
    ``seeds`` seeds (a count from ``config.seed``, or a list) and rank the rates
    by ``metric`` (see the module docstring). ``jobs`` > 1 runs in worker processes."""
    config = Config(**changes) if config is None else config.replace(**changes)
    return tune_all([config], lrs=lrs, seeds=seeds, metric=metric, jobs=jobs)[0]


def plan(configs, *, lrs=None, seeds=3, metric="time_to_target") -> list:
    """The runs that tuning ``configs`` takes, every rate with every seed, checked
    before any of them starts (ValueError naming the bad value)."""
    lrs = check_lrs(lrs)
    for config in configs:
        check_metric(metric, config)
    batch = [config.replace(lr=lr, seed=s) for config in configs
             for lr in lrs for s in seed_list(config, seeds)]
    limits.check_batch(batch)
    return batch


def tune_all(configs, *, lrs=None, seeds=3, metric="time_to_target", jobs=1) -> list:
    """``tune`` for several Configs (usually one per policy), all runs in one batch."""
    results = iter(run_many(plan(configs, lrs=lrs, seeds=seeds, metric=metric), jobs=jobs))
    lrs = check_lrs(lrs)
    tunings = []
    for config in configs:
        seeds_used = seed_list(config, seeds)
        runs = {lr: [next(results) for _ in seeds_used] for lr in lrs}
        rows = tuple(_row(lr, runs[lr], metric) for lr in lrs)
        best = min(rows, key=Row.rank_key)
        tunings.append(Tuning(str(config.policy), metric, tuple(seeds_used), rows, best, runs))
    return tunings


def _row(lr, results, metric) -> Row:
    values = [metric_value(r, metric) for r in results]
    diverged = sum(r.summary.diverged for r in results)
    finals = [r.summary.final_loss for r in results
              if not r.summary.diverged and math.isfinite(r.summary.final_loss)]
    return Row(lr, estimate([v for v in values if v is not None]),
               ok=sum(v is not None for v in values), diverged=diverged,
               missed=sum(v is None for v in values) - diverged,
               final_loss=math.fsum(finals) / len(finals) if finals else math.inf)
