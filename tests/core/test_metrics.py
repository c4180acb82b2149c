"""Certified accuracy, ACR, envelope and the dataset-level correction."""
import numpy as np
import pytest
from scipy.stats import binom

from cert_core.metrics import (average_certified_radius, certified_accuracy,
                               certified_accuracy_lower_bound, envelope)


RADII = np.array([0.0, 0.3, 0.5, 1.2, 0.8])
CORRECT = np.array([False, True, True, True, False])  # the first is an abstention


def test_certified_accuracy_counts_correct_and_radius_at_least_r():
    acc = certified_accuracy(RADII, CORRECT, [0.0, 0.3, 0.31, 1.2, 2.0])
    assert np.allclose(acc, [3 / 5, 3 / 5, 2 / 5, 1 / 5, 0.0])


def test_acr_ignores_wrong_points():
    assert average_certified_radius(RADII, CORRECT) == pytest.approx((0.3 + 0.5 + 1.2) / 5)


def test_envelope_is_best_per_radius():
    assert np.allclose(envelope([[0.9, 0.5, 0.0], [0.7, 0.6, 0.3]]), [0.9, 0.6, 0.3])


def test_lower_bound_subtracts_binomial_quantile():
    m = 1000
    radii = np.full(m, 1.0)
    correct = np.ones(m, bool)
    bound = certified_accuracy_lower_bound(radii, correct, [0.5], alpha=0.001, delta=0.001)
    assert bound[0] == pytest.approx(1 - binom.ppf(0.999, m, 0.001) / m)
    assert bound[0] < 1.0


@pytest.mark.parametrize("call, match", [
    (lambda: certified_accuracy([0.1], [True, False], [0.0]), r"must be non-empty 1-D arrays of equal length"),
    (lambda: certified_accuracy([-0.1], [True], [0.0]), r"'radii' parameter of certified_accuracy must hold non-negative"),
    (lambda: certified_accuracy([0.1], [True], [float("nan")]), r"'radius_grid' parameter of certified_accuracy"),
    (lambda: average_certified_radius([0.1], [2]), r"'correct' parameter of average_certified_radius"),
    (lambda: envelope([1.0, 2.0]), r"'curves' parameter of envelope"),
    (lambda: certified_accuracy_lower_bound([0.1], [True], [0.0], alpha=0.0), r"'alpha' parameter of certified_accuracy_lower_bound"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
