"""Means and confidence intervals over repeated runs (different seeds).

The interval is Student's t-interval: ``mean ± t(1 - (1 - level) / 2, n - 1) · s / √n``
with ``s`` the sample standard deviation. Three forms of it:

- ``estimate``: the arithmetic mean and its t-interval (any real values);
  ``bounded_estimate`` cuts that interval to a quantity's possible range, e.g.
  [0, 1] for an accuracy or a fraction. The true mean lies in that range, so the
  cut interval covers it exactly as often as the uncut one.
- ``log_estimate``: for positive quantities such as times, the geometric mean
  ``exp(mean(log x))`` and ``exp`` of the t-interval of the logs, which never
  goes below zero and is as wide in ratio above the mean as below it.
  ``positive_estimate`` uses it when every value is above zero, and the
  arithmetic interval cut at zero otherwise (a geometric mean of a zero is zero).
- ``paired_ratio``: two settings run on the same seeds, the geometric mean of
  the per-seed ratios and the t-interval of the per-seed log ratios.

SciPy is not a dependency, so the t quantile is computed here: the t
distribution's CDF through the regularised incomplete beta function (a
continued fraction, as in Numerical Recipes §6.4), inverted by bisection.
tests/test_stats.py checks all of this against published tables and SciPy.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

__all__ = ["Estimate", "estimate", "bounded_estimate", "log_estimate", "positive_estimate",
           "paired_ratio", "t_quantile", "t_cdf"]


def _beta_fraction(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < eps:
            break
    return result


def _incomplete_beta(a, b, x):
    """The regularised incomplete beta function I_x(a, b), for 0 <= x <= 1."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):        # where the fraction converges fast
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@functools.lru_cache(maxsize=256)    # a bisection of ~60 CDFs; every estimate asks for one
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (0 < p < 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be between 0 and 1 (exclusive), got {p!r}")
    if not df > 0:
        raise ValueError(f"df must be greater than 0, got {df!r}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:               # bracket the quantile
        low, high = high, 2.0 * high
    for _ in range(200):                     # bisection: exact to the last bits
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        low, high = (middle, high) if t_cdf(middle, df) < p else (low, middle)
    return 0.5 * (low + high)


@dataclass(frozen=True)
class Estimate:
    """The mean of ``n`` values and its confidence interval (NaN when n < 2).
    ``scale`` is "linear" (arithmetic mean) or "log" (geometric mean, interval
    from the logs: see the module docstring)."""
    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95
    scale: str = "linear"

    def __str__(self):
        if self.n == 0:
            return "no values"
        if self.n == 1:
            return f"{self.mean:.4g} (one value)"
        return f"{self.mean:.4g} [{self.low:.4g}, {self.high:.4g}]"

    def to_dict(self):
        clean = (lambda x: x if math.isfinite(x) else None)  # noqa: E731 (JSON has no NaN)
        return {"mean": clean(self.mean), "ci_low": clean(self.low),
                "ci_high": clean(self.high), "n": self.n, "scale": self.scale}


def estimate(values, level: float = 0.95) -> Estimate:
    """Mean and ``level`` t-interval of ``values`` (finite numbers)."""
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, level)
    mean = math.fsum(values) / n
    if n == 1:
        return Estimate(mean, math.nan, math.nan, 1, level)
    half = _half_width(values, mean, level)
    return Estimate(mean, mean - half, mean + half, n, level)


def _half_width(values, mean, level):
    """t(1 - (1 - level) / 2, n - 1) · s / √n of two or more values."""
    n = len(values)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return t_quantile(1.0 - (1.0 - level) / 2.0, n - 1) * sd / math.sqrt(n)


def bounded_estimate(values, low: float, high: float = math.inf,
                     level: float = 0.95) -> Estimate:
    """``estimate`` with its interval cut to ``[low, high]``, the values' possible range."""
    e = estimate(values, level)
    if e.n < 2:
        return e
    return Estimate(e.mean, min(max(e.low, low), high), max(min(e.high, high), low), e.n, level)


def log_estimate(values, level: float = 0.95) -> Estimate:
    """Geometric mean of positive ``values`` and ``exp`` of the ``level`` t-interval of
    their logs (scale "log"); one value is its own mean, exactly."""
    values = _positive(values)
    if len(values) < 2:
        return dataclasses.replace(estimate(values, level), scale="log")
    return _exp_of_estimate([math.log(v) for v in values], level)


def _exp_of_estimate(logs, level):
    """The estimate of the logs, mapped back by exp."""
    mean = math.fsum(logs) / len(logs)
    half = _half_width(logs, mean, level)
    return Estimate(_exp(mean), _exp(mean - half), _exp(mean + half), len(logs), level, "log")


def _exp(x):
    """exp, infinite past the largest float instead of an OverflowError."""
    return math.exp(x) if x < 709.0 else math.inf


def _positive(values) -> list:
    values = [float(v) for v in values]
    for v in values:
        if not 0 < v < math.inf:
            raise ValueError(f"a log-scale estimate needs positive finite values, got {v!r}")
    return values


def positive_estimate(values, level: float = 0.95) -> Estimate:
    """A quantity that cannot be negative (a time, a rate): ``log_estimate`` when every
    value is above zero, else the arithmetic mean with its interval cut at zero."""
    values = [float(v) for v in values]
    if all(v > 0 for v in values):
        return log_estimate(values, level)
    return bounded_estimate(values, 0.0, level=level)


def paired_ratio(numerators, denominators, level: float = 0.95) -> Estimate:
    """Two settings measured on the same seeds (pair k from seed k): the geometric
    mean of the ratios ``numerators[k] / denominators[k]`` and ``exp`` of the
    ``level`` t-interval of the log ratios (scale "log"). Every value must be
    positive and finite: pairs where a run has no value are the caller's to
    leave out, and to say so."""
    numerators, denominators = _positive(numerators), _positive(denominators)
    if len(numerators) != len(denominators):
        raise ValueError(f"paired values must come in pairs, got {len(numerators)} "
                         f"numerators and {len(denominators)} denominators")
    if len(numerators) < 2:
        ratios = [a / b for a, b in zip(numerators, denominators)]
        return dataclasses.replace(estimate(ratios, level), scale="log")
    return _exp_of_estimate([math.log(a) - math.log(b)
                             for a, b in zip(numerators, denominators)], level)
