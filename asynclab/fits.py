"""Which time law did these durations come from? Maximum-likelihood fits.

The simulator draws times from three laws (:class:`~asynclab.timing.Distribution`):
``const:MEAN``, ``exp:MEAN`` and ``lognormal:MEAN:SIGMA``. Given measured
durations (seconds, all above zero), :func:`fit_law` fits each by maximum
likelihood and chooses one:

* exp: the MLE of the mean is the sample mean; log-likelihood
  ``-n (log mean + 1)``.
* lognormal: ``mu`` and ``sigma`` are the mean and the standard deviation
  (divided by n) of the logs; the law's mean is ``exp(mu + sigma^2 / 2)``
  (:func:`fit_lognormal`).
* const: every value the same, MEAN the sample mean. Its likelihood is
  degenerate (infinite at one point, zero elsewhere), so it cannot enter a
  likelihood comparison; it is chosen instead when the coefficient of
  variation (standard deviation over mean) is below ``CONST_CV``: a spread
  that small barely changes when a barrier or a bound releases anyone.
* Otherwise the one of exp and lognormal with the lower AIC, ``2k - 2 log L``
  (k = 1 and 2 parameters), exp on a tie.

The chosen law's MEAN is always the sample mean: the exponential's MLE, and
for the lognormal as good an estimate when the law is lognormal, and the right
one when it is not quite (a measured time is an injected law plus an overhead,
which shifts it: the lognormal MLE's mean then misses by several percent). A
run's time depends on the means above all; the shape (SIGMA) is the MLE's.

The fits are checked against SciPy's (tests/test_fits.py); SciPy is not a
dependency.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .timing import Distribution

__all__ = ["LawFit", "fit_law", "fit_exponential", "fit_lognormal", "CONST_CV", "MIN_SAMPLES"]

CONST_CV = 0.1       # below this coefficient of variation a law is taken as constant
MIN_SAMPLES = 10     # durations needed for a fit


def _positive(samples, what):
    x = np.asarray(samples, dtype=float).ravel()
    if len(x) < MIN_SAMPLES or not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise ValueError(f"{what}: a law needs at least {MIN_SAMPLES} finite durations above 0, "
                         f"got {len(x)}" + ("" if len(x) < MIN_SAMPLES else
                                            " with some at or below 0, or not finite"))
    return x


def fit_exponential(samples) -> tuple[Distribution, float]:
    """The exponential law of greatest likelihood, and its log-likelihood."""
    x = _positive(samples, "exp")
    mean = float(x.mean())
    return Distribution("exp", mean), -len(x) * (math.log(mean) + 1.0)


def fit_lognormal(samples) -> tuple[Distribution, float]:
    """The lognormal law of greatest likelihood (sigma > 0), and its log-likelihood."""
    x = _positive(samples, "lognormal")
    if np.ptp(x) == 0:
        raise ValueError("lognormal: every duration is the same, the law is constant")
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())      # the MLE divides by n
    n = len(x)
    loglik = -float(logs.sum()) - n * math.log(sigma) - n / 2 * math.log(2 * math.pi) - n / 2
    return Distribution("lognormal", math.exp(mu + sigma ** 2 / 2), sigma), loglik


@dataclass(frozen=True)
class LawFit:
    """The law chosen for some durations, and why."""
    law: Distribution
    samples: int          # how many durations
    mean: float           # their mean, seconds
    cv: float             # their coefficient of variation
    aic: dict             # {"exp": AIC, "lognormal": AIC}; empty when the law is const

    @property
    def reason(self) -> str:
        if not self.aic:
            return f"coefficient of variation {self.cv:.3f} < {CONST_CV:g}: constant"
        other = "lognormal" if self.law.kind == "exp" else "exp"
        return (f"coefficient of variation {self.cv:.3f}; AIC {self.law.kind} "
                f"{self.aic[self.law.kind]:.1f} <= {other} {self.aic[other]:.1f}")

    def to_dict(self) -> dict:
        return {"law": str(self.law), "samples": self.samples, "mean": self.mean, "cv": self.cv,
                "aic": dict(self.aic), "reason": self.reason}


def fit_law(samples) -> LawFit:
    """The law of ``samples`` (durations in seconds), chosen as the module says."""
    x = _positive(samples, "durations")
    mean = float(x.mean())
    cv = float(x.std() / mean)
    if cv < CONST_CV:
        return LawFit(Distribution("const", mean), len(x), mean, cv, {})
    fits = {"exp": fit_exponential(x), "lognormal": fit_lognormal(x)}
    aic = {name: 2 * k - 2 * fits[name][1] for name, k in (("exp", 1), ("lognormal", 2))}
    best = "exp" if aic["exp"] <= aic["lognormal"] else "lognormal"
    law = dataclasses.replace(fits[best][0], mean=mean)     # see the module docstring
    return LawFit(law, len(x), mean, cv, aic)
