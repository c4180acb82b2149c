"""Closed forms and known values of the statistics behind CERTIFY and PREDICT."""
import numpy as np
import pytest
from scipy.stats import norm

from cert_core.stats import (binomial_pvalue, exact_gaussian_radius, gaussian_radius,
                             lower_confidence_bound, upper_confidence_bound)


@pytest.mark.parametrize("n", [1, 10, 100, 100_000])
@pytest.mark.parametrize("alpha", [0.001, 0.05])
def test_all_samples_agree_gives_alpha_root(n, alpha):
    assert lower_confidence_bound(n, n, alpha) == pytest.approx(alpha ** (1 / n), rel=1e-9)


def test_no_successes_gives_zero_and_bounds_bracket_the_estimate():
    assert lower_confidence_bound(0, 50, 0.01) == 0.0
    assert upper_confidence_bound(50, 50, 0.01) == 1.0
    lo, hi = lower_confidence_bound(30, 100, 0.05), upper_confidence_bound(30, 100, 0.05)
    assert lo < 0.3 < hi


@pytest.mark.parametrize("alpha", [1e-12, 1e-20])
def test_upper_bound_keeps_its_precision_at_small_alpha(alpha):
    # n_a = 0 has the closed form 1 - alpha^(1/n), here without cancellation (expm1); elsewhere the upper
    # bound mirrors the lower one. Both sides are double computations of the same number, so rel=1e-9
    # leaves room for rounding only; rounding 1 - alpha first was off by ~1e-7 (alpha = 1e-12) or gave 1.
    for n in (10, 1000):
        assert upper_confidence_bound(0, n, alpha) == pytest.approx(-np.expm1(np.log(alpha) / n), rel=1e-9)
    for n_a, n in ((3, 50), (500, 1000), (990, 1000)):
        assert upper_confidence_bound(n_a, n, alpha) == pytest.approx(1 - lower_confidence_bound(n - n_a, n, alpha),
                                                                      rel=1e-9)


def test_known_clopper_pearson_value():
    # The Clopper–Pearson bound b solves P(Binomial(100, b) >= 95) = 0.01 (checked independently).
    bound = lower_confidence_bound(95, 100, 0.01)
    from scipy.stats import binom
    assert binom.sf(94, 100, bound) == pytest.approx(0.01, rel=1e-6)
    assert bound == pytest.approx(0.8741, abs=1e-4)


def test_vectorised_bound_matches_scalar():
    n_a = np.array([0, 10, 60, 100])
    vec = lower_confidence_bound(n_a, np.full(4, 100), 0.05)
    assert np.allclose(vec, [lower_confidence_bound(int(a), 100, 0.05) for a in n_a])


def test_coverage_of_the_lower_bound():
    # Over many seeded repetitions the bound exceeds the true p in at most about an alpha fraction.
    rng = np.random.default_rng(0)
    alpha, n, reps = 0.05, 200, 20_000
    for p in (0.6, 0.9, 0.99):
        n_a = rng.binomial(n, p, size=reps)
        failures = np.mean(lower_confidence_bound(n_a, np.full(reps, n), alpha) > p)
        assert failures <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / reps)


def test_binomial_test_on_known_counts():
    assert binomial_pvalue(50, 50) == pytest.approx(1.0)
    # two-sided exact test of 60 vs 40 at p=1/2
    assert binomial_pvalue(60, 40) == pytest.approx(0.056887, abs=1e-5)
    assert binomial_pvalue(90, 10) < 1e-10
    assert binomial_pvalue(0, 0) == 1.0


def test_gaussian_radius_against_scipy():
    for p in (0.5, 0.6, 0.99, 0.999999):
        assert gaussian_radius(p, 0.25) == pytest.approx(0.25 * norm.ppf(p))
    assert gaussian_radius(0.5, 1.0) == 0.0
    assert np.allclose(gaussian_radius(np.array([0.7, 0.8]), 0.5), 0.5 * norm.ppf([0.7, 0.8]))


def test_exact_radius_reduces_to_cohen_radius_for_two_classes():
    p = 0.83
    assert exact_gaussian_radius(p, 1 - p, 0.5) == pytest.approx(gaussian_radius(p, 0.5))


@pytest.mark.parametrize("call, match", [
    (lambda: lower_confidence_bound(5, 10, 1.5), r"The 'alpha' parameter of lower_confidence_bound must be a float in \(0, 1\). Got 1.5 instead."),
    (lambda: lower_confidence_bound(11, 10, 0.1), r"'n_a' parameter of lower_confidence_bound must be an int in \[0, n\]"),
    (lambda: lower_confidence_bound(1, 0, 0.1), r"'n' parameter of lower_confidence_bound must be an int >= 1"),
    (lambda: lower_confidence_bound(0.5, 10, 0.1), r"'n_a' parameter"),
    (lambda: gaussian_radius(0.7, 0.0), r"'sigma' parameter of gaussian_radius must be a float in \(0, inf\)"),
    (lambda: gaussian_radius(float("nan"), 1.0), r"'p_lower' parameter of gaussian_radius"),
    (lambda: gaussian_radius(1.2, 1.0), r"'p_lower' parameter of gaussian_radius"),
    (lambda: binomial_pvalue(-1, 3), r"'count1' parameter of binomial_pvalue must be an int >= 0"),
    (lambda: exact_gaussian_radius(0.6, 0.4, -1), r"'sigma' parameter of exact_gaussian_radius"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
