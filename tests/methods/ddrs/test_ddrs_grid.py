"""Exact per-input σ maps in 2D (cert_core.methods.ddrs.plane)."""
import numpy as np
import pytest
import torch
from scipy.stats import norm

from cert_core import grid
from cert_core.methods.ddrs import memory as ddrs_memory
from cert_core.methods.ddrs import plane as ddrs_grid

BOX = (-3.0, 3.0, -3.0, 3.0)


class Stripe(torch.nn.Module):
    """Hard classifier: class 1 on a ≤ x₁ ≤ b."""

    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        inside = ((x[:, 0] >= self.a) & (x[:, 0] <= self.b)).float()
        return torch.stack([1 - inside, inside], 1)


def linear(offset=0.3):
    lin = torch.nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight[:] = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
        lin.bias[:] = torch.tensor([0.0, -offset])
    return lin


def test_linear_classifier_radius_does_not_depend_on_sigma():
    base = grid.evaluate_base(linear(), BOX, 121, 1.0)
    h = max(base.view.spacing)
    d = np.broadcast_to(np.abs(base.view.x - 0.3), (121, 121))
    for s in ddrs_grid.sigma_grid(0.1, 1.0, 4):
        p = grid.blur(base, s)
        r = ddrs_grid.class_radius(p, p.argmax(0), s)
        ok = d < 3.5 * s                                                  # below the 4σ cap
        assert np.abs(r - d)[ok].max() < h                                # = distance, for every σ
        np.testing.assert_allclose(r, grid.exact_radius(p, s), atol=1e-9)
    maps = ddrs_grid.sigma_star_maps(base, ddrs_grid.sigma_grid(0.1, 1.0, 6), 0.25)
    near = d < 0.8
    assert np.abs(maps.radius_star - d)[near].max() < h
    assert not maps.violation.any()                                     # linear: R* is sound


def test_class_radius_is_negative_for_a_losing_class():
    probs = np.array([0.2, 0.8])
    assert ddrs_grid.class_radius(probs, 0, 1.0) == pytest.approx(-float(ddrs_grid.class_radius(probs, 1, 1.0)))


def test_stripe_maps_match_the_closed_form_and_flag_the_counterexample():
    # stripe edges on pixel edges (h = 0.04), so the pixelated stripe is the stripe itself
    a, b = -0.02, 0.22
    base = grid.evaluate_base(Stripe(a, b), BOX, 151, 2.0)
    sigmas = ddrs_grid.sigma_grid(0.04, 2.0, 25)
    cls, curve = ddrs_grid.radius_curve(base, (-1.0, 0.0), sigmas, 0.05)
    p1 = ddrs_memory.stripe_probability(-1.0, a, b, sigmas)
    exact = np.clip(sigmas / 2 * (norm.ppf(1 - p1) - norm.ppf(p1)), None, 4 * sigmas)
    assert cls == 0
    np.testing.assert_allclose(curve, exact, rtol=0.02)
    maps = ddrs_grid.sigma_star_maps(base, sigmas, 0.05)
    i, j = 75, int(np.argmin(np.abs(base.view.x + 1.0)))                # pixel of (-1, 0)
    assert maps.sigma_star[i, j] == pytest.approx(2.0)
    assert maps.radius_star[i, j] > maps.distance[i, j] + 1             # swallows the stripe
    assert maps.violation[i, j] and 0 < maps.violation_fraction < 1
    assert np.all(maps.radius_star >= maps.radius0 - 1e-12)


def test_maps_reject_sigmas_beyond_the_padding():
    base = grid.evaluate_base(linear(), BOX, 32, 0.5)
    with pytest.raises(ValueError, match="'sigmas' parameter of sigma_star_maps"):
        ddrs_grid.sigma_star_maps(base, [0.1, 1.0], 0.25)
    with pytest.raises(ValueError, match="'sigma0' parameter of sigma_star_maps"):
        ddrs_grid.sigma_star_maps(base, [0.1], 0.0)
    with pytest.raises(ValueError, match="'count' parameter of sigma_grid"):
        ddrs_grid.sigma_grid(0.1, 1.0, 0)
