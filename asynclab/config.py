"""One experiment, fully described: a frozen Config.

A run is a function of its Config (and nothing else), so the same Config gives
the same result on the simulated backend, bit for bit. Derive variants with
``dataclasses.replace(config, workers=8)`` or ``config.replace(workers=8)``.
Every field is checked here, at the boundary, with a message that names the
bad value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from . import gossip, limits
from .buckets import DEFAULT_BACKWARD, Buckets
from .compression import Compression, check_compression, parse_compression
from .network import parse_latency
from .outer import DEFAULT_OUTER_LR, DEFAULT_OUTER_MOMENTUM
from .partition import Partition, parse_partition
from .policies import Policy, parse_policy
from .problems import MLP, PROBLEMS, Problem, make_problem
from .timing import Distribution, Timing

BACKEND_NAMES = ("simulated", "thread", "process", "ray")


def _number(name, value, *, low=None, strict=False, integer=False, allow_inf=False):
    kind = "a whole number" if integer else "a number"
    try:
        if isinstance(value, (bool, str)):
            raise TypeError
        number = float(value)       # also accepts numpy scalars
        if integer:
            if number != int(number):
                raise ValueError
            number = int(number)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be {kind}, got {value!r}") from None
    value = number
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (strict and value == low)):
        bound = f"greater than {low}" if strict else f"at least {low}"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


def _flag(name, value):
    """A boolean field: True or False (also numpy's, or 0 and 1), never a string
    such as "False", which bool() would turn into True."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer))
                                               and value in (0, 1)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}")


def _whole(x):
    return math.isfinite(x) and x == int(x)


def parse_pair(name, spec, form):
    """'A:B' or (A, B) -> (A, B) as strings-to-numbers, or a clear error."""
    if isinstance(spec, str):
        parts = spec.split(":")
    else:
        parts = list(spec)
    if len(parts) != 2:
        raise ValueError(f"{name} must look like {form}, got {spec!r}")
    try:
        return float(parts[0]), float(parts[1])
    except (TypeError, ValueError):
        raise ValueError(f"{name} must look like {form}, got {spec!r}") from None


@dataclass(frozen=True)
class Config:
    problem: Problem | str = "logistic"
    policy: Policy | str = "async"
    backend: str = "simulated"
    workers: int = 4
    gradients: int = 1000            # budget: gradients computed by all workers together
    lr: float = 0.1
    batch: int = 32                  # examples per gradient
    seed: int = 0                    # drives minibatches and simulated times
    staleness_aware: bool = False    # divide lr by (staleness + 1) (Zhang et al. 2016)
    momentum: float = 0.0            # heavy-ball momentum, in [0, 1) (asynclab.momentum)
    # Simulated time (virtual seconds). Real backends use real time instead.
    compute: Distribution | str = "exp:1.0"   # time to compute one gradient
    speeds: tuple = ()               # per-worker time multipliers, e.g. (1, 1, 3)
    straggler: tuple | str | None = None      # (probability, slowdown factor)
    latency: float | Distribution | str = 0.0   # seconds per message, or a law such as
                                     # 'exp:0.05' drawn per message (also injected on real backends)
    bandwidth: float = math.inf      # bytes per second of a worker's link (also injected)
    # The server's side; a policy without a server (allreduce, hogwild) ignores
    # both, so one Config can compare every policy.
    apply_time: float = 0.0          # server seconds to apply one gradient
    server_bandwidth: float = math.inf   # bytes per second of the server's shared link
    overlap: bool = False            # communicate while computing (asynclab.buckets for sync-like)
    buckets: int = 1                 # overlap, sync-like policies: parts a gradient is sent in
    backward_fraction: float = DEFAULT_BACKWARD   # the backward pass's share of compute time
    compress: Compression | str = "none"   # what a push carries: none, topk:F, randk:F, qsgd:S
    error_feedback: bool | None = None   # with compress: add what a message left out to the
                                     # next; None: on for topk and randk, off for qsgd
    # Real backends: an extra sleep per gradient (a distribution, e.g. 'const:0.001').
    delay: Distribution | str | None = None
    fail: tuple = ()                 # ((worker, after_gradients), ...): kill those workers
    target_loss: float | None = None
    target_accuracy: float | None = None   # report the time to this validation accuracy
    eval_points: int = 100           # how many times the full loss is evaluated
    progress: bool | float = False   # a tqdm progress bar: True shows it at once; a number
                                     # of seconds, only once the run has lasted that long
    address: str | None = None       # Ray: cluster address; None starts a local Ray
    shards: int = 1                  # Ray: parameter-server actors holding slices
    ray_batch: int = 1               # Ray: gradients a worker sends per message
    ray_nodes: int | None = None     # Ray: a local cluster of a head and K worker nodes
    fail_node: tuple | str | None = None   # with ray_nodes: (node, gradients), lose that node
    # Fewer rounds, no server: which worker holds which data (asynclab.partition),
    # diloco:H's outer optimiser (asynclab.outer; None: its defaults, 0.7 and 0.9)
    # and gossip's neighbours (asynclab.gossip; other policies ignore topology).
    partition: Partition | str = "iid"
    outer_lr: float | None = None
    outer_momentum: float | None = None
    topology: str = "ring"

    def __post_init__(self):
        s = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        s("problem", make_problem(self.problem))
        s("policy", parse_policy(self.policy))
        if self.backend not in BACKEND_NAMES:
            raise ValueError(f"unknown backend {self.backend!r}; choose one of "
                             f"{', '.join(BACKEND_NAMES)}")
        s("workers", _number("workers", self.workers, low=1, integer=True))
        s("gradients", _number("gradients", self.gradients, low=1, integer=True))
        s("lr", _number("lr", self.lr, low=0, strict=True))
        s("batch", _number("batch", self.batch, low=1, integer=True))
        s("seed", _number("seed", self.seed, low=0, integer=True))
        s("staleness_aware", _flag("staleness_aware", self.staleness_aware))
        s("momentum", _number("momentum", self.momentum))
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        s("compute", Distribution.parse(self.compute))
        if self.delay is not None:
            s("delay", Distribution.parse(self.delay))
        speeds = tuple(_number("speeds", x, low=0, strict=True) for x in self.speeds)
        if len(speeds) > self.workers:
            raise ValueError(f"speeds has {len(speeds)} entries for {self.workers} workers")
        s("speeds", speeds)
        if self.straggler is not None:
            p, f = parse_pair("straggler", self.straggler, "PROB:FACTOR")
            if not (0 <= p <= 1 and f >= 1):
                raise ValueError(f"straggler needs 0 <= PROB <= 1 and FACTOR >= 1, "
                                 f"got {self.straggler!r}")
            s("straggler", (p, f))
        s("latency", parse_latency(self.latency))
        s("bandwidth", _number("bandwidth", self.bandwidth, low=0, strict=True, allow_inf=True))
        s("apply_time", _number("apply_time", self.apply_time, low=0))
        s("server_bandwidth", _number("server_bandwidth", self.server_bandwidth, low=0,
                                      strict=True, allow_inf=True))
        s("overlap", _flag("overlap", self.overlap))
        s("buckets", _number("buckets", self.buckets, low=1, integer=True))
        s("backward_fraction", _number("backward_fraction", self.backward_fraction))
        if not 0 < self.backward_fraction <= 1:
            raise ValueError(f"backward_fraction must be in (0, 1], got {self.backward_fraction!r}")
        s("compress", parse_compression(self.compress))
        if self.error_feedback is not None:
            s("error_feedback", _flag("error_feedback", self.error_feedback))
        self._check_combinations()
        check_compression(self)
        s("fail", self._parse_fail(self.fail))
        if self.target_loss is not None:
            s("target_loss", _number("target_loss", self.target_loss))
        if self.target_accuracy is not None:
            s("target_accuracy", _number("target_accuracy", self.target_accuracy))
            if not 0 < self.target_accuracy <= 1:
                raise ValueError(f"target_accuracy must be in (0, 1], got {self.target_accuracy!r}")
            if not self.problem.classification:
                raise ValueError(f"target_accuracy needs a problem that reports accuracy "
                                 f"(logistic, sparse-logistic, mlp), not {self.problem.name!r}")
        s("eval_points", _number("eval_points", self.eval_points, low=2, integer=True))
        s("progress", self._progress_delay(self.progress))
        s("shards", _number("shards", self.shards, low=1, integer=True))
        s("ray_batch", _number("ray_batch", self.ray_batch, low=1, integer=True))
        if self.ray_nodes is not None:
            s("ray_nodes", _number("ray_nodes", self.ray_nodes, low=1, integer=True))
            self._check_ray_nodes()
        s("fail_node", self._parse_fail_node(self.fail_node))
        self._fewer_rounds(s)
        if self.policy.backups >= self.workers:
            raise ValueError(f"policy {self.policy.name!r} drops {self.policy.backups} of "
                             f"{self.workers} gradients per step; allowed: B < workers")
        limits.check(self)     # sizes that would take hours or all memory

    def _fewer_rounds(self, s):
        """partition, diloco:H's outer optimiser and gossip's topology and options."""
        s("partition", parse_partition(self.partition))
        self.partition.check(self.problem, self.workers)
        if self.topology not in gossip.TOPOLOGIES:
            raise ValueError(f"topology must be {' or '.join(gossip.TOPOLOGIES)}, "
                             f"got {self.topology!r}")
        policy = self.policy
        if policy.gossip:
            gossip.check(self)
        given = [(name, value) for name, value in (("outer_lr", self.outer_lr),
                                                   ("outer_momentum", self.outer_momentum))
                 if value is not None]
        if given and policy.outer is None:
            name, value = given[0]
            raise ValueError(f"{name} = {value!r} sets the outer optimiser of diloco:H, which "
                             f"policy {policy.name!r} does not have; leave it unset")
        if policy.outer is None:
            return
        lr, momentum = DEFAULT_OUTER_LR, DEFAULT_OUTER_MOMENTUM   # unless given
        if self.outer_lr is not None:
            lr = _number("outer_lr", self.outer_lr, low=0, strict=True)
        if self.outer_momentum is not None:
            momentum = _number("outer_momentum", self.outer_momentum)
            if not 0 <= momentum < 1:
                raise ValueError(f"outer_momentum must be in [0, 1), got {self.outer_momentum!r}")
        s("policy", dataclasses.replace(policy, outer=(lr, momentum)))

    @staticmethod
    def _progress_delay(value):
        """True or False, or the seconds a run must last before its bar appears."""
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        try:
            delay = _number("progress", value, low=0)
        except ValueError:
            raise ValueError(f"progress must be True, False or a number of seconds >= 0, "
                             f"got {value!r}") from None
        return delay if delay > 0 else True     # after 0 s: at once

    def _check_combinations(self):
        policy = self.policy
        if self.buckets > 1 and not self.overlap:
            raise ValueError(f"buckets = {self.buckets} needs overlap=True: the parts of a "
                             "gradient are sent during its backward pass, which only overlap does")
        if self.buckets > 1 and not policy.aggregate:
            raise ValueError(f"buckets = {self.buckets} applies to sync, backup:B, local:H and "
                             f"allreduce, not {policy.name!r}: async, ssp:S and hogwild overlap "
                             "by sending whole gradients in the background")
        if math.isfinite(self.server_bandwidth) and self.backend in ("thread", "process"):
            raise ValueError(f"server_bandwidth is modelled on the simulated backend only, "
                             f"not on {self.backend!r}; got {self.server_bandwidth:g}")
        if policy.ring and (policy.backups or policy.local_steps != 1 or policy.lock_free):
            raise ValueError(f"policy {policy.name!r}: a ring all-reduce averages every "
                             "worker's gradient each step; allowed: no backups, no local "
                             "steps, not lock-free")

    def _check_ray_nodes(self):
        nodes = self.ray_nodes
        if self.backend != "ray":
            raise ValueError(f"ray_nodes starts a local Ray cluster: it needs backend='ray', "
                             f"not {self.backend!r}")
        if self.address is not None:
            raise ValueError(f"ray_nodes starts a local cluster of its own; it cannot join "
                             f"the cluster at address {self.address!r}")
        if nodes > self.workers:
            raise ValueError(f"ray_nodes must be at most workers ({self.workers}): worker w "
                             f"runs on node w % ray_nodes, so more nodes would hold none; "
                             f"got {nodes}")

    def _parse_fail_node(self, spec):
        if spec is None:
            return None
        nodes = self.ray_nodes
        if nodes is None:
            raise ValueError(f"fail_node {spec!r} needs ray_nodes (a local cluster whose "
                             "nodes can be lost)")
        node, after = parse_pair("fail_node", spec, "NODE:GRADIENTS")
        if not (_whole(node) and 0 <= node < nodes and _whole(after) and after >= 0):
            raise ValueError(f"fail_node {spec!r}: NODE must be 0..{nodes - 1} (the worker "
                             f"nodes of ray_nodes={nodes}) and GRADIENTS a whole number >= 0")
        if after >= self.gradients:
            raise ValueError(f"fail_node {spec!r}: GRADIENTS must be less than gradients "
                             f"({self.gradients}), or the run ends before the node is lost")
        return int(node), int(after)

    def _parse_fail(self, spec):
        if isinstance(spec, dict):
            spec = tuple(spec.items())
        elif isinstance(spec, str):
            spec = tuple(x for x in spec.split(",") if x)
        elif spec and isinstance(spec[0], (int, float)) and len(spec) == 2:
            spec = (tuple(spec),)    # a single (worker, after) pair
        pairs = []
        for item in spec:
            w, after = parse_pair("fail", item, "WORKER:AFTER_GRADIENTS")
            if not (_whole(w) and 0 <= w < self.workers and _whole(after) and after >= 0):
                raise ValueError(f"fail {item!r}: WORKER must be 0..{self.workers - 1} and "
                                 "AFTER_GRADIENTS a whole number >= 0")
            pairs.append((int(w), int(after)))
        return tuple(pairs)

    @property
    def bucketed(self) -> Buckets | None:
        """How a step's gradient is sent in parts during its backward pass
        (overlap under sync, backup:B, local:H and allreduce), or None."""
        if self.overlap and self.policy.aggregate:
            return Buckets(self.buckets, self.backward_fraction)
        return None

    @property
    def timing(self) -> Timing:
        p, f = self.straggler or (0.0, 1.0)
        return Timing(compute=self.compute, speeds=self.speeds, straggle_prob=p,
                      straggle_factor=f, latency=self.latency, bandwidth=self.bandwidth,
                      apply_time=self.apply_time)

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """The Config whose ``to_dict()`` is ``d`` (also after a round trip through
        JSON); ValueError naming a key that is not a field."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names - {"problem_options"})
        if unknown:
            raise ValueError(f"not a field of Config: {', '.join(unknown)}")
        values = dict(d)
        options = values.pop("problem_options", None) or {}
        if values.get("problem") not in PROBLEMS:
            raise ValueError(f"unknown problem {values.get('problem')!r}; choose one of "
                             f"{', '.join(PROBLEMS)}")
        # Multinomial logistic regression on a data set is an MLP without hidden layers.
        kind = MLP if "hidden" in options else PROBLEMS[values["problem"]]
        values["problem"] = kind(**options)
        for key in ("bandwidth", "server_bandwidth"):
            if key in values and values[key] is None:
                values[key] = math.inf
        values["speeds"] = tuple(values.get("speeds") or ())
        values["fail"] = tuple(tuple(pair) for pair in values.get("fail") or ())
        if values.get("straggler") is not None:
            values["straggler"] = tuple(values["straggler"])
        return cls(**values)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["problem"] = self.problem.name
        d["problem_options"] = {f.name: getattr(self.problem, f.name)
                                for f in dataclasses.fields(self.problem)}
        for key in ("policy", "compute", "delay", "compress", "partition"):
            d[key] = None if d[key] is None else str(d[key])
        if isinstance(self.latency, Distribution):
            d["latency"] = str(self.latency)
        for key in ("bandwidth", "server_bandwidth"):
            d[key] = None if math.isinf(d[key]) else d[key]
        d["speeds"], d["fail"] = list(self.speeds), [list(x) for x in self.fail]
        d["straggler"] = list(self.straggler) if self.straggler else None
        d["fail_node"] = list(self.fail_node) if self.fail_node else None
        return d
