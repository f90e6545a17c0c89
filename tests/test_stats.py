"""Student's t quantiles and confidence intervals, against published tables, by hand
and against SciPy (a test dependency only: asynclab computes these without it)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from asynclab.stats import (bounded_estimate, estimate, log_estimate, paired_ratio,
                            positive_estimate, t_cdf, t_quantile)

# Two-sided 95% (p = 0.975) and 99% (p = 0.995) critical values, from the standard
# table (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2), to the digits printed there.
TABLE = [
    (0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 3, 3.182), (0.975, 4, 2.776),
    (0.975, 5, 2.571), (0.975, 9, 2.262), (0.975, 10, 2.228), (0.975, 29, 2.045),
    (0.975, 30, 2.042), (0.975, 100, 1.984), (0.995, 1, 63.657), (0.995, 3, 5.841),
    (0.995, 10, 3.169), (0.95, 5, 2.015), (0.90, 20, 1.325),
]


@pytest.mark.parametrize("p, df, value", TABLE)
def test_t_quantiles_match_the_table(p, df, value):
    assert t_quantile(p, df) == pytest.approx(value, abs=6e-4)


def test_t_quantiles_to_more_digits_and_their_limit():
    # Values computed with high precision (R: qt(0.975, df)).
    assert t_quantile(0.975, 1) == pytest.approx(12.706204736174698, rel=1e-12)
    assert t_quantile(0.975, 2) == pytest.approx(4.302652729749464, rel=1e-12)
    assert t_quantile(0.975, 4) == pytest.approx(2.776445105197793, rel=1e-12)
    assert t_quantile(0.975, 1e7) == pytest.approx(1.959963984540054, rel=1e-6)  # the normal's


def test_t_cdf_is_symmetric_and_inverts_the_quantile():
    for df in (1, 2.5, 7, 40):
        assert t_cdf(0.0, df) == pytest.approx(0.5)
        for t in (0.3, 1.0, 2.7):
            assert t_cdf(-t, df) == pytest.approx(1 - t_cdf(t, df), abs=1e-14)
        for p in (0.6, 0.9, 0.975, 0.999):
            assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-12)
    # Cauchy (df = 1) has a closed form: 1/2 + atan(t)/pi.
    assert t_cdf(2.0, 1) == pytest.approx(0.5 + math.atan(2.0) / math.pi, abs=1e-13)
    assert t_quantile(0.025, 3) == pytest.approx(-t_quantile(0.975, 3))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="p must be between 0 and 1"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df must be greater than 0"):
        t_quantile(0.9, 0)


def test_the_interval_is_the_hand_computed_t_interval():
    values = [3.0, 5.0, 4.0, 8.0]
    mean = 5.0
    sd = math.sqrt(((3 - 5) ** 2 + 0 + (4 - 5) ** 2 + (8 - 5) ** 2) / 3)   # sqrt(14 / 3)
    half = 3.182446305284263 * sd / 2                                    # t(0.975, 3) sd / sqrt(4)
    e = estimate(values)
    assert (e.mean, e.n) == (mean, 4)
    assert e.low == pytest.approx(mean - half, rel=1e-12)
    assert e.high == pytest.approx(mean + half, rel=1e-12)
    assert str(e) == f"5 [{mean - half:.4g}, {mean + half:.4g}]"
    wider = estimate(values, level=0.99)
    assert wider.low < e.low and wider.high > e.high


def test_one_value_has_no_interval_and_none_has_no_mean():
    one = estimate([2.5])
    assert one.mean == 2.5 and math.isnan(one.low) and math.isnan(one.high)
    assert one.to_dict() == {"mean": 2.5, "ci_low": None, "ci_high": None, "n": 1,
                             "scale": "linear"}
    assert estimate([]).n == 0 and math.isnan(estimate([]).mean)
    same = estimate([1.0, 1.0, 1.0])
    assert same.low == same.high == 1.0


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 19, 60, 1000])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.95, 0.975, 0.995])
def test_t_quantiles_match_scipy(p, df):
    assert t_quantile(p, df) == pytest.approx(scipy_stats.t.ppf(p, df), rel=1e-10)


SAMPLES = [[3.0, 5.0, 4.0, 8.0], [0.5, 40.0], [12.1, 11.7, 12.9, 30.2, 12.0],
           list(np.random.default_rng(0).lognormal(1.0, 0.8, size=30))]


@pytest.mark.parametrize("values", SAMPLES)
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_the_log_scale_interval_is_scipys_t_interval_of_the_logs(values, level):
    logs = np.log(values)
    low, high = scipy_stats.t.interval(level, len(logs) - 1, loc=np.mean(logs),
                                       scale=scipy_stats.sem(logs))
    e = log_estimate(values, level)
    assert e.mean == pytest.approx(scipy_stats.gmean(values), rel=1e-12)
    assert (e.low, e.high) == pytest.approx((math.exp(low), math.exp(high)), rel=1e-10)
    assert (e.n, e.level, e.scale) == (len(values), level, "log")
    assert e.to_dict()["scale"] == "log"
    # As wide in ratio above the mean as below it.
    assert e.high / e.mean == pytest.approx(e.mean / e.low, rel=1e-12)


def test_a_time_interval_stays_above_zero_where_the_arithmetic_one_does_not():
    times = [0.5, 40.0]
    assert estimate(times).low < 0 < log_estimate(times).low
    extreme = log_estimate([1e-300, 1e300])          # exp of the upper end would overflow
    assert extreme.high == math.inf and 0 <= extreme.low < extreme.mean


@given(st.lists(st.floats(1e-6, 1e6), min_size=1, max_size=12))
def test_log_scale_intervals_are_positive_and_hold_the_mean(values):
    e = log_estimate(values)
    if len(values) == 1:
        assert e.mean == values[0] and math.isnan(e.low)     # one value: itself, no interval
    else:
        assert 0 < e.low <= e.mean * (1 + 1e-12) and e.mean <= e.high * (1 + 1e-12)
        assert min(values) * (1 - 1e-12) <= e.mean <= max(values) * (1 + 1e-12)


@given(st.lists(st.floats(0, 1), min_size=2, max_size=12))
def test_a_fraction_interval_stays_in_0_1_and_is_the_t_interval_cut_there(values):
    e, plain = bounded_estimate(values, 0.0, 1.0), estimate(values)
    assert 0 <= e.low <= e.high <= 1 and e.mean == plain.mean
    assert e.low == max(plain.low, 0.0) and e.high == min(plain.high, 1.0)


def test_positive_values_with_a_zero_get_the_arithmetic_interval_cut_at_zero():
    e = positive_estimate([0.0, 1.0, 2.0])
    plain = estimate([0.0, 1.0, 2.0])
    assert (e.mean, e.low, e.high, e.scale) == (1.0, 0.0, plain.high, "linear")
    assert positive_estimate([1.0, 2.0]) == log_estimate([1.0, 2.0])
    assert positive_estimate([]).n == 0


@pytest.mark.parametrize("values", [[1.0, 0.0], [2.0, -1.0], [1.0, math.inf]])
def test_a_log_scale_estimate_refuses_values_that_are_not_positive(values):
    with pytest.raises(ValueError, match="a log-scale estimate needs positive finite values, "
                                         f"got {values[1]!r}"):
        log_estimate(values)


def test_the_paired_ratio_is_scipys_paired_t_interval_of_the_log_ratios():
    rng = np.random.default_rng(1)
    base = rng.lognormal(2.0, 0.5, size=6)
    other = base * rng.lognormal(-0.3, 0.1, size=6)      # about 0.74x, seed by seed
    test = scipy_stats.ttest_rel(np.log(other), np.log(base))
    ci = test.confidence_interval(0.95)
    r = paired_ratio(other, base)
    assert r.mean == pytest.approx(scipy_stats.gmean(other / base), rel=1e-12)
    assert (r.low, r.high) == pytest.approx((math.exp(ci.low), math.exp(ci.high)), rel=1e-10)
    assert r.scale == "log" and r.n == 6 and r.high < 1
    # Pairing removes the seed-to-seed spread the two share: tighter than unpaired.
    unpaired = log_estimate(other).high / log_estimate(base).low
    assert r.high < unpaired
    flipped = paired_ratio(base, other)
    assert flipped.mean == pytest.approx(1 / r.mean) and flipped.low == pytest.approx(1 / r.high)


def test_a_paired_ratio_needs_pairs_of_positive_values():
    with pytest.raises(ValueError, match="must come in pairs, got 2 numerators and 1"):
        paired_ratio([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive finite values, got 0.0"):
        paired_ratio([1.0, 0.0], [1.0, 1.0])
    one = paired_ratio([3.0], [2.0])
    assert one.mean == 1.5 and one.n == 1 and math.isnan(one.low) and one.scale == "log"
    assert paired_ratio([], []).n == 0
