"""Calibration: the simulated Config that predicts a real run, read from its trace.

Measure, calibrate, predict, check. ``asynclab run --backend process ...
--save run.json`` saves a run with its trace (:func:`saved_run`), and
:func:`calibrate` reads from the trace:

* each worker's **speed**: its mean compute time over the median worker's,
  kept when it differs from 1 by more than ``SPEED_TOLERANCE`` and by more
  than three standard errors of that mean (else 1: noise, not a slow worker);
* the **compute-time law** of every gradient's compute time divided by its
  worker's speed (:func:`asynclab.fits.fit_law`: const, exp or lognormal);
* the **message-time law** of its messages (pulls and pushes; under overlap
  the sender's sends and fetches), once each message's bytes / bandwidth is
  taken off (the Config keeps the bandwidth);
* the server's **apply time**, the mean of its applies (policies with a server);
* the **time between recorded events** (the worker's own Python: counting,
  recording, the loop), per gradient, which the compute law's mean includes.

Those durations hold everything a real worker spends beyond the injected
sleeps (the real gradient, a sleep's overshoot, the pipe to the parent, the
lock), so the simulated run counts it too. They cannot tell injected
stragglers apart from the law (both are in the compute times), and under
allreduce a push or a pull is a whole phase of the ring, not one message:
calibrate from a run of a policy with a server, or hogwild.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass

import numpy as np

from .config import Config
from .fits import MIN_SAMPLES, LawFit, fit_law
from .policies import Policy
from .timing import Distribution
from .trace import COMPUTE, FETCH, FOREGROUND, PULL, PUSH, SEND

__all__ = ["Calibration", "calibrate", "saved_run", "load_run", "python_text",
           "SPEED_TOLERANCE", "SAVED_FORMAT"]

SPEED_TOLERANCE = 0.05   # a worker's speed is kept when it is off 1 by more than this
SAVED_FORMAT = 1         # the version of what saved_run writes beside Result.to_dict


def saved_run(result) -> dict:
    """What ``asynclab run --save`` writes: ``result.to_dict(trace=True)`` and a
    ``saved`` entry with what calibration needs beside it (the bytes of one
    message) and the machine's load average (1, 5, 15 minutes) at the end."""
    d = result.to_dict(trace=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    d["saved"] = {"format": SAVED_FORMAT, "message_bytes": result.config.problem.nbytes,
                  "load_average": None if load is None else [round(x, 2) for x in load]}
    return d


def load_run(path) -> dict:
    """A run saved by ``asynclab run --save``; ValueError (one line, naming
    ``path``) if it cannot be read or is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
    except OSError as err:
        raise ValueError(f"cannot read the run {path!r}: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path!r} is not JSON; save a run with asynclab run --save FILE") \
            from None
    if not (isinstance(run, dict) and {"config", "summary", "trace", "saved"} <= set(run)):
        raise ValueError(f"{path!r} is not a run saved with its trace; save one with "
                         "asynclab run --save FILE")
    return run


@dataclass(frozen=True)
class Calibration:
    """The simulated Config that predicts the real run, and the fits it came from."""
    config: Config              # backend simulated, with the fitted laws
    compute: LawFit             # of the compute times, each over its worker's speed
    message: LawFit | None      # of the messages' latencies (None: none recorded)
    between: float              # seconds per gradient between recorded events
    source: dict                # the real run: backend, seed, workers, gradients, time, load

    @property
    def python(self) -> str:
        """The Config as Python to paste."""
        return python_text(self.config)

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "python": self.python,
                "compute": self.compute.to_dict(),
                "message": None if self.message is None else self.message.to_dict(),
                "speeds": list(self.config.speeds), "apply_time": self.config.apply_time,
                "between_events": self.between,
                "source": dict(self.source)}


def calibrate(run) -> Calibration:
    """The Calibration of ``run``: a Result, or a dict from :func:`saved_run`
    (or :func:`load_run`). ValueError if its trace cannot be read as the
    module says."""
    if not isinstance(run, dict):
        run = saved_run(run)
    config = Config.from_dict(run["config"])
    if config.policy.ring:
        raise ValueError("calibrate reads messages one by one, but under allreduce a push or "
                         "a pull is a whole phase of the ring: save a run of a policy with a "
                         "server (async, say) or hogwild")
    events = run["trace"]
    compute = [(e["worker"], e["end"] - e["start"]) for e in events if e["kind"] == COMPUTE]
    speeds, per_worker = _speeds(compute, config.workers)
    compute_fit = fit_law([seconds / per_worker[w] for w, seconds in compute])
    between = _between_events(events, config.workers) / max(len(compute), 1)
    law = dataclasses.replace(compute_fit.law, mean=compute_fit.law.mean + between)
    message_fit = _message_fit(events, config, run["saved"]["message_bytes"])
    applies = [e["end"] - e["start"] for e in events if e["kind"] == "apply"]
    apply_time = _rounded(float(np.mean(applies))) if applies and config.policy.has_server \
        else 0.0
    latency = 0.0 if message_fit is None else message_fit.law
    simulated = config.replace(
        backend="simulated", compute=_law(law), latency=_latency(latency),
        speeds=speeds, apply_time=apply_time, delay=None, straggler=None, progress=False)
    summary = run["summary"]
    source = {"backend": config.backend, "policy": str(config.policy), "seed": config.seed,
              "workers": config.workers, "gradients": summary["gradients"],
              "time": summary["time"], "load_average": run["saved"].get("load_average")}
    return Calibration(simulated, compute_fit, message_fit, between, source)


def _between_events(events, workers) -> float:
    """Seconds the workers spent between their recorded events, from each one's
    first event to its last, added up (none on the simulated backend)."""
    total = 0.0
    for worker in range(workers):
        spans = [(e["start"], e["end"]) for e in events
                 if e["worker"] == worker and e["kind"] in FOREGROUND]
        if spans:
            recorded = sum(end - start for start, end in spans)
            total += max(0.0, max(end for _, end in spans) - min(s for s, _ in spans) - recorded)
    return total


def _speeds(compute, workers):
    """(speeds for the Config, each worker's factor): see the module docstring."""
    times = [np.array([s for w, s in compute if w == worker]) for worker in range(workers)]
    counted = [t for t in times if len(t) >= MIN_SAMPLES]
    if len(counted) < 2:
        return (), [1.0] * workers
    typical = float(np.median([t.mean() for t in counted]))
    factors = []
    for t in times:
        if len(t) < MIN_SAMPLES:
            factors.append(1.0)
            continue
        error = t.std(ddof=1) / math.sqrt(len(t))
        off = abs(t.mean() - typical)
        apart = off > SPEED_TOLERANCE * typical and off > 3 * error    # not noise
        factors.append(round(float(t.mean() / typical), 3) if apart else 1.0)
    return (tuple(factors) if any(f != 1.0 for f in factors) else ()), factors


def _message_fit(events, config, nbytes) -> LawFit | None:
    """The law of the run's message latencies, or None if it recorded none."""
    kinds = (SEND, FETCH) if config.overlap else (PULL, PUSH)
    # A process worker's bare request for a step (version -1) is a pipe message
    # without the answer; the answer is recorded with the version it brought.
    wire = nbytes / config.bandwidth
    latencies = [e["end"] - e["start"] - wire for e in events
                 if e["kind"] in kinds and e["version"] >= 0]
    latencies = [x for x in latencies if x > 0]
    return fit_law(latencies) if len(latencies) >= MIN_SAMPLES else None


def _rounded(x, digits=4):
    return float(f"{x:.{digits}g}")


def _law(law: Distribution) -> Distribution:
    """``law`` with its numbers to 4 significant digits (3 for sigma), as printed."""
    return Distribution(law.kind, _rounded(law.mean), _rounded(law.sigma, 3))


def _latency(law):
    return law if not isinstance(law, Distribution) else (
        _law(law).mean if law.kind == "const" else _law(law))


def python_text(config) -> str:
    """``config`` as Python to paste: ``asynclab.Config(...)`` with the fields
    that differ from the defaults, and always the compute and latency laws."""
    default = Config()
    parts = []
    for field in dataclasses.fields(Config):
        value = getattr(config, field.name)
        if field.name in ("compute", "latency") or value != getattr(default, field.name):
            parts.append(f"{field.name}={_python_value(value)}")
    return "asynclab.Config(" + ", ".join(parts) + ")"


def _python_value(value):
    if isinstance(value, (Distribution, Policy)):
        return repr(str(value))
    if dataclasses.is_dataclass(value):          # a problem: its class and changed fields
        default = type(value)()
        changed = [f"{f.name}={_python_value(getattr(value, f.name))}"
                   for f in dataclasses.fields(value)
                   if getattr(value, f.name) != getattr(default, f.name)]
        return f"asynclab.{type(value).__name__}({', '.join(changed)})"
    if isinstance(value, float) and math.isinf(value):
        return "math.inf"
    return repr(value)
