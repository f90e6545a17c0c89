"""Student's t quantiles and confidence intervals, against published tables and by hand."""
import math

import pytest

from asynclab.stats import estimate, t_cdf, t_quantile

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
    assert one.to_dict() == {"mean": 2.5, "ci_low": None, "ci_high": None, "n": 1}
    assert estimate([]).n == 0 and math.isnan(estimate([]).mean)
    same = estimate([1.0, 1.0, 1.0])
    assert same.low == same.high == 1.0
