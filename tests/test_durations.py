"""Times as the command line prints them: plain numbers with units, and their size in words."""
import math

import pytest

from asynclab.durations import clock, magnitude, reading, seconds


@pytest.mark.parametrize("value, text", [
    (0, "0"), (0.25, "0.25"), (0.012345, "0.01235"), (2e-6, "0.000002"), (1, "1"),
    (24.98, "24.98"), (252.83, "252.8"), (999.97, "1,000"), (24980.3, "24,980"),
    (1234567.8, "1,235,000"), (1e12, "1,000,000,000,000"), (math.inf, "inf"),
])
def test_seconds_are_plain_numbers_with_four_significant_digits(value, text):
    assert seconds(value) == text
    assert "e" not in text.replace("inf", "")      # never an exponent


@pytest.mark.parametrize("value, text", [
    # sub-second, seconds, minutes, hours, days
    (0, "0 s"), (2.5e-6, "2.5 µs"), (0.000999, "999 µs"), (0.25, "250 ms"),
    (0.9996, "1 s"), (1, "1 s"), (24.98, "25 s"), (59.7, "59.7 s"),
    (59.99, "1 min 0 s"), (60, "1 min 0 s"), (252.83, "4 min 13 s"), (3599.4, "59 min 59 s"),
    (3599.6, "1 h 0 min"), (24980.3, "6 h 56 min"), (86399, "1 d 0 h"),
    (200_000, "2 d 8 h"), (1e9, "11,574 d 2 h"),
])
def test_magnitudes_use_the_two_largest_units_that_matter(value, text):
    assert magnitude(value) == text


def test_simulated_and_wall_clock_seconds_say_which_they_are():
    assert clock("simulated") == "simulated s"
    for backend in ("thread", "process", "ray"):
        assert clock(backend) == "wall-clock s"
    assert reading(24980.3, "simulated") == "24,980 simulated s (6 h 56 min)"
    assert reading(24980.3, "process") == "24,980 wall-clock s (6 h 56 min)"
    assert reading(3.2, "thread") == "3.2 wall-clock s"          # under a minute: the number
    assert reading(0.0042, "simulated") == "0.0042 simulated s"
