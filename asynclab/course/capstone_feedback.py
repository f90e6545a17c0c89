"""The capstone's feedback in words: each measurement as one line, and why one strategy
took longer than another, as (updates needed) x (seconds per update).

Every function reads a ``Measurement`` (asynclab.course.capstone): geometric means
over the check's seeds of the time to the target and of the updates it took, and
arithmetic means of where the workers' time went.
"""
from __future__ import annotations

import math

from .capstone_cluster import CLUSTER


def row(m) -> str:
    """One line: the time to the target per seed, and what it was made of."""
    seeds = ", ".join("never" if math.isinf(t) else f"{t:.1f}" for t in m.times)
    if math.isinf(m.time):
        return (f"  {m.label}: did not reach the target in every run (seeds: {seeds}); final "
                f"test accuracy {m.accuracy:.0%}, mean staleness {m.staleness:.1f}")
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


def explain(yours, refs, runs) -> list:
    """Sentences that compare the two factors with each reference and name their causes
    (``runs``: how many runs each measurement holds)."""
    if not math.isfinite(yours.time):
        if yours.diverged:
            return [f"{yours.diverged} of {runs} runs diverged: the step is too large for "
                    f"the staleness (mean {yours.staleness:.1f} updates). Lower lr, use fewer "
                    "workers, or set staleness_aware=True (lessons 04 and 10)."]
        if yours.accuracy < 0.5:
            return [f"The network collapsed: final test accuracy {yours.accuracy:.0%} "
                    f"(chance is 10%), with mean staleness {yours.staleness:.1f}. Large stale "
                    "steps kill the ReLUs and the loss stays finite, so nothing diverges "
                    "(lesson 10). Lower lr or momentum, use fewer workers, or set "
                    "staleness_aware=True."]
        return ["The budget ran out before the target in some run: the steps are too small "
                "or too few. Raise lr, or waste less of the budget (dropped or stale "
                "gradients)."]
    why = [f"Yours: {yours.updates:.0f} updates x {yours.per_update:.2f} s. Updates: "
           f"{_updates_in_words(yours)}. Seconds: {_seconds_in_words(yours)}."]
    why += [_versus(name, ref, yours) for name, ref in refs.items() if math.isfinite(ref.time)]
    return why
