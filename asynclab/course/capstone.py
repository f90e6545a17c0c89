"""The capstone of the course: tune a strategy for a described cluster, checked on the simulator.

The cluster is fixed (``CLUSTER``, told in words by ``describe()``): 16 machines
training the MLP of lesson 10 on the digits, with stragglers and a parameter
server that applies one push at a time. The learner chooses only what an
engineer running a job on it could choose::

    from asynclab.course import capstone
    print(capstone.describe())
    report = capstone.check({"policy": "backup:4", "lr": 1.0})

``check`` runs the choice on the simulated cluster for every seed in ``SEEDS``
and compares its mean time to the target validation accuracy with two
references, synchronous and asynchronous SGD on all 16 workers, each at the
best learning rate of ``LEARNING_RATES`` (tests/test_capstone.py checks that
the stored rates still are the best). Its feedback explains each difference as
*updates needed* times *seconds per update*, and names what made either factor
large. A choice that still holds the placeholder ``...`` (or lacks a policy or
a learning rate) is told what is missing, without running anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..config import Config
from ..experiment import run
from ..problems import MLP

CLUSTER = Config(
    problem=MLP(dataset="digits", hidden=(64,)),   # 4810 parameters: 38,480-byte messages
    workers=16,                          # machines available
    compute="lognormal:1:0.5",           # seconds per gradient: mean 1, spread 0.5
    straggler=(0.05, 8),                 # 5% of gradients take 8 times longer
    latency=0.1, bandwidth=1e6,          # per message: 0.1 s + 38,480 B / 1 MB/s = 0.14 s
    apply_time=0.2,                      # the one server receives and applies a push in 0.2 s
    gradients=1500,                      # budget, over all workers
    target_accuracy=0.95,                # validation accuracy to reach
    eval_points=151,                     # accuracy every 10 gradients: times to the target
)
REQUIRED = ("policy", "lr")
TUNABLE = REQUIRED + ("workers", "staleness_aware", "momentum")
SEEDS = (0, 1, 2)
LEARNING_RATES = tuple(float(f"{x:.3g}") for x in np.geomspace(0.02, 2.0, 11))
REFERENCES = {"sync": {"policy": "sync", "lr": 1.26},
              "async": {"policy": "async", "lr": 0.0796}}


def describe() -> str:
    c = CLUSTER
    p, (chance, factor) = c.problem, c.straggler
    message = c.timing.message_time(p.nbytes)
    return "\n".join([
        f"The cluster: {c.workers} worker machines and one parameter server.",
        f"- A gradient takes {c.compute.mean:g} s on average (log-normal, spread "
        f"{c.compute.sigma:g}); {chance:.0%} of gradients straggle {factor:g} times longer.",
        f"- Each message (pull or push) carries the {p.dim:,} parameters, {p.nbytes:,} bytes: "
        f"{c.latency:g} s latency + {p.nbytes:,} B / {c.bandwidth:,.0f} B/s = {message:.2f} s.",
        f"- The server receives and applies one push at a time, {c.apply_time:g} s each.",
        f"- The job: the MLP {'-'.join(map(str, p.network.sizes))} of lesson 10 on the digits, "
        f"from {p.held_out(p.initial_params(), 'validation')[1]:.0%} to "
        f"{c.target_accuracy:.0%} validation accuracy, within {c.gradients} gradients.",
        "You choose: policy (sync, async, ssp:S, backup:B, local:H) and lr; you may also set "
        f"how many of the {c.workers} workers to use, staleness_aware and momentum.",
    ])


def missing(choice) -> list:
    """What a dict choice still lacks: required fields absent, and fields left as ``...``."""
    if not isinstance(choice, dict):
        return []
    return ([name for name in REQUIRED if name not in choice]
            + [name for name, value in choice.items() if value is ...])


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
    if missing(choice):
        raise ValueError(f"the choice still needs {' and '.join(missing(choice))}")
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
    config: Config
    times: tuple             # time to the target accuracy per seed (inf: not reached)
    updates: float           # updates applied when the target was reached
    wait: float              # fractions of the workers' time: at a barrier or bound,
    queue: float             # in the server's queue,
    comm: float              # sending their own messages
    staleness: float
    accuracy: float          # final test accuracy
    diverged: int            # runs whose loss became infinite or NaN

    @property
    def time(self):
        return float(np.mean(self.times))

    @property
    def per_update(self):
        return self.time / self.updates if self.updates else math.inf

    @property
    def idle(self):
        return self.wait + self.queue


def measure(cfg, label=None) -> Measurement:
    runs = [run(cfg, seed=s) for s in SEEDS]
    target = cfg.target_accuracy
    times = [r.history.time_to(target, "validation_accuracy") for r in runs]
    updates = [r.history.updates_to(target, "validation_accuracy") for r in runs]

    def mean(field):
        return float(np.mean([getattr(r.summary, field) for r in runs]))
    return Measurement(
        label or _label(cfg), cfg,
        tuple(math.inf if t is None else t for t in times),
        float(np.mean([math.inf if u is None else u for u in updates])),
        mean("wait_fraction"), mean("queue_fraction"), mean("transfer_fraction"),
        mean("mean_staleness"),
        float(np.mean([r.summary.final_accuracy if r.summary.final_accuracy is not None
                       and math.isfinite(r.summary.final_accuracy) else 0.0 for r in runs])),
        sum(r.summary.diverged for r in runs))


def _label(cfg):
    extras = [", staleness-aware" if cfg.staleness_aware else "",
              f", momentum {cfg.momentum:g}" if cfg.momentum else ""]
    return f"{cfg.policy} on {cfg.workers} workers, lr {cfg.lr:g}" + "".join(extras)


@lru_cache(maxsize=None)
def references() -> dict:
    """The two baselines, measured once per session."""
    return {name: measure(CLUSTER.replace(**choice)) for name, choice in REFERENCES.items()}


@dataclass(frozen=True)
class Report:
    yours: Measurement | None     # None: the choice was incomplete and nothing ran
    references: dict
    lines: tuple

    @property
    def reached(self):
        return self.yours is not None and math.isfinite(self.yours.time)

    def beats(self, name):
        return self.reached and self.yours.time < self.references[name].time

    @property
    def passed(self):
        return self.reached and all(self.beats(name) for name in self.references)

    def __str__(self):
        return "\n".join(self.lines)


def check(choice, show=True) -> Report:
    """Run ``choice`` on the cluster, compare it with the references, explain; print the
    feedback (``show=False``: only return it) and return the Report."""
    if missing(choice):
        report = Report(None, {}, (
            f"✗ Not yet: your choice still needs {' and '.join(missing(choice))}. Replace each "
            "... with your value, e.g. {'policy': 'async', 'lr': 0.1}; you may also set "
            f"workers (1-{CLUSTER.workers}), staleness_aware (True/False) and momentum "
            "(0 to below 1).",))
        if show:
            print(report)
        return report
    yours = measure(config(choice))
    refs = references()
    lines = [f"Your strategy: {yours.label}", _row(yours), "References:"]
    lines += [_row(m) for m in refs.values()]
    lines += ["Why (time to the target = updates needed x seconds per update):"]
    lines += [f"- {why}" for why in _explain(yours, refs)]
    report = Report(yours, refs, tuple(lines))
    if report.passed:
        best = min(refs.values(), key=lambda m: m.time)
        verdict = (f"✓ You beat both references: {best.time / yours.time:.1f}x sooner than the "
                   f"better one ({best.label}).")
    elif report.reached:
        verdict = "✗ Not yet: reach the target sooner than " + " and ".join(
            f"{name} ({m.time:.1f} s)" for name, m in refs.items() if not report.beats(name)) + "."
    else:
        verdict = (f"✗ Not yet: your strategy must reach {CLUSTER.target_accuracy:.0%} "
                   "validation accuracy in every run.")
    report = Report(yours, refs, tuple(lines + [verdict]))
    if show:
        print(report)
    return report


def _row(m):
    seeds = ", ".join("never" if math.isinf(t) else f"{t:.1f}" for t in m.times)
    if math.isinf(m.time):
        return (f"  {m.label}: did not reach the target in every run (seeds: {seeds}); final "
                f"accuracy {m.accuracy:.0%}, mean staleness {m.staleness:.1f}")
    return (f"  {m.label}: {m.time:.1f} s to the target (seeds: {seeds}) = {m.updates:.0f} "
            f"updates x {m.per_update:.2f} s; idle {m.idle:.0%} (barriers {m.wait:.0%}, "
            f"server queue {m.queue:.0%}), communicating {m.comm:.0%}, mean staleness "
            f"{m.staleness:.1f}")


def _updates_in_words(m):
    """What one update of ``m`` is, and the step it could take."""
    cfg = m.config
    momentum = f", momentum {cfg.momentum:g}" if cfg.momentum else ""
    if cfg.policy.aggregate:
        gradients = cfg.workers - cfg.policy.backups
        local = (f"{cfg.policy.local_steps} local steps of each of {gradients} workers"
                 if cfg.policy.local_steps > 1 else f"{gradients} fresh gradients")
        return f"each update averages {local}, at lr {cfg.lr:g}{momentum}"
    aware = "; staleness-aware steps shrink each stale step further" if cfg.staleness_aware else ""
    return (f"each update is one gradient, {m.staleness:.1f} updates stale on average (about one "
            f"per other worker pushing, with or without a queue), and staleness holds the stable "
            f"learning rate down (here {cfg.lr:g}{momentum}; lessons 04 and 10){aware}")


def _seconds_in_words(m):
    """What the workers' time went into while ``m`` made its updates."""
    chance, factor = CLUSTER.straggler
    parts = []
    if m.wait > 0.1:
        parts.append(f"the workers waited {m.wait:.0%} of their time at barriers or the "
                     f"staleness bound, for the slowest of {m.config.workers} ({chance:.0%} of "
                     f"gradients straggle {factor:g} times longer, so a step of many workers "
                     "often holds one)")
    if m.queue > 0.1:
        parts.append(f"the workers queued {m.queue:.0%} of their time for the server, which "
                     f"applies at most {1 / CLUSTER.apply_time:g} pushes per second however many "
                     "push")
    if m.comm > 0.25:
        parts.append(f"messages took {m.comm:.0%} of their time")
    if not parts:
        parts.append(f"the workers spent {1 - m.idle - m.comm:.0%} of their time computing, "
                     "little idle or sending")
    return "; ".join(parts)


def _quick_in_words(m):
    """Why one update of ``m`` took little time."""
    policy = m.config.policy
    if policy.aggregate:
        steps = policy.local_steps
        return f"each needs only {steps} gradient{'s' * (steps > 1)} from each worker"
    if m.queue > 0.1:
        return (f"the server, saturated, applied an update every {m.per_update:.2f} s, its "
                f"most ({1 / CLUSTER.apply_time:g} per second), while the workers queued "
                f"{m.queue:.0%} of their time")
    return "its workers pushed one after another, never waiting for each other"


def _ratio(x):
    return f"{x:.0f}x" if x >= 10 else f"{x:.2g}x"


def _versus(name, ref, yours):
    """``ref`` against yours, factor by factor, naming the cause of each larger factor."""
    updates, seconds = ref.updates / yours.updates, ref.per_update / yours.per_update
    text = (f"{name} took {_ratio(ref.time / yours.time)} your time = {_ratio(updates)} your "
            f"updates ({ref.updates:.0f}) x {_ratio(seconds)} your seconds per update "
            f"({ref.per_update:.2f} s).")
    if updates > 1.1:
        text += f" It needed more updates: {_updates_in_words(ref)}."
    elif updates < 1 / 1.1:
        text += f" It needed fewer updates: {_updates_in_words(ref)}."
    if seconds > 1.1:
        text += f" Each took longer: {_seconds_in_words(ref)}."
    elif seconds < 1 / 1.1:
        text += f" Each took less time: {_quick_in_words(ref)}."
    return text


def _explain(yours, refs):
    """Sentences that compare the two factors with each reference and name their causes."""
    if not math.isfinite(yours.time):
        if yours.diverged:
            return [f"{yours.diverged} of {len(SEEDS)} runs diverged: the step is too large for "
                    f"the staleness (mean {yours.staleness:.1f} updates). Lower lr, use fewer "
                    "workers, or set staleness_aware=True (lessons 04 and 10)."]
        if yours.accuracy < 0.5:
            return [f"The network collapsed: final test accuracy {yours.accuracy:.0%} "
                    f"(chance is 10%), with mean staleness {yours.staleness:.1f}. Large stale "
                    "steps kill the ReLUs and the loss stays finite, so nothing diverges "
                    "(lesson 10). Lower lr or momentum, use fewer workers, or set "
                    "staleness_aware=True."]
        return ["The budget ran out before the target: the steps are too small or too few. "
                "Raise lr, or waste less of the budget (dropped or stale gradients)."]
    why = [f"Yours: {yours.updates:.0f} updates x {yours.per_update:.2f} s. Updates: "
           f"{_updates_in_words(yours)}. Seconds: {_seconds_in_words(yours)}."]
    why += [_versus(name, ref, yours) for name, ref in refs.items() if math.isfinite(ref.time)]
    return why
