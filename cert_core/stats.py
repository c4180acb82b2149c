"""Statistics of randomized smoothing (Cohen, Rosenfeld & Kolter, 2019; the lecture's Theorem 1).

* ``lower_confidence_bound`` — the one-sided (1 − α) Clopper–Pearson lower bound on a binomial
  proportion used by CERTIFY: with probability at least 1 − α over the samples, p_A ≥ bound.
* ``binomial_pvalue`` — the two-sided exact binomial test of H0: p = 1/2 used by PREDICT.
* ``gaussian_radius`` — the certified ℓ2 radius σ Φ⁻¹(p̲_A) of a Gaussian-smoothed classifier
  (Cohen et al. Theorem 1 with p̄_B = 1 − p̲_A), and ``exact_gaussian_radius`` —
  σ/2 (Φ⁻¹(p_A) − Φ⁻¹(p_B)) for known probabilities.

All functions accept scalars or numpy arrays (broadcast) and return the same kind.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import beta, binomtest, norm

from cert_core.validation import check_float, check_int


def _check_counts(n_a, n, func: str):
    n_a_arr, n_arr = np.asarray(n_a), np.asarray(n)
    for name, arr in (("n_a", n_a_arr), ("n", n_arr)):
        if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
            raise ValueError(f"The '{name}' parameter of {func} must be an int >= 0. Got {arr!r} instead.")
    if np.any(n_arr < 1):
        raise ValueError(f"The 'n' parameter of {func} must be an int >= 1. Got {n!r} instead.")
    if np.any(n_a_arr < 0) or np.any(n_a_arr > n_arr):
        raise ValueError(f"The 'n_a' parameter of {func} must be an int in [0, n]. Got {n_a!r} instead.")
    return n_a_arr.astype(np.float64), n_arr.astype(np.float64)


def _like(result, *inputs):
    """Return a Python float when every input was a scalar."""
    if all(np.ndim(v) == 0 for v in inputs):
        return float(result)
    return result


def lower_confidence_bound(n_a, n, alpha):
    """One-sided (1 − α) Clopper–Pearson lower confidence bound on p from n_a successes in n trials.

    Guarantee: P(p ≥ bound) ≥ 1 − α for every true p. Equals ``Beta(α; n_a, n − n_a + 1)``'s
    α-quantile (0 when n_a = 0); all-agree corner: n_a = n gives α^(1/n). This is Cohen et al.'s
    ``proportion_confint(n_a, n, alpha=2*alpha, method="beta")[0]`` without statsmodels.
    """
    alpha = check_float(alpha, "alpha", "lower_confidence_bound", 0, 1, True, True)
    a, m = _check_counts(n_a, n, "lower_confidence_bound")
    with np.errstate(invalid="ignore"):
        bound = np.where(a > 0, beta.ppf(alpha, np.maximum(a, 1), m - a + 1), 0.0)
    return _like(bound, n_a, n)


def upper_confidence_bound(n_a, n, alpha):
    """One-sided (1 − α) Clopper–Pearson upper bound: P(p ≤ bound) ≥ 1 − α (1 when n_a = n).

    Equals ``1 − lower_confidence_bound(n − n_a, n, α)``. Computed as the survival quantile
    ``Beta.isf(α)``: ``ppf(1 − α)`` would round 1 − α first, off by 1e-7 at α = 1e-12 and vacuous (1)
    below α ≈ 1e-17.
    """
    alpha = check_float(alpha, "alpha", "upper_confidence_bound", 0, 1, True, True)
    a, m = _check_counts(n_a, n, "upper_confidence_bound")
    with np.errstate(invalid="ignore"):
        bound = np.where(a < m, beta.isf(alpha, a + 1, np.maximum(m - a, 1)), 1.0)
    return _like(bound, n_a, n)


def binomial_pvalue(count1: int, count2: int) -> float:
    """Two-sided exact binomial test p-value of H0: the top two classes are equally likely.

    PREDICT (Cohen et al., Algorithm "PREDICT") abstains when this exceeds α; then the probability
    of returning a class other than the smoothed classifier's is at most α.
    """
    count1 = check_int(count1, "count1", "binomial_pvalue", low=0)
    count2 = check_int(count2, "count2", "binomial_pvalue", low=0)
    if count1 + count2 == 0:
        return 1.0
    return float(binomtest(count1, count1 + count2, p=0.5, alternative="two-sided").pvalue)


def gaussian_radius(p_lower, sigma):
    """Certified ℓ2 radius σ Φ⁻¹(p̲_A) (Cohen et al. Theorem 1 with p̄_B = 1 − p̲_A).

    Negative when p̲_A < 1/2 (CERTIFY abstains there); +inf at p̲_A = 1.
    """
    sigma = check_float(sigma, "sigma", "gaussian_radius", 0, None, low_open=True)
    p = np.asarray(p_lower, dtype=np.float64)
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"The 'p_lower' parameter of gaussian_radius must be a float in [0, 1]. Got {p_lower!r} instead.")
    return _like(sigma * norm.ppf(p), p_lower)


def exact_gaussian_radius(p_a, p_b, sigma):
    """The ℓ2 radius σ/2 (Φ⁻¹(p_A) − Φ⁻¹(p_B)) of Cohen et al. Theorem 1 for known p_A ≥ p_B.

    With exact probabilities (e.g. from a Gaussian convolution in 2D) this is the tightest radius
    the theorem gives; for a linear two-class classifier it equals the distance to the hyperplane.
    """
    sigma = check_float(sigma, "sigma", "exact_gaussian_radius", 0, None, low_open=True)
    a = np.asarray(p_a, dtype=np.float64)
    b = np.asarray(p_b, dtype=np.float64)
    for name, arr, raw in (("p_a", a, p_a), ("p_b", b, p_b)):
        if np.any(~np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"The '{name}' parameter of exact_gaussian_radius must be a float in [0, 1]. Got {raw!r} instead.")
    return _like(sigma / 2 * (norm.ppf(a) - norm.ppf(b)), p_a, p_b)
