"""How long things take on the simulated cluster (all times in seconds).

``Distribution`` is a compute-time law written as ``const:MEAN``,
``exp:MEAN`` or ``lognormal:MEAN:SIGMA`` (MEAN is always the mean, so the
three are comparable). ``Timing`` combines it with per-worker speed factors,
stragglers, network latency and bandwidth, and the server's apply time.
``WorkerClock`` draws one worker's compute times from that worker's own
random stream.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DISTRIBUTION_FORMS = "const:MEAN, exp:MEAN or lognormal:MEAN:SIGMA (MEAN > 0, SIGMA >= 0)"


@dataclass(frozen=True)
class Distribution:
    kind: str
    mean: float
    sigma: float = 0.0

    @classmethod
    def parse(cls, spec) -> "Distribution":
        if isinstance(spec, Distribution):
            return spec
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            spec = f"const:{spec}"
        parts = str(spec).split(":")
        try:
            numbers = [float(x) for x in parts[1:]]
        except ValueError:
            numbers = []
        shapes = {"const": 1, "exp": 1, "lognormal": 2}
        if (parts[0] not in shapes or len(numbers) != shapes[parts[0]]
                or not all(math.isfinite(x) for x in numbers)
                or numbers[0] <= 0 or (len(numbers) == 2 and numbers[1] < 0)):
            raise ValueError(f"bad distribution {spec!r}; allowed: {DISTRIBUTION_FORMS}")
        return cls(parts[0], *numbers)

    def __str__(self):
        tail = f":{self.sigma:g}" if self.kind == "lognormal" else ""
        return f"{self.kind}:{self.mean:g}{tail}"

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.kind == "const":
            return np.full(size, self.mean)
        if self.kind == "exp":
            return rng.exponential(self.mean, size)
        # E[exp(N(mu, s^2))] = exp(mu + s^2 / 2), so this mu makes the mean MEAN.
        mu = math.log(self.mean) - self.sigma ** 2 / 2
        return rng.lognormal(mu, self.sigma, size)


@dataclass(frozen=True)
class Timing:
    compute: Distribution = Distribution("exp", 1.0)
    speeds: tuple = ()               # per-worker time multipliers; missing ones are 1
    straggle_prob: float = 0.0       # chance that one gradient is slowed down...
    straggle_factor: float = 1.0     # ...by this factor
    latency: float | Distribution = 0.0   # seconds per message, each way (a law: see network.py)
    bandwidth: float = math.inf      # bytes per second
    apply_time: float = 0.0          # server seconds per gradient received

    def message_time(self, nbytes: int) -> float:
        """Seconds to send one push or one pull of ``nbytes`` (a latency law counts its mean)."""
        latency = self.latency.mean if isinstance(self.latency, Distribution) else self.latency
        return latency + nbytes / self.bandwidth

    def speed(self, worker: int) -> float:
        return self.speeds[worker] if worker < len(self.speeds) else 1.0


class WorkerClock:
    """Compute times of one worker, drawn in blocks from its own stream.

    ``block`` (draws per refill) must depend only on the Config, so that runs
    stay reproducible; a worker expected to compute few gradients draws few.
    """

    def __init__(self, timing: Timing, worker: int, rng: np.random.Generator, block=512):
        self.timing, self.rng, self.block = timing, rng, block
        self.scale = timing.speed(worker)
        self._times, self._next = [], 0

    def next_compute(self) -> float:
        if self._next == len(self._times):
            self._refill()
        t = self._times[self._next]
        self._next += 1
        return t

    def _refill(self):
        t = self.timing
        times = self.scale * t.compute.draw(self.rng, self.block)
        if t.straggle_prob > 0:
            slow = self.rng.random(self.block) < t.straggle_prob
            times = np.where(slow, times * t.straggle_factor, times)
        self._times, self._next = times.tolist(), 0
