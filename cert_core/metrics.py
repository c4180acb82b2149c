"""Metrics over certified test sets (Cohen et al. 2019, Section 4 and Appendix; ACR from Zhai et al. 2020).

* ``certified_accuracy`` — the fraction of test points that are classified correctly *and* certified
  at radius ≥ r, for each r of a grid (abstentions count as wrong).
* ``average_certified_radius`` — ACR: the mean of ``radius · correct`` (0 for wrong/abstained).
* ``envelope`` — the best curve over several runs per radius (e.g. over σ, as in Cohen et al. Fig. 7).
* ``certified_accuracy_lower_bound`` — a dataset-level high-probability correction: each of the m
  certificates is wrong with probability ≤ α independently, so the number of wrong ones is dominated
  by Binomial(m, α) and, with probability ≥ 1 − δ, at most ``binom.ppf(1 − δ, m, α)``. Subtracting that
  count gives a certified accuracy that holds with probability ≥ 1 − δ for the whole test set.

Shapes: m test points, R radii.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import binom

from cert_core.validation import check_float


def _check_pair(radii, correct, func: str):
    radii = np.asarray(radii, dtype=np.float64)     # (m,)
    correct = np.asarray(correct)                   # (m,)
    if radii.ndim != 1 or correct.shape != radii.shape or radii.size == 0:
        raise ValueError(f"The 'radii' and 'correct' parameters of {func} must be non-empty 1-D arrays of equal length. "
                         f"Got shapes {radii.shape} and {correct.shape} instead.")
    if np.any(np.isnan(radii)) or np.any(radii < 0):
        raise ValueError(f"The 'radii' parameter of {func} must hold non-negative numbers. Got {radii.min()!r} instead.")
    if correct.dtype != bool and not np.all(np.isin(correct, (0, 1))):
        raise ValueError(f"The 'correct' parameter of {func} must hold booleans or 0/1. Got {correct.dtype} instead.")
    return radii, correct.astype(bool)


def _check_grid(radius_grid, func: str) -> np.ndarray:
    grid = np.atleast_1d(np.asarray(radius_grid, dtype=np.float64))  # (R,)
    if grid.ndim != 1 or grid.size == 0 or np.any(~np.isfinite(grid)) or np.any(grid < 0):
        raise ValueError(f"The 'radius_grid' parameter of {func} must be a non-empty 1-D array of finite radii >= 0. "
                         f"Got {radius_grid!r} instead.")
    return grid


def certified_accuracy(radii, correct, radius_grid) -> np.ndarray:
    """Fraction of points with ``correct and radius >= r`` for each r in ``radius_grid``: (R,)."""
    radii, correct = _check_pair(radii, correct, "certified_accuracy")
    grid = _check_grid(radius_grid, "certified_accuracy")
    return (correct[None, :] & (radii[None, :] >= grid[:, None])).mean(axis=1)  # (R,)


def average_certified_radius(radii, correct) -> float:
    """ACR = mean over points of radius · 1[correct] (Zhai et al., 2020)."""
    radii, correct = _check_pair(radii, correct, "average_certified_radius")
    return float(np.mean(np.where(correct, radii, 0.0)))


def envelope(curves) -> np.ndarray:
    """Best value per radius over several certified-accuracy curves: (C, R) -> (R,)."""
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[0] == 0:
        raise ValueError(f"The 'curves' parameter of envelope must be a non-empty 2-D array (C, R). Got shape {curves.shape} instead.")
    return curves.max(axis=0)


def certified_accuracy_lower_bound(radii, correct, radius_grid, alpha: float, delta: float = 0.001) -> np.ndarray:
    """Certified accuracy that holds for the whole test set with probability ≥ 1 − δ: (R,).

    Each certificate from CERTIFY at level α is wrong with probability ≤ α, independently across
    points, so at most ``B = binom.ppf(1 − δ, m, α)`` of the m certificates are wrong with probability
    ≥ 1 − δ. The bound removes B points from the count at every radius (clipped at 0).
    """
    radii, correct = _check_pair(radii, correct, "certified_accuracy_lower_bound")
    alpha = check_float(alpha, "alpha", "certified_accuracy_lower_bound", 0, 1, True, True)
    delta = check_float(delta, "delta", "certified_accuracy_lower_bound", 0, 1, True, True)
    m = radii.size
    wrong = binom.ppf(1 - delta, m, alpha)
    return np.clip(certified_accuracy(radii, correct, radius_grid) - wrong / m, 0.0, None)

