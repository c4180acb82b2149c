"""cert_core.grid against closed forms: a linear classifier's smoothed probability is
Phi(signed distance / sigma) and its exact radius is the distance to the hyperplane."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from cert_core import boundary, grid, grid_view, monte_carlo

BOUNDS = (-3.0, 3.0, -2.0, 2.5)
W, B = np.array([1.0, 2.0]), -0.5            # boundary w.x + b = 0


def linear_model(w=W, b=B) -> torch.nn.Module:
    """Class 1 where w.x + b > 0, class 0 elsewhere."""
    lin = torch.nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 0.0], list(w)]))
        lin.bias.copy_(torch.tensor([0.0, b]))
    return lin


def signed_distance(px, py, w=W, b=B):
    return (w[0] * px + w[1] * py + b) / np.linalg.norm(w)


@pytest.mark.parametrize("sigma", [0.02, 0.25, 1.0])
def test_linear_smoothed_probability_is_phi_of_distance(sigma):
    view = grid_view.make_view(BOUNDS, 121)
    probs = grid.smoothed_probabilities(linear_model(), BOUNDS, 121, sigma)
    assert probs.shape == (2, 121, 121)
    X, Y = np.meshgrid(view.x, view.y)
    exact = norm.cdf(signed_distance(X, Y) / sigma)
    assert np.abs(probs[1] - exact).max() <= grid.discretisation_error(view, sigma)


def test_probabilities_sum_to_one_and_lie_in_unit_interval():
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    torch.manual_seed(0)
    probs = grid.smoothed_probabilities(model, BOUNDS, 64, 0.5)
    assert probs.shape == (4, 64, 64)
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-6)
    assert probs.min() >= 0 and probs.max() <= 1


def test_exact_radius_equals_distance_to_hyperplane():
    sigma, view = 0.5, grid_view.make_view(BOUNDS, 151)
    probs = grid.smoothed_probabilities(linear_model(), BOUNDS, 151, sigma)
    radius = grid.exact_radius(probs, sigma)
    X, Y = np.meshgrid(view.x, view.y)
    dist = np.abs(signed_distance(X, Y))
    inside = dist < 2.5 * sigma        # beyond that Phi^-1 of a near-1 probability amplifies float error
    h = max(view.spacing)
    assert np.abs(radius - dist)[inside].max() <= h


def test_point_probabilities_are_exact_off_grid():
    sigma = 0.3
    base = grid.evaluate_base(linear_model(), BOUNDS, 201, max_sigma=1.0)
    view = base.view
    for point in [(0.123, 0.4567), (-1.0, 0.77), (2.2, -1.3)]:
        p = grid.probabilities_at(base, point, sigma)
        assert p.sum() == pytest.approx(1.0)
        assert p[1] == pytest.approx(norm.cdf(signed_distance(*point) / sigma),
                                     abs=grid.discretisation_error(view, sigma))


def test_blur_from_larger_padding_matches_direct_computation():
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    base = grid.evaluate_base(model, BOUNDS, 80, max_sigma=1.5)
    np.testing.assert_allclose(grid.blur(base, 0.4),
                               grid.smoothed_probabilities(model, BOUNDS, 80, 0.4), atol=1e-5)
    np.testing.assert_array_equal(base.crop(), grid_view.base_predictions(model, BOUNDS, 80))


def test_distance_to_linear_boundary_within_resolution():
    sigma = 0.4
    view = grid_view.make_view(BOUNDS, 151)
    probs = grid.smoothed_probabilities(linear_model(), BOUNDS, 151, sigma)
    for point in [(1.0, 1.0), (-1.5, -0.2), (0.3, 0.1)]:
        cls = int(signed_distance(*point) > 0)
        d = boundary.boundary_distance(probs, view, point, cls)
        assert d.found
        assert d.distance == pytest.approx(abs(signed_distance(*point)), abs=d.resolution_error)
        q = np.array(d.nearest)
        assert abs(signed_distance(*q)) <= d.resolution_error


def test_distance_with_no_boundary_in_view_is_infinite():
    model = linear_model(w=np.array([1.0, 0.0]), b=-10.0)    # boundary at x = 10, outside the view
    view = grid_view.make_view(BOUNDS, 40)
    logits = np.stack([np.zeros((40, 40)), np.full((40, 40), -1.0)])
    d = boundary.boundary_distance(logits, view, (0.0, 0.0), 0)
    assert not d.found and d.nearest is None
    assert d.lower_bound == pytest.approx(2.0)
    assert grid_view.base_predictions(model, BOUNDS, 40).max() == 0


def test_monte_carlo_agrees_with_convolution_within_sampling_error():
    sigma, n = 0.5, 2000
    base = grid.evaluate_base(linear_model(), BOUNDS, 151, sigma)
    pts = np.array([[x, y] for x in np.linspace(-2, 2, 5) for y in np.linspace(-1.5, 2, 4)])
    counts = monte_carlo.monte_carlo_counts(linear_model(), pts, sigma, n,
                                     generator=torch.Generator().manual_seed(0))
    assert counts.shape == (20, 2) and (counts.sum(1) == n).all()
    exact = np.array([grid.probabilities_at(base, p, sigma)[1] for p in pts])
    se = np.sqrt(np.clip(exact * (1 - exact), 1e-4, None) / n)
    slack = grid.discretisation_error(base.view, sigma)
    assert (np.abs(counts[:, 1] / n - exact) <= 4 * se + slack).all()


def test_invalid_arguments_give_clear_errors():
    model = linear_model()
    with pytest.raises(ValueError, match=r"'sigma' parameter of smoothed_probabilities must be a float in \(0, inf\)"):
        grid.smoothed_probabilities(model, BOUNDS, 50, 0)
    with pytest.raises(ValueError, match=r"'resolution' parameter .* must be an int in \[8, 1500\]"):
        grid.smoothed_probabilities(model, BOUNDS, 2, 0.5)
    with pytest.raises(ValueError, match=r"'bounds' parameter .* xmin < xmax"):
        grid.smoothed_probabilities(model, (1, -1, 0, 1), 50, 0.5)
    with pytest.raises(ValueError, match=r"'max_sigma' .* too large"):
        grid.evaluate_base(model, (0, 0.01, 0, 0.01), 1000, 5.0)


def test_image_model_is_rejected_with_a_clear_message():
    image_model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    with pytest.raises(ValueError, match=r"'model' parameter of smoothed_probabilities must map \(B, 2\)"):
        grid.smoothed_probabilities(image_model, BOUNDS, 50, 0.5)
    image_model.input_shape = (1, 8, 8)
    with pytest.raises(ValueError, match=r"must take 2D points .* \(1, 8, 8\)"):
        grid.smoothed_probabilities(image_model, BOUNDS, 50, 0.5)


def test_non_finite_scores_are_refused_not_counted_as_class_0():
    from cert_core.validation import NonFiniteScoresError

    class NanRight(torch.nn.Module):  # NaN scores right of x = 1: torch's argmax would call them class 0
        def forward(self, x):
            s = linear_model()(x)
            return torch.where(x[:, :1] > 1.0, torch.full_like(s, float("nan")), s)

    with pytest.raises(NonFiniteScoresError, match=r"non-finite scores \(NaN or ±inf\) on \d+ of \d+ points"):
        grid.smoothed_probabilities(NanRight(), BOUNDS, 50, 0.5)
    with pytest.raises(ValueError, match=r"on 5 of 10 noisy samples"):  # half the points lie right of x = 1
        monte_carlo.monte_carlo_counts(NanRight(), [[0.0, 0.0]] * 5 + [[2.0, 0.0]] * 5, 1e-3, 1)
