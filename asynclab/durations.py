"""Times as people read them: a number of seconds with its unit, and its size in words.

    seconds(24980.3)                 "24,980"        (4 significant digits, no exponent)
    magnitude(24980.3)               "6 h 56 min"
    clock("simulated")               "simulated s"   (virtual seconds of the simulated cluster)
    clock("process")                 "wall-clock s"  (real seconds, on the real backends)
    reading(24980.3, "simulated")    "24,980 simulated s (6 h 56 min)"

A run's times are virtual seconds on the simulated backend and wall-clock
seconds elsewhere (asynclab.results); the unit says which.
"""
from __future__ import annotations

import math

__all__ = ["seconds", "magnitude", "clock", "reading"]

MINUTE, HOUR, DAY = 60, 3600, 86400


def seconds(value: float, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits in plain notation, with thousands
    separators: 24980.3 -> "24,980", 1234567.8 -> "1,235,000", 0.012345 -> "0.01235"."""
    if not math.isfinite(value):
        return str(value)
    rounded = float(f"{value:.{digits}g}")     # 999.97 -> 1000.0, so digits are counted after
    if rounded == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    text = f"{rounded:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def magnitude(value: float) -> str:
    """How long ``value`` seconds is: "250 ms", "24.9 s", "4 min 10 s", "6 h 56 min",
    "2 d 3 h" (3 significant digits below a minute, then the two largest units)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} s"
    for scale, name, limit in ((1e-6, "µs", 1000), (1e-3, "ms", 1000), (1, "s", MINUTE)):
        text = f"{value / scale:.3g}"
        if float(text) < limit:       # else rounding reached the next unit: 999.6 ms is 1 s
            return f"{text} {name}"
    for small, big, small_name, big_name, limit in ((1, MINUTE, "s", "min", HOUR),
                                                    (MINUTE, HOUR, "min", "h", DAY),
                                                    (HOUR, DAY, "h", "d", math.inf)):
        count = round(value / small)              # whole smaller units: 59.7 s is 60 s
        if count * small < limit:
            large, rest = divmod(count, big // small)
            return f"{large:,} {big_name} {rest} {small_name}"


def clock(backend: str) -> str:
    """The unit of a run's times on ``backend``: virtual or wall-clock seconds."""
    return "simulated s" if backend == "simulated" else "wall-clock s"


def reading(value: float, backend: str) -> str:
    """A time with its unit, and its size in words from a minute on."""
    text = f"{seconds(value)} {clock(backend)}"
    return f"{text} ({magnitude(value)})" if math.isfinite(value) and value >= MINUTE else text
