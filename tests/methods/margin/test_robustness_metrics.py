"""Appendix B CR curves (SRA): each certificate's survival curve on its own radius grid, ending at 0, with
AUC_CR equal to the average certified radius (regression: the RS curve used the zoomed margin grid)."""
import numpy as np
import pytest
import torch

from cert_core.models.data import load_dataset
from cert_core.metrics import average_certified_radius
from cert_core.methods.margin.curves import (ReportParams, cr_grid, largest_cohen_radius, margin_radii,
                                          robustness_report)
from cert_core.methods.lipschitz.bounds import lipschitz_upper_bound
from cert_core.smoothing import Smooth
from cert_core.models.zoo import load_zoo_model

PARAMS = ReportParams(radius_steps=101, sigma_steps=2, noise_samples=2, rs_n=200, rs_alpha=0.001)


def test_cr_grid_ends_one_step_past_top():
    grid = cr_grid(0.6, 5)
    np.testing.assert_allclose(grid, [0.0, 0.2, 0.4, 0.6, 0.8])
    with pytest.raises(ValueError, match="'top' parameter of cr_grid"):
        cr_grid(0.0, 5)
    with pytest.raises(ValueError, match="'steps' parameter of cr_grid"):
        cr_grid(1.0, 2)


def test_largest_cohen_radius_is_all_votes_agreeing():
    assert largest_cohen_radius(0.25, 1000, 0.001) == pytest.approx(0.25 * 2.4617, rel=1e-3)


def test_rs_auc_of_an_unconstrained_model_matches_its_certified_radii():
    loaded = load_zoo_model("moons-mlp-s0.25")  # K >> 1: margin radii ~1e-2, Cohen radii ~0.5
    data = load_dataset(**loaded.metadata["dataset"])
    x, y = data.x_test[:60], data.y_test[:60]
    k = lipschitz_upper_bound(loaded.model, loaded.input_shape)
    assert k > 2
    rep = robustness_report(loaded.model, x, y, data.num_classes, k, PARAMS)
    certs = Smooth(loaded.model, data.num_classes, PARAMS.rs_sigma).certify_batch(
        torch.as_tensor(x, dtype=torch.float32), 100, PARAMS.rs_n, PARAMS.rs_alpha,
        generator=torch.Generator().manual_seed(PARAMS.seed))
    radii = np.array([max(c.radius, 0.0) for c in certs])
    acr = average_certified_radius(radii, np.array([c.prediction for c in certs]) == y)
    assert acr > 0.2  # the smoothed classifier certifies a lot at sigma = 0.25
    step = rep.rs_radius_grid[1]
    assert rep.aucs["AUC_CR RS"] == pytest.approx(acr, abs=step)  # trapezoid of a step function: error <= step
    assert rep.rs_cr[-1] == 0 and rep.rs_radius_grid[-1] > radii.max()
    assert rep.rs_cr[0] == pytest.approx(np.mean(np.array([c.prediction for c in certs]) == y))
    # the margin curve has its own, zoomed grid, also ending at 0, with AUC = mean margin radius
    m_radii, m_correct = margin_radii(loaded.model, x, y, k)
    assert rep.radius_grid[-1] < 0.2 * rep.rs_radius_grid[-1] and rep.margin_cr[-1] == 0
    assert rep.aucs["AUC_CR margin"] == pytest.approx(average_certified_radius(m_radii, m_correct),
                                                      abs=rep.radius_grid[1])
