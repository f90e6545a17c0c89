"""Numeric quiz answers as learners type them: ``2.5``, ``5/2``, ``1e-3``, ``52%``,
``1.2 s``, ``130 ms``, ``11x``.

A question may state the unit of its answer (``"unit"`` in the bank: ``"s"``,
``"ms"`` or ``"%"``). An answer's unit then converts to it: ``"130 ms"`` is 0.13
for a question in seconds, and ``"1%"`` is 1 for a question in percent; a unit of
another kind is refused. Without a stated unit, a percent sign divides by 100
(``"52%"`` is 0.52, for a fraction) and any other unit is read as a label
(``"1.2 s"`` is 1.2, ``"11x"`` is 11).
The course website reads answers the same way (``lessons/site/course.js``, which
mirrors ``ANSWER`` and ``SECONDS``); the tests hold both to one table of cases.
"""
from __future__ import annotations

import math
import re

# A number, a fraction of two, then a unit: a percent sign or a word (no digits).
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
ANSWER = re.compile(rf"^\s*({NUMBER})\s*(?:/\s*({NUMBER})\s*)?(%|[^\W\d_][^\d]*?)?\s*$",
                    re.IGNORECASE | re.ASCII)
SECONDS = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
           "ms": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3}
UNITS = ("s", "ms", "%")          # the units a question may state
EXAMPLE = "e.g. 2.5, 5/2, 52% or 1.2 s"


def read_number(text, unit=None) -> float:
    """``text`` as a number in ``unit`` (one of ``UNITS``, or None); raises ValueError
    naming the text and what is allowed."""
    found = ANSWER.match(text)
    if not found:
        raise ValueError(f"the answer must be a number ({EXAMPLE}), got {text!r}")
    top, bottom = found.group(1), found.group(2)
    said = (found.group(3) or "").strip().rstrip(".").lower()
    value = float(top) / float(bottom) if bottom is not None and float(bottom) else \
        float(top) if bottom is None else math.nan
    if not math.isfinite(value):
        raise ValueError(f"the answer must be a number ({EXAMPLE}), got {text!r}")
    if said == "%" and unit in (None, "%"):
        return value if unit == "%" else value / 100
    if said in SECONDS and unit in SECONDS:
        return value * SECONDS[said] / SECONDS[unit]
    if said and unit is not None and (said in (*SECONDS, "%") or unit in SECONDS):
        raise ValueError(f"this answer is in {unit}, got {text!r}")
    return value
