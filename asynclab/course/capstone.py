"""The capstone of the course: tune a strategy for a described cluster, checked on the simulator.

The cluster is fixed (``CLUSTER``, told in words by ``describe()``). The learner
chooses only what an engineer running a job on it could choose::

    from asynclab.course import capstone
    print(capstone.describe())
    report = capstone.check({"policy": "backup:2", "workers": 8, "lr": 0.4})

``check`` runs the choice on the simulated cluster for every seed in
``SEEDS`` and compares its mean time to the target loss with two references,
synchronous and asynchronous SGD on all 16 workers, each at the best learning
rate of ``LEARNING_RATES`` (tests/test_capstone.py checks that the stored
rates still are the best). Its feedback explains the difference as *updates
needed* times *seconds per update*, and names what made either factor large.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..config import Config
from ..experiment import run
from ..problems import LeastSquares

CLUSTER = Config(
    problem=LeastSquares(features=100, examples=150),   # 800-byte gradients; loss 0.436 at the start
    workers=16,                          # machines available
    compute="lognormal:1:0.5",           # seconds per gradient: mean 1, spread 0.5
    straggler=(0.05, 8),                 # 5% of gradients take 8 times longer
    latency=0.1, bandwidth=8000,         # per message: 0.1 s + 800 B / 8000 B/s = 0.2 s
    apply_time=0.2,                      # the one server receives and applies a push in 0.2 s
    gradients=3000,                      # budget, over all workers
    target_loss=0.004,
    eval_points=3001,                    # the loss after every push: exact times to target
)
TUNABLE = ("policy", "lr", "workers", "staleness_aware")
SEEDS = (0, 1, 2)
LEARNING_RATES = tuple(float(f"{x:.3g}") for x in np.geomspace(0.01, 1.0, 12))
REFERENCES = {"sync": {"policy": "sync", "lr": 0.433},
              "async": {"policy": "async", "lr": 0.0351}}


def describe() -> str:
    c = CLUSTER
    p, (chance, factor) = c.problem, c.straggler
    message = c.timing.message_time(p.nbytes)
    return "\n".join([
        f"The cluster: {c.workers} worker machines and one parameter server.",
        f"- A gradient takes {c.compute.mean:g} s on average (log-normal, spread "
        f"{c.compute.sigma:g}); {chance:.0%} of gradients straggle {factor:g} times longer.",
        f"- Each message (pull or push) carries {p.nbytes} bytes: {c.latency:g} s latency + "
        f"{p.nbytes} B / {c.bandwidth:g} B/s = {message:g} s.",
        f"- The server receives and applies one push at a time, {c.apply_time:g} s each.",
        f"- The job: least squares with {p.features} features and {p.examples} examples, "
        f"from loss {p.loss(p.initial_params()):.3f} to {c.target_loss:g}, within "
        f"{c.gradients} gradients.",
        f"You choose: policy (sync, async, ssp:S, backup:B, local:H), lr, how many of the "
        f"{c.workers} workers to use, and staleness_aware.",
    ])


def config(choice) -> Config:
    """The Config of ``choice``: a dict of the tunable fields, or a Config that keeps the
    cluster's other fields. Raises ValueError naming what may not be changed."""
    if isinstance(choice, Config):
        changed = [name for name in Config.__dataclass_fields__
                   if name not in TUNABLE and getattr(choice, name) != getattr(CLUSTER, name)]
        if changed:
            raise ValueError(f"{changed[0]} is part of the cluster description and is fixed "
                             f"(it is {getattr(CLUSTER, changed[0])!r}); you may set: "
                             f"{', '.join(TUNABLE)}")
        choice = {name: getattr(choice, name) for name in TUNABLE}
    if not isinstance(choice, dict):
        raise ValueError(f"a choice is a dict such as {{'policy': 'async', 'lr': 0.1}} or a "
                         f"Config, got {choice!r}")
    unknown = sorted(set(choice) - set(TUNABLE))
    if unknown:
        raise ValueError(f"{unknown[0]!r} cannot be chosen: it is fixed by the cluster "
                         f"description; you may set: {', '.join(TUNABLE)}")
    workers = choice.get("workers", CLUSTER.workers)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or not (
            1 <= workers <= CLUSTER.workers):
        raise ValueError(f"workers must be a whole number from 1 to {CLUSTER.workers} "
                         f"(the machines of the cluster), got {workers!r}")
    result = CLUSTER.replace(**choice)
    if result.policy.lock_free:
        raise ValueError(f"policy {result.policy.name!r} needs memory shared by all workers; "
                         "this cluster's machines share none. Allowed: sync, async, ssp:S, "
                         "backup:B, local:H")
    return result


@dataclass(frozen=True)
class Measurement:
    """Means over SEEDS of one strategy's runs (times in simulated seconds)."""
    label: str
    times: tuple             # time to target per seed (inf: not reached)
    updates: float           # updates applied when the target was reached
    idle: float
    comm: float
    staleness: float
    diverged: int            # runs whose loss blew up or ended above its start

    @property
    def time(self):
        return float(np.mean(self.times))

    @property
    def per_update(self):
        return self.time / self.updates if self.updates else math.inf


def measure(cfg, label=None) -> Measurement:
    runs = [run(cfg, seed=s) for s in SEEDS]
    target = cfg.target_loss
    times, updates = [], []
    for r in runs:
        reached = r.history.reached(target)
        times.append(math.inf if reached is None else r.history.time[reached])
        updates.append(math.inf if reached is None else r.history.updates[reached])
    return Measurement(
        label or _label(cfg), tuple(times), float(np.mean(updates)),
        float(np.mean([r.summary.idle_fraction for r in runs])),
        float(np.mean([r.summary.comm_fraction for r in runs])),
        float(np.mean([r.summary.mean_staleness for r in runs])),
        sum(r.summary.diverged or r.summary.final_loss > r.summary.initial_loss for r in runs))


def _label(cfg):
    aware = ", staleness-aware" if cfg.staleness_aware else ""
    return f"{cfg.policy} on {cfg.workers} workers, lr {cfg.lr:g}{aware}"


@lru_cache(maxsize=None)
def references() -> dict:
    """The two baselines, measured once per session."""
    return {name: measure(CLUSTER.replace(**choice), f"{name} on 16 workers, lr {choice['lr']:g}")
            for name, choice in REFERENCES.items()}


@dataclass(frozen=True)
class Report:
    yours: Measurement
    references: dict
    lines: tuple

    @property
    def reached(self):
        return math.isfinite(self.yours.time)

    def beats(self, name):
        return self.reached and self.yours.time < self.references[name].time

    @property
    def passed(self):
        return all(self.beats(name) for name in self.references)

    def __str__(self):
        return "\n".join(self.lines)


def check(choice, show=True) -> Report:
    """Run ``choice`` on the cluster, compare it with the references, explain; print the
    feedback (``show=False``: only return it) and return the Report."""
    yours = measure(config(choice))
    refs = references()
    lines = [f"Your strategy: {yours.label}", _row(yours), "References:"]
    lines += [_row(m) for m in refs.values()]
    lines += ["Why:"] + [f"- {why}" for why in _explain(yours, refs)]
    report = Report(yours, refs, tuple(lines))
    if report.passed:
        best = min(refs.values(), key=lambda m: m.time)
        verdict = (f"✓ You beat both references: {best.time / yours.time:.1f}x sooner than the "
                   f"better one ({best.label}).")
    elif report.reached:
        verdict = "✗ Not yet: reach the target sooner than " + " and ".join(
            f"{name} ({m.time:.1f} s)" for name, m in refs.items() if not report.beats(name)) + "."
    else:
        verdict = "✗ Not yet: your strategy must reach the target loss in every run."
    report = Report(yours, refs, tuple(lines + [verdict]))
    if show:
        print(report)
    return report


def _row(m):
    seeds = ", ".join("never" if math.isinf(t) else f"{t:.1f}" for t in m.times)
    if math.isinf(m.time):
        return f"  {m.label}: did not reach the target in every run (seeds: {seeds})"
    return (f"  {m.label}: {m.time:.1f} s to the target (seeds: {seeds}) = {m.updates:.0f} "
            f"updates x {m.per_update:.2f} s; idle {m.idle:.0%}, communicating {m.comm:.0%}, "
            f"mean staleness {m.staleness:.1f}")


def _explain(yours, refs):
    """Sentences that say what made the time to target long or short."""
    c = CLUSTER
    server_rate = 1 / c.apply_time
    if not math.isfinite(yours.time):
        if yours.diverged:
            return [f"{yours.diverged} of {len(SEEDS)} runs diverged: the step is too large for "
                    f"the staleness (mean {yours.staleness:.1f} updates). Lower lr, use fewer "
                    "workers, or set staleness_aware=True (lesson 04)."]
        return ["The budget ran out before the target: the steps are too small or too few. "
                "Raise lr, or waste less of the budget (dropped or stale gradients)."]
    why = []
    for name, ref in refs.items():
        if not math.isfinite(ref.time):
            continue
        why.append(f"{name} needed {ref.updates:.0f} updates to your {yours.updates:.0f}, at "
                   f"{ref.per_update:.2f} s each to your {yours.per_update:.2f} s: "
                   f"{ref.time / yours.time:.2g}x your time.")
    if yours.idle > 0.3:
        why.append(f"Your workers idle {yours.idle:.0%} of the time, waiting at barriers or in "
                   f"the server's queue. The server takes {server_rate:g} pushes per second: "
                   "more workers than that only queue (lessons 06 and 08); stragglers hold up "
                   "barriers unless backups or a staleness bound let the step go on (lesson 05).")
    if yours.staleness > 6:
        why.append(f"Mean staleness {yours.staleness:.1f}: stale updates force a small learning "
                   "rate, so many updates are needed (lesson 04). Fewer workers, a staleness "
                   "bound or staleness-aware steps reduce it.")
    if yours.comm > 0.3:
        why.append(f"Communication takes {yours.comm:.0%} of the workers' time; local SGD "
                   "(local:H) sends one pull and one push per H gradients (lesson 05).")
    if len(why) == len(refs):
        why.append("Little idle time, low staleness and little communication: the workers "
                   "spend their time on useful gradients.")
    return why
