"""Maximum-likelihood fits of time laws (asynclab.fits), checked against SciPy's
fits on the same samples, and the criterion that chooses the law."""
import math

import numpy as np
import pytest
from scipy import stats

from asynclab.fits import CONST_CV, MIN_SAMPLES, fit_exponential, fit_law, fit_lognormal
from asynclab.timing import Distribution


def draws(spec, n, seed=0):
    return Distribution.parse(spec).draw(np.random.default_rng(seed), n)


@pytest.mark.parametrize("seed", range(3))
def test_the_exponential_fit_is_scipys(seed):
    x = draws("exp:0.02", 300, seed)
    law, loglik = fit_exponential(x)
    loc, scale = stats.expon.fit(x, floc=0)
    assert law.kind == "exp" and law.mean == pytest.approx(scale, rel=1e-12)
    assert loglik == pytest.approx(stats.expon.logpdf(x, 0, scale).sum(), rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_the_lognormal_fit_is_scipys(seed):
    x = draws("lognormal:0.005:0.5", 300, seed)
    law, loglik = fit_lognormal(x)
    sigma, loc, scale = stats.lognorm.fit(x, floc=0)
    assert law.kind == "lognormal" and law.sigma == pytest.approx(sigma, rel=1e-6)
    # The law is written by its mean: exp(mu + sigma^2 / 2), with scale = exp(mu).
    assert law.mean == pytest.approx(scale * math.exp(sigma ** 2 / 2), rel=1e-6)
    assert loglik == pytest.approx(stats.lognorm.logpdf(x, sigma, 0, scale).sum(), rel=1e-8)


@pytest.mark.parametrize("spec", ["exp:0.02", "lognormal:0.02:0.3", "lognormal:0.005:1.2",
                                  "const:0.02"])
def test_the_criterion_picks_the_law_the_samples_came_from(spec):
    truth = Distribution.parse(spec)
    for seed in range(10):
        x = draws(spec, 400, seed)
        if truth.kind == "const":       # a constant with a little jitter, as a sleep has
            x = x * (1 + 0.01 * np.random.default_rng(seed).standard_normal(len(x)))
        fit = fit_law(x)
        assert fit.law.kind == truth.kind, (seed, fit.reason)
        assert fit.law.mean == pytest.approx(x.mean(), rel=1e-12)   # the sample mean, always
        # Recovered: the mean within 4 standard errors of a mean of 400, sigma within 10%.
        assert fit.law.mean == pytest.approx(truth.mean, rel=4 * max(fit.cv, 0.01) / 20)
        assert fit.law.sigma == pytest.approx(truth.sigma, rel=0.1)
        assert fit.samples == 400 and fit.reason


def test_const_is_chosen_below_the_threshold_and_says_so():
    x = np.full(50, 0.02) * (1 + np.linspace(-1, 1, 50) * CONST_CV)     # cv about 0.58 CONST_CV
    fit = fit_law(x)
    assert fit.law == Distribution("const", float(x.mean())) and fit.aic == {}
    assert "constant" in fit.reason
    spread = np.full(50, 0.02) * (1 + np.linspace(-1, 1, 50) * 2.5 * CONST_CV)
    assert fit_law(spread).law.kind != "const"


def test_an_aic_tie_goes_to_the_law_with_fewer_parameters():
    # Exactly exponential quantiles: exp wins clearly, and a tie would also go to exp.
    x = -0.02 * np.log1p(-(np.arange(200) + 0.5) / 200)
    fit = fit_law(x)
    assert fit.law.kind == "exp" and fit.aic["exp"] <= fit.aic["lognormal"]


@pytest.mark.parametrize("samples", [[0.01] * (MIN_SAMPLES - 1), [0.01] * 20 + [0.0],
                                     [0.01] * 20 + [-1.0], [0.01] * 20 + [math.nan]])
def test_too_few_or_impossible_durations_are_refused_in_one_line(samples):
    with pytest.raises(ValueError) as err:
        fit_law(samples)
    assert "durations" in str(err.value) and "\n" not in str(err.value)


def test_a_constant_sample_has_no_lognormal_fit():
    with pytest.raises(ValueError, match="constant"):
        fit_lognormal([0.01] * 20)
