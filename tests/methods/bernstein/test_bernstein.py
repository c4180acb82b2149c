"""cert_core.methods.bernstein.polynomial and .radii: closed-form identities, the defining sum, the memory guard, root-finding and the
sound Lipschitz certificate (audited against the exact grid distance to the Bernstein boundary)."""
import itertools
import math

import numpy as np
import pytest
import torch
from scipy.special import comb

from cert_core.methods.bernstein import polynomial as B
from cert_core.methods.bernstein import plane as P
from cert_core.methods.bernstein import radii as R

X = np.linspace(0, 1, 101)[:, None]          # (101, 1)


def scalar(fn):
    """A 1-D scalar function as a numpy head (M, d) -> (M, 1)."""
    return lambda p: np.asarray(fn(p))[:, None]


@pytest.mark.parametrize("n", [1, 2, 5, 17, 60])
def test_constants_and_linear_functions_are_reproduced(n):
    assert np.allclose(B.fit(scalar(lambda p: np.full(len(p), 3.5)), n, 1)(X)[:, 0], 3.5, atol=1e-9)
    assert np.allclose(B.fit(scalar(lambda p: 2 * p[:, 0] - 1), n, 1)(X)[:, 0], 2 * X[:, 0] - 1, atol=1e-9)


@pytest.mark.parametrize("n", [1, 3, 10, 50])
def test_square_has_the_closed_form_bias(n):
    got = B.fit(scalar(lambda p: p[:, 0] ** 2), n, 1)(X)[:, 0]
    t = X[:, 0]
    assert np.allclose(got, t ** 2 + t * (1 - t) / n, atol=1e-9)


def test_identities_hold_per_axis_in_d_dimensions():
    rng = np.random.default_rng(0)
    x = rng.random((50, 3))
    n = 4
    poly = B.fit(lambda p: np.stack([p[:, 1] ** 2, p[:, 0] + 2 * p[:, 2], p[:, 0] * p[:, 2]], 1), n, 3)
    got = poly(x)
    assert np.allclose(got[:, 0], x[:, 1] ** 2 + x[:, 1] * (1 - x[:, 1]) / n, atol=1e-9)
    assert np.allclose(got[:, 1], x[:, 0] + 2 * x[:, 2], atol=1e-9)
    assert np.allclose(got[:, 2], x[:, 0] * x[:, 2], atol=1e-9)   # independent axes: products of linears


def test_endpoints_and_corners_interpolate():
    f = lambda p: np.stack([np.sin(5 * p.sum(1)), np.exp(p[:, 0] - p[:, 1])], 1)   # noqa: E731
    poly = B.fit(f, 7, 2)
    corners = np.array(list(itertools.product([0.0, 1.0], repeat=2)))
    assert np.allclose(poly(corners), f(corners), atol=1e-9)
    g = B.fit(scalar(lambda p: np.cos(7 * p[:, 0])), 9, 1)
    assert np.allclose(g(np.array([[0.0], [1.0]]))[:, 0], [1.0, math.cos(7.0)], atol=1e-9)


def test_converges_to_the_head_as_n_grows():
    f = lambda p: np.stack([np.sin(3 * p[:, 0]) * p[:, 1], np.abs(p[:, 0] - 0.4)], 1)   # noqa: E731
    pts = np.random.default_rng(1).random((200, 2))
    errors = [np.abs(B.fit(f, n, 2)(pts) - f(pts)).max() for n in (2, 8, 32, 128)]
    assert all(a > b for a, b in zip(errors, errors[1:])) and errors[-1] < 0.05
    sq = [np.abs(B.fit(scalar(lambda p: p[:, 0] ** 2), n, 1)(X)[:, 0] - X[:, 0] ** 2).max() for n in (4, 40)]
    assert np.allclose(sq, [1 / 16, 1 / 160])   # max x(1-x)/n = 1/(4n)


@pytest.mark.parametrize("d,n", [(1, 6), (2, 4), (3, 3)])
def test_batch_evaluation_equals_the_defining_sum(d, n):
    rng = np.random.default_rng(d)
    table = rng.standard_normal((n + 1,) * d + (3,))
    head = lambda p: table[tuple(np.rint(p * n).astype(int).T)]   # noqa: E731  any values at the lattice
    poly = B.fit(head, n, d)
    x = rng.random((7, d))
    want = np.zeros((7, 3))
    for k in itertools.product(range(n + 1), repeat=d):            # Eq. 7, term by term
        w = np.prod([comb(n, k[j]) * x[:, j] ** k[j] * (1 - x[:, j]) ** (n - k[j]) for j in range(d)], 0)
        want += w[:, None] * table[k]
    assert np.allclose(poly(x), want, atol=1e-9)


def test_torch_head_and_probability_mode():
    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    poly = B.fit(head, 3, 3, smooth="probabilities")
    p = poly(np.random.default_rng(0).random((20, 3)))
    assert p.shape == (20, 4) and np.allclose(p.sum(1), 1.0) and (p >= 0).all()
    assert np.allclose(poly.probabilities([[0.2, 0.3, 0.4]]), poly([[0.2, 0.3, 0.4]]))


def test_jacobian_matches_finite_differences():
    poly = B.fit(lambda p: np.stack([np.sin(3 * p[:, 0]) * p[:, 1], p[:, 0] ** 3], 1), 6, 2)
    x, h = np.array([[0.3, 0.6]]), 1e-6
    num = np.stack([(poly(x + h * e) - poly(x - h * e)) / (2 * h) for e in np.eye(2)], -1)
    assert np.allclose(poly.jacobian(x), num, atol=1e-7)


def test_memory_guard_names_the_largest_degree_that_fits():
    with pytest.raises(ValueError, match=r"too large.*largest degree that fits for d = 6, K = 10 is n = 10"):
        B.fit(lambda p: np.zeros((len(p), 10)), 40, 6)
    assert B.largest_degree(6, 10) == 10 and (11 ** 6) * 10 <= B.MAX_LATTICE_VALUES < (12 ** 6) * 10
    assert B.largest_degree(12, 10) == 2 and B.largest_degree(30, 10) == 0


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 0}, "The 'n' parameter of bernstein.fit must be an int in \\[1, 200\\]. Got 0 instead."),
    ({"smooth": "bad"}, "The 'smooth' parameter of bernstein.fit must be one of 'logits', 'probabilities'"),
    ({"d": 0}, "The 'd' parameter of bernstein.fit must be an int in \\[1, 12\\]"),
])
def test_bad_arguments(kwargs, match):
    args = {"head": lambda p: np.zeros((len(p), 2)), "n": 3, "d": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        B.fit(**args)


def test_points_outside_the_box_are_refused():
    poly = B.fit(lambda p: p, 2, 2)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]\^2"):
        poly([[1.5, 0.2]])
    with pytest.raises(ValueError, match=r"points of shape \(M, 2\)"):
        R.lipschitz_certificate(poly, [0.1, 0.2, 0.3])


def _linear(w, b):
    """Two-class head with margin w.x + b (B_n reproduces it exactly, so its boundary is a line)."""
    return lambda p: np.stack([p @ np.asarray(w) + b, np.zeros(len(p))], 1)


@pytest.mark.parametrize("smooth", ["logits", "probabilities"])
def test_linear_head_root_finding_lands_on_the_boundary_but_not_the_nearest_point(smooth):
    """The counterexample the app shows: with K = 2 every residual of Eq. 9 is a function of the one margin,
    so the Jacobian has rank 1 and MINPACK's LM takes pivoted (axis-biased) steps, not the shortest one.
    The point it returns is on the boundary, so the radius is an upper bound on the distance, never a
    certificate: here it overestimates the distance to the line by > 15%."""
    w, b, x0 = np.array([2.0, -1.0]), -0.4, np.array([0.7, 0.3])
    poly = B.fit(_linear(w, b), 5, 2, smooth)
    root = R.root_finding_radius(poly, x0)
    dist = abs(w @ x0 + b) / np.linalg.norm(w)
    assert root.on_boundary and root.prediction == 0 and root.runner_up == 1
    assert root.radius > 1.15 * dist
    if smooth == "logits":   # B_n reproduces the linear logits: the solution is on the line itself
        assert abs(w @ root.point + b) < 1e-6


@pytest.mark.parametrize("p,dual", [(2.0, 2.0), (1.0, math.inf), (math.inf, 1.0)])
def test_lipschitz_certificate_is_tight_for_a_linear_margin(p, dual):
    w, b, x0 = np.array([2.0, -1.0]), -0.4, np.array([0.7, 0.3])
    cert = R.lipschitz_certificate(B.fit(_linear(w, b), 7, 2), x0, p=p)
    exact = (w @ x0 + b) / np.linalg.norm(w, ord=dual)    # distance to the line in the p-norm
    assert cert.prediction == 0 and cert.binding == 1
    assert cert.radius <= exact and cert.radius == pytest.approx(exact, rel=1e-9)


def test_constant_prediction_certifies_the_whole_box():
    cert = R.lipschitz_certificate(B.fit(lambda p: np.stack([np.ones(len(p)), np.zeros(len(p))], 1), 3, 2),
                                   [0.5, 0.5])
    assert math.isinf(cert.radius) and cert.binding == -1


def _random_head(seed, d=2, k=3):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, 32), torch.nn.ReLU(), torch.nn.Linear(32, k)).double()


@pytest.mark.parametrize("seed,n", [(0, 3), (1, 8), (2, 20)])
def test_soundness_audit_against_the_exact_grid_distance(seed, n):
    """The sound radius never exceeds the exact (grid) distance to the Bernstein boundary."""
    poly = B.fit(_random_head(seed), n, 2)
    pts = np.random.default_rng(seed).random((25, 2))
    scores = P.grid_scores(poly, 201)
    for x0 in pts:
        cert = R.lipschitz_certificate(poly, x0)
        dist = P.grid_boundary_distance(poly, x0, 201, scores)
        assert cert.radius <= dist.distance + dist.resolution_error
        root = R.root_finding_radius(poly, x0)
        if root.on_boundary:   # a real boundary point is never closer than the nearest one
            assert root.radius >= dist.distance - dist.resolution_error


def test_soundness_audit_by_sampling_in_three_dimensions():
    poly = B.fit(_random_head(3, d=3, k=4), 5, 3)
    rng = np.random.default_rng(3)
    for x0 in rng.random((10, 3)):
        cert = R.lipschitz_certificate(poly, x0)
        r = min(cert.radius, 2.0)
        v = rng.standard_normal((4000, 3))
        v *= (r * rng.random((4000, 1)) ** (1 / 3)) / np.linalg.norm(v, axis=1, keepdims=True)
        inside = np.clip(x0 + v, 0, 1)   # projecting onto the box keeps points inside the ball
        assert (poly.predict(inside) == cert.prediction).all()


def test_root_finding_is_deterministic_and_not_a_certificate():
    """Over many points, LM sometimes lands on a boundary point farther than the nearest one (or on none)."""
    poly = B.fit(_random_head(4, k=4), 10, 2)
    pts = np.random.default_rng(4).random((20, 2))
    a = [R.root_finding_radius(poly, x).radius for x in pts]
    assert a == [R.root_finding_radius(poly, x).radius for x in pts]
    over, scores = 0, P.grid_scores(poly, 201)
    for x0, r in zip(pts, a):
        dist = P.grid_boundary_distance(poly, x0, 201, scores)
        over += r > dist.distance + dist.resolution_error
    assert over >= 1
