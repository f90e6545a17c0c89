"""Update policies: when a worker may start its next step, and how gradients are applied.

All policies are points in one small space, read the same way by every backend:

* ``bound`` is how many steps a worker may run ahead of the slowest one.
  Synchronous SGD is ``bound=0`` (a barrier every step); asynchronous SGD is
  ``bound=inf`` (never wait); stale-synchronous ``ssp:S`` sits in between.
* ``aggregate`` says whether the gradients of one step are averaged into a
  single update (sync, backup, local SGD) or each is applied as it arrives
  (async, ssp, hogwild).
* ``backups`` is how many of the slowest gradients an aggregated step may drop
  (Chen et al. 2016): the step closes when ``workers - backups`` have arrived.
  A late worker is not interrupted: it finishes the gradient it is computing,
  which is dropped on arrival, and only then joins the next step. So a step
  can take longer than the (N - B)-th fastest compute time.
* ``local_steps`` is how many SGD steps a worker takes on its own copy before
  its accumulated update is averaged with the others' (local SGD / FedAvg).
  Under ``diloco:H`` the server then applies that average through an outer
  optimiser, ``outer`` = (outer_lr, outer_momentum) (:mod:`asynclab.outer`).
* ``averages_models`` (local:H, diloco:H): the workers train local models
  that the server averages every round, so their spread before it does is
  the client drift (:mod:`asynclab.drift`).
* ``lock_free`` (hogwild) means workers write into the shared parameters
  themselves, without a server or a lock (Niu et al. 2011).
* ``ring`` (allreduce) is synchronous SGD without a server: after every step
  the workers average their gradients among themselves by a ring all-reduce
  (see :mod:`asynclab.network`). Its updates are sync's; only the time differs.
* ``gossip`` is decentralised SGD without a server (AD-PSGD, Lian et al.
  2018): each worker keeps its own model and, after each gradient, averages
  it with one neighbour's (:mod:`asynclab.gossip`).

The rules that use these fields live in :mod:`asynclab.server`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .outer import DEFAULT_OUTER_LR, DEFAULT_OUTER_MOMENTUM


@dataclass(frozen=True)
class Policy:
    name: str
    bound: float = math.inf
    aggregate: bool = False
    backups: int = 0
    local_steps: int = 1
    lock_free: bool = False
    ring: bool = False
    averages_models: bool = False
    outer: tuple | None = None       # diloco:H: (outer_lr, outer_momentum)
    gossip: bool = False

    @property
    def has_server(self) -> bool:
        """True if gradients go through a parameter server (and its link)."""
        return not (self.lock_free or self.ring or self.gossip)

    def __str__(self):
        return self.name


SYNC = Policy("sync", bound=0, aggregate=True)
ASYNC = Policy("async")
HOGWILD = Policy("hogwild", lock_free=True)
ALLREDUCE = Policy("allreduce", bound=0, aggregate=True, ring=True)
GOSSIP = Policy("gossip", gossip=True)

POLICY_FORMS = "sync, async, hogwild, allreduce, gossip, ssp:S, backup:B, local:H or diloco:H"


def parse_policy(spec) -> Policy:
    """A Policy from an instance or a string such as ``"ssp:2"``."""
    if isinstance(spec, Policy):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"policy must be a string like 'ssp:2', got {spec!r}")
    simple = {p.name: p for p in (SYNC, ASYNC, HOGWILD, ALLREDUCE, GOSSIP)}
    if spec in simple:
        return simple[spec]
    kind, _, arg = spec.partition(":")
    if kind not in ("ssp", "backup", "local", "diloco") or not arg.isdigit():
        raise ValueError(f"unknown policy {spec!r}; allowed: {POLICY_FORMS} "
                         "(S, B, H whole numbers)")
    n = int(arg)
    if kind == "ssp":
        return Policy(spec, bound=n)
    if kind == "backup":
        return Policy(spec, bound=0, aggregate=True, backups=n)
    if n < 1:
        raise ValueError(f"policy {spec!r}: {kind}:H needs H >= 1 (inner steps per round)")
    outer = (DEFAULT_OUTER_LR, DEFAULT_OUTER_MOMENTUM) if kind == "diloco" else None
    return Policy(spec, bound=0, aggregate=True, local_steps=n, averages_models=True,
                  outer=outer)


def parse_policy_list(spec, name="policies") -> list:
    """The policies (names or Policy objects) of a list or of one comma-separated
    string (``"sync,async"``): at least one, none twice, since each is one row
    of a comparison."""
    names = [p for p in spec.split(",") if p] if isinstance(spec, str) else list(spec)
    if not names:
        raise ValueError(f"{name} must name at least one policy, got {spec!r}")
    keys = [str(parse_policy(p)) for p in names]
    twice = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
    if twice is not None:
        raise ValueError(f"{name} lists {twice!r} twice, got {spec!r}; list each policy once")
    return names
