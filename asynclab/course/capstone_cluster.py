"""The capstone's cluster: the fixed description, and what a learner may choose on it.

``CLUSTER`` is the job and the machines (told in words by ``describe()``); a
learner's *choice* is a dict of the fields in ``TUNABLE``, and ``config(choice)``
turns it into the Config that runs, refusing anything that would change the
cluster itself. ``missing(choice)`` names what a choice still holding the
notebook's placeholder ``...`` lacks.
"""
from __future__ import annotations

import numpy as np

from ..config import Config
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
    eval_points=76,                      # validation accuracy every 20 gradients
)
REQUIRED = ("policy", "lr")
TUNABLE = REQUIRED + ("workers", "staleness_aware", "momentum",
                      "overlap", "buckets",                      # lessons 03 and 09
                      "compress", "error_feedback",              # lesson 11
                      "outer_lr", "outer_momentum", "topology")  # lesson 12
ALLOWED_POLICIES = "sync, async, ssp:S, backup:B, local:H, allreduce, diloco:H or gossip"


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
        f"You choose: policy ({ALLOWED_POLICIES}) and lr; you may also set how many of the "
        f"{c.workers} workers to use, staleness_aware, momentum, overlap and buckets, "
        f"compress and error_feedback, and diloco's outer_lr and outer_momentum or gossip's "
        f"topology.",
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
                         f"this cluster's machines share none. Allowed: {ALLOWED_POLICIES}")
    return result


def label(cfg) -> str:
    """``cfg`` in a few words: policy, workers, rate and the options that are on."""
    extras = [", staleness-aware" if cfg.staleness_aware else "",
              f", momentum {cfg.momentum:g}" if cfg.momentum else "",
              f", {cfg.buckets} buckets" if cfg.buckets > 1 else
              ", overlap" if cfg.overlap else "",
              f", compress {cfg.compress}" if str(cfg.compress) != "none" else "",
              ", outer lr {:g} and momentum {:g}".format(*cfg.policy.outer)
              if cfg.policy.outer is not None else "",
              f", {cfg.topology} topology" if cfg.policy.gossip else ""]
    return f"{cfg.policy} on {cfg.workers} workers, lr {cfg.lr:g}" + "".join(extras)
