"""Validation: how well does the simulator predict real runs? Plain data over Configs.

A validation is a list of Configs (:func:`matrix`), each run twice: on a real
backend (thread, process or ray), where its compute law is slept after every
real gradient (``delay``) and its latency before every message, and on the
simulated backend, its *twin*. Both draw the same times: a worker's k-th
compute time and k-th latency come from the same random stream on every
backend. Each :class:`Cell` compares the two runs (time, staleness, where the
time went) and gives ``error = real time / simulated time - 1``.

Calibration first. A real worker spends more than the injected sleeps: the
real gradient, a sleep's overshoot, the lock or the pipe to the parent, and
more of it when more workers share the cores. Before the cells, each backend
runs a reference (``REFERENCE``: async, constant laws, seed 1; not a cell)
with each number of workers the cells have, which
:func:`asynclab.calibration.calibrate` reads: what it spent per gradient, per
message and per apply beyond what was injected (:class:`Overheads`). Every
twin adds those of its backend and worker count to its laws' means and apply
time. The twin without them, the laws as injected, is run too: its error
(``nominal_error``) is what calibration removed.
"""
from __future__ import annotations

import dataclasses
import os
import statistics
from dataclasses import dataclass

from . import calibration
from .backends import check_config, get_backend
from .backends.base import new_bar, show_progress
from .backends.simulated import run as simulate
from .config import Config
from .problems import Logistic
from .timing import Distribution

__all__ = ["matrix", "validate", "Validation", "Cell", "Overheads", "twin", "as_real",
           "reference", "REFERENCE", "POLICIES", "LAWS"]

POLICIES = ("sync", "async", "ssp:1", "backup:1", "local:4", "allreduce", "hogwild")
# Injected laws: compute (a sleep per gradient) and latency (a sleep per message).
LAWS = {"const": ("const:0.02", 0.005), "random": ("exp:0.02", "lognormal:0.005:0.5")}
# With overlap: the policies that send in the background, and sync and allreduce, whose
# gradients go in 4 buckets during the backward pass (Config.buckets). A cell Config
# refused would be skipped with Config's own reason (none is today).
OVERLAPPED = {"async": {}, "ssp:1": {}, "hogwild": {}, "sync": {"buckets": 4},
              "allreduce": {"buckets": 4}}
PER_WORKER = 30          # gradients per worker in a cell (quick: 20)
BASE = dict(problem=Logistic(), lr=0.1, batch=32, seed=0, eval_points=2)
REFERENCE = Config(**dict(BASE, seed=1), policy="async", workers=2, gradients=60,
                   compute=LAWS["const"][0], latency=LAWS["const"][1])


def reference(workers) -> Config:
    """REFERENCE with ``workers`` workers, each computing as many gradients."""
    return REFERENCE.replace(workers=workers,
                             gradients=REFERENCE.gradients // REFERENCE.workers * workers)


def _cell_fields(policy, workers, laws, overlap, per_worker):
    compute, latency = LAWS[laws]
    fields = dict(BASE, policy=policy, workers=workers, gradients=per_worker * workers,
                  compute=compute, latency=latency)
    if overlap:
        fields.update(overlap=True, **OVERLAPPED[policy])
    return fields


@dataclass(frozen=True)
class Matrix:
    """The Configs of a validation, and the cells Config refuses today, with its reason."""
    configs: list
    skipped: list          # [(fields, reason)]


def matrix(quick=False) -> Matrix:
    """The fixed set of cells. Full: every policy of POLICIES with 2 and 4 workers
    under both LAWS, and with overlap (the random laws) the policies of
    OVERLAPPED. Quick: each policy once with 2 workers, the laws alternating,
    and async with overlap."""
    if quick:
        specs = [(p, 2, ("const", "random")[i % 2], False, 20) for i, p in enumerate(POLICIES)]
        specs.append(("async", 2, "random", True, 20))
    else:
        specs = [(p, n, laws, False, PER_WORKER) for p in POLICIES for n in (2, 4)
                 for laws in LAWS]
        specs += [(p, n, "random", True, PER_WORKER) for p in OVERLAPPED for n in (2, 4)]
    configs, skipped = [], []
    for spec in specs:
        fields = _cell_fields(*spec)
        try:
            configs.append(Config(**fields))
        except (TypeError, ValueError) as err:      # TypeError: a field Config lacks
            skipped.append((_described(fields), str(err)))
    return Matrix(configs, skipped)


DESCRIBED = ("policy", "workers", "gradients", "compute", "latency", "overlap", "buckets")


def _described(fields) -> dict:
    """What tells a cell apart (a dict of fields, or a Config), as plain values."""
    if isinstance(fields, Config):
        fields = {k: getattr(fields, k) for k in DESCRIBED if hasattr(fields, k)}
    return {k: (fields[k] if isinstance(fields[k], (bool, int, float, str)) else str(fields[k]))
            for k in DESCRIBED if k in fields}


@dataclass(frozen=True)
class Overheads:
    """Seconds a real worker spends beyond the injected sleeps, on one backend."""
    per_gradient: float
    per_message: float
    apply_time: float

    @classmethod
    def measured(cls, reference: Config, backend: str) -> "Overheads":
        """Run ``reference`` on ``backend`` and calibrate it (see the module docstring)."""
        real = get_backend(backend)(as_real(reference, backend))
        found = calibration.calibrate(real)
        message = 0.0 if found.message is None else found.message.mean - _mean(reference.latency)
        return cls(found.config.compute.mean - reference.compute.mean, message,
                   found.config.apply_time)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


NONE = Overheads(0.0, 0.0, 0.0)


def _mean(latency) -> float:
    return latency.mean if isinstance(latency, Distribution) else latency


def _shifted(law: Distribution, seconds) -> Distribution:
    """``law`` with its mean raised by ``seconds`` (a negative overhead, which only
    noise can measure, never takes more than half of it)."""
    return dataclasses.replace(law, mean=max(law.mean + seconds, law.mean / 2))


def twin(config: Config, overheads: Overheads = NONE) -> Config:
    """The simulated run that predicts ``config`` on a real backend: its laws'
    means and its apply time raised by ``overheads``."""
    latency = config.latency
    latency = (_shifted(latency, overheads.per_message) if isinstance(latency, Distribution)
               else max(latency + overheads.per_message, 0.0))
    return config.replace(backend="simulated", delay=None, latency=latency,
                          compute=_shifted(config.compute, overheads.per_gradient),
                          apply_time=config.apply_time + overheads.apply_time)


def as_real(config: Config, backend: str) -> Config:
    """``config`` on ``backend``: its compute law slept after every real gradient."""
    return config.replace(backend=backend, delay=config.compute)


FRACTIONS = ("compute", "wait", "queue", "transfer", "overlap")


@dataclass(frozen=True)
class Cell:
    """One Config on one real backend against its twin (Summaries of both runs)."""
    config: Config
    backend: str
    simulated: object          # Summary of the calibrated twin
    real: object               # Summary of the real run
    nominal_time: float        # the twin's time without the overheads

    @property
    def error(self) -> float:
        return self.real.time / self.simulated.time - 1

    @property
    def nominal_error(self) -> float:
        return self.real.time / self.nominal_time - 1

    def to_dict(self) -> dict:
        c, sim, real = self.config, self.simulated, self.real
        return {"backend": self.backend, "policy": str(c.policy), "workers": c.workers,
                "overlap": c.overlap, "compute": str(c.compute), "latency": str(c.latency),
                "gradients": c.gradients, "simulated_time": sim.time, "real_time": real.time,
                "error": self.error, "nominal_time": self.nominal_time,
                "nominal_error": self.nominal_error,
                "simulated_staleness": sim.mean_staleness, "real_staleness": real.mean_staleness,
                "simulated_fractions": _fractions(sim), "real_fractions": _fractions(real)}


def _fractions(summary) -> dict:
    return {name: getattr(summary, f"{name}_fraction") for name in FRACTIONS}


@dataclass(frozen=True)
class Validation:
    cells: list
    skipped: list              # [(fields, reason)]: cells not run
    overheads: dict            # {backend: {workers: Overheads}}
    load_average: tuple        # 1-minute load average before and after

    @property
    def abs_errors(self) -> list:
        return [abs(cell.error) for cell in self.cells]

    @property
    def median_abs_error(self) -> float:
        return statistics.median(self.abs_errors)

    @property
    def max_abs_error(self) -> float:
        return max(self.abs_errors)

    @property
    def worst(self) -> Cell:
        return max(self.cells, key=lambda cell: abs(cell.error))

    def to_dict(self) -> dict:
        return {"cells": [cell.to_dict() for cell in self.cells],
                "median_abs_error": self.median_abs_error, "max_abs_error": self.max_abs_error,
                "skipped": [dict(fields, reason=reason) for fields, reason in self.skipped],
                "overheads": {b: {str(n): o.to_dict() for n, o in by_workers.items()}
                              for b, by_workers in self.overheads.items()},
                "load_average": list(self.load_average)}


def validate(configs, backends=("thread", "process"), calibrate=True,
             progress=False) -> Validation:
    """Run every Config of ``configs`` (a list, or a :class:`Matrix`) on each of
    ``backends`` and as its twin. ``calibrate=False`` skips the reference runs:
    the twins are then the laws as injected. ``progress``: a bar over the real
    runs (True, False or seconds, as Config.progress)."""
    skipped = []
    if isinstance(configs, Matrix):
        configs, skipped = configs.configs, list(configs.skipped)
    load = _load()
    runs = []
    for config in configs:
        for backend in backends:
            try:
                check_config(as_real(config, backend))
            except ValueError as err:              # Ray does not model everything
                skipped.append((dict(_described(config), backend=backend), str(err)))
                continue
            runs.append((config, backend))
    counts = sorted({config.workers for config, _ in runs})
    references = [(backend, n) for backend in backends for n in counts] if calibrate else []
    bar = new_bar(progress, total=len(references) + len(runs), desc="validate", unit="run")
    overheads = {backend: dict.fromkeys(counts, NONE) for backend in backends}
    for done, (backend, n) in enumerate(references, 1):
        overheads[backend][n] = Overheads.measured(reference(n), backend)
        show_progress(bar, done)
    cells = []
    for config, backend in runs:
        real = get_backend(backend)(as_real(config, backend)).summary
        simulated = simulate(twin(config, overheads[backend][config.workers])).summary
        nominal = simulate(twin(config)).summary
        cells.append(Cell(config, backend, simulated, real, nominal.time))
        show_progress(bar, len(references) + len(cells))
    if bar is not None:
        bar.close()
    return Validation(cells, skipped, overheads, (load, _load()))


def _load():
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
