"""Fair comparisons: each policy at its own best learning rate (and momentum), over seeds.

    tuning = asynclab.tune(config, lrs=[0.1, 0.2, 0.5, 1, 2], seeds=3)
    tuning.best_lr, tuning.at_edge        # the chosen rate; True if it is the grid's end
    print(tuning)                         # every rate tried: mean, 95% CI, seeds reached
    tuning = asynclab.tune(config, lrs=[0.1, 0.5, 2], momenta=[0, 0.5, 0.9])
    tuning.best_lr, tuning.best_momentum  # the best pair of the 3 x 3 grid

A *metric* is a Summary field where lower is better: ``time_to_target`` (needs
``target_loss``), ``final_loss``, or ``time_to_accuracy`` (a classification
run's). How runs that never get there count: a run *reaches* when its metric
has a value and it did not diverge. Settings (a rate, or a rate and a
momentum) are ranked first by how many seeds reached, then by the mean metric
over those seeds (the 95% interval is over the same seeds), then by how few
seeds diverged, then by the mean final loss of the seeds that did not, then
the smaller rate, then the smaller momentum. The middle two decide when no
setting reached on any seed, so a rate that diverged on some seeds never wins
on the final loss of the others. A rate that reached on 3 seeds of 3 beats one
that was faster on 2 of 3.

The mean of a time (``time_to_target``, ``time_to_accuracy``) is the geometric
mean, with its interval on the log scale (asynclab.runs, asynclab.stats), and
the ranking uses that same mean, so the row marked best has the lowest mean of
those with the most seeds reached. It weighs one slow seed less than the
arithmetic mean does; a rate that fails on some seeds still loses first on
seeds reached. ``final_loss`` keeps the arithmetic mean and its t-interval.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import limits
from .config import Config, _number
from .parallel import run_many, seed_list
from .runs import POSITIVE, Runs, field_estimate, metric_value
from .stats import Estimate

__all__ = ["tune", "Tuning", "Row", "METRICS", "DEFAULT_LRS"]

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


def check_momenta(momenta) -> tuple | None:
    """The momentum grid, sorted and without repeats (None: momentum is not tuned)."""
    if momenta is None:
        return None
    if isinstance(momenta, (int, float, str)) or not list(momenta):
        raise ValueError(f"momenta must be a non-empty list of momenta in [0, 1), "
                         f"got {momenta!r}")
    grid = {_number("momentum", m) for m in momenta}
    for m in sorted(grid):
        if not 0 <= m < 1:
            raise ValueError(f"momenta must each be in [0, 1), got {m!r}")
    return tuple(sorted(grid))


def settings(lrs, momenta) -> list:
    """The (lr, momentum) pairs of the grid, by momentum then rate; momentum None
    when it is not tuned (the Config's)."""
    return [(lr, m) for m in (momenta or (None,)) for lr in lrs]


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


@dataclass(frozen=True)
class Row:
    """One setting of the grid (a rate, and a momentum if tuned), over the seeds."""
    lr: float
    estimate: Estimate        # of the metric, over the seeds that reached
    ok: int                   # seeds that reached (metric has a value, no divergence)
    diverged: int
    missed: int               # seeds that ended without reaching, without diverging
    final_loss: float         # mean final loss of the runs that did not diverge
    momentum: float | None = None     # None: not tuned (the runs kept the Config's)

    @property
    def key(self):
        """This row's key in ``Tuning.runs``: the rate, or (rate, momentum) if tuned."""
        return self.lr if self.momentum is None else (self.lr, self.momentum)

    def rank_key(self):
        mean = self.estimate.mean if self.ok else math.inf
        return (-self.ok, mean, self.diverged,
                self.final_loss if math.isfinite(self.final_loss) else math.inf, self.lr,
                self.momentum or 0.0)

    def to_dict(self):
        e = self.estimate.to_dict()
        tried = {"lr": self.lr}
        if self.momentum is not None:
            tried["momentum"] = self.momentum
        return {**tried, "mean": e["mean"], "ci_low": e["ci_low"], "ci_high": e["ci_high"],
                "scale": e["scale"], "ok": self.ok, "diverged": self.diverged,
                "missed": self.missed}


@dataclass(frozen=True)
class Tuning:
    """What ``tune`` found: every setting tried, the best one, and its runs."""
    policy: str
    metric: str
    seeds: tuple
    rows: tuple                              # one Row per setting, by momentum then rate
    best: Row
    runs: dict = field(repr=False, default_factory=dict)  # {Row.key: [Result per seed]}
    momenta: tuple | None = None             # the momentum grid (None: not tuned)

    @property
    def best_lr(self) -> float:
        return self.best.lr

    @property
    def best_momentum(self) -> float:
        """The best momentum tried, or the momentum every run kept if none were."""
        if self.best.momentum is not None:
            return self.best.momentum
        return self.best_runs().config.momentum

    @property
    def at_edge(self) -> bool:
        """The best rate is the smallest or largest tried, or the best momentum the
        largest tried, or the smallest if that is above 0: the optimum may lie beyond.
        (Momentum 0 is no edge: nothing lies below it.) An axis of one value has none."""
        return bool(self._edges())

    def _edges(self) -> list:
        """The axes whose best value is at an end of their grid: "rate", "momentum"."""
        lrs = sorted({row.lr for row in self.rows})
        momenta = self.momenta or ()
        edges = []
        if len(lrs) > 1 and self.best.lr in (lrs[0], lrs[-1]):
            edges.append("rate")
        if len(momenta) > 1 and (self.best.momentum == momenta[-1]
                                 or self.best.momentum == momenta[0] > 0):
            edges.append("momentum")
        return edges

    @property
    def reached(self) -> bool:
        """Whether the best setting reached the metric on at least one seed."""
        return self.best.ok > 0

    def best_runs(self) -> Runs:
        results = tuple(self.runs[self.best.key])
        return Runs(results[0].config, results, self)

    def to_dict(self) -> dict:
        return {"policy": self.policy, "metric": self.metric, "lr": self.best_lr,
                "momentum": self.best_momentum, "at_edge": self.at_edge,
                "seeds": list(self.seeds), "rows": [row.to_dict() for row in self.rows]}

    def __str__(self):
        n = len(self.seeds)
        geometric = self.metric in POSITIVE
        lines = [f"{self.policy}: {self.metric}, {'geometric ' if geometric else ''}mean and "
                 f"95% CI over the seeds that reached (of {n}: seeds "
                 f"{', '.join(map(str, self.seeds))})",
                 f"  {'lr':>8}" + (f"  {'momentum':>8}" if self.momenta else "")
                 + f"  {'mean':>10}  {'95% CI':>23}  reached  diverged"]
        for row in self.rows:
            e = row.estimate
            ci = "-" if row.ok < 2 else f"[{e.low:.4g}, {e.high:.4g}]"
            mean = "-" if not row.ok else f"{e.mean:.4g}"
            momentum = "" if row.momentum is None else f"  {row.momentum:>8g}"
            mark = "  <- best" if row is self.best else ""
            lines.append(f"  {row.lr:>8g}{momentum}  {mean:>10}  {ci:>23}  {row.ok:>4}/{n:<2}  "
                         f"{row.diverged:>8}{mark}")
        if geometric and any(row.ok and row.estimate.scale != "log" for row in self.rows):
            lines.append("A row with a time of 0 shows the arithmetic mean instead.")
        if not self.reached:
            lines.append(f"No {'setting' if self.momenta else 'rate'} reached on any seed: the "
                         "best is the one with the fewest diverged seeds, then the lowest mean "
                         "final loss.")
        edges = self._edges()
        if "rate" in edges:
            lines.append(f"The best rate {self.best_lr:g} is at the edge of the grid: "
                         "try rates beyond it.")
        elif len({row.lr for row in self.rows}) == 1:
            lines.append("Only one rate was tried: nothing shows that another is not better.")
        if "momentum" in edges:
            lines.append(f"The best momentum {self.best_momentum:g} is at the edge of its "
                         "grid: try momenta beyond it.")
        return "\n".join(lines)


def tune(config: Config | None = None, /, *, lrs=None, momenta=None, seeds=3,
         metric="time_to_target", jobs=1, **changes) -> Tuning:
    """Run ``config`` at every learning rate of ``lrs`` (default ``DEFAULT_LRS``),
    and with ``momenta`` (a list in [0, 1)) at every pair of rate and momentum,
    with ``seeds`` seeds (a count from ``config.seed``, or a list) and rank them
    by ``metric`` (see the module docstring). Without ``momenta`` every run keeps
    the Config's momentum. ``jobs`` > 1 runs in worker processes."""
    config = Config(**changes) if config is None else config.replace(**changes)
    return tune_all([config], lrs=lrs, momenta=momenta, seeds=seeds, metric=metric,
                    jobs=jobs)[0]


def plan(configs, *, lrs=None, momenta=None, seeds=3, metric="time_to_target") -> list:
    """The runs that tuning ``configs`` takes, every setting with every seed, checked
    before any of them starts (ValueError naming the bad value)."""
    grid = settings(check_lrs(lrs), check_momenta(momenta))
    for config in configs:
        check_metric(metric, config)
    batch = [_setting(config, lr, m).replace(seed=s) for config in configs
             for lr, m in grid for s in seed_list(config, seeds)]
    limits.check_batch(batch)
    return batch


def _setting(config, lr, momentum):
    """``config`` at rate ``lr`` and, unless None, ``momentum``."""
    return config.replace(lr=lr) if momentum is None else config.replace(lr=lr,
                                                                          momentum=momentum)


def tune_all(configs, *, lrs=None, momenta=None, seeds=3, metric="time_to_target",
             jobs=1) -> list:
    """``tune`` for several Configs (usually one per policy), all runs in one batch."""
    batch = plan(configs, lrs=lrs, momenta=momenta, seeds=seeds, metric=metric)
    results = iter(run_many(batch, jobs=jobs))
    momenta = check_momenta(momenta)
    grid = settings(check_lrs(lrs), momenta)
    tunings = []
    for config in configs:
        seeds_used = seed_list(config, seeds)
        rows, runs = [], {}
        for lr, m in grid:
            row_results = [next(results) for _ in seeds_used]
            rows.append(_row(lr, m, row_results, metric))
            runs[rows[-1].key] = row_results
        best = min(rows, key=Row.rank_key)
        tunings.append(Tuning(str(config.policy), metric, tuple(seeds_used), tuple(rows), best,
                              runs, momenta))
    return tunings


def _row(lr, momentum, results, metric) -> Row:
    values = [metric_value(r, metric) for r in results]
    diverged = sum(r.summary.diverged for r in results)
    finals = [r.summary.final_loss for r in results
              if not r.summary.diverged and math.isfinite(r.summary.final_loss)]
    return Row(lr, field_estimate(metric, [v for v in values if v is not None]),
               ok=sum(v is not None for v in values), diverged=diverged,
               missed=sum(v is None for v in values) - diverged,
               final_loss=math.fsum(finals) / len(finals) if finals else math.inf,
               momentum=momentum)
