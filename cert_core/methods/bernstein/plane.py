"""Bernstein smoothing in the teaching views: 2D models on the plane (Figure 3) and 1-D regression (Figure 7).

Reference: Kao, Ko & Lu, "Deterministic Certification ... via Bernstein Polynomial Approximation".

The 2D models live on the view box ``BOX_2D`` = (-3, 3)^2, Bernstein polynomials on [0, 1]^2. We use the
affine map u = (x - (xmin, ymin)) / s with s = xmax - xmin = ymax - ymin. It is isotropic (one scale for
both axes), so every distance scales by the same factor: a radius r on [0, 1]^2 is s * r in the plane
(s = 6 for BOX_2D), for any l_p norm. The smoothed classifier is x -> argmax B_n(f o map^-1; map(x)),
defined on the box only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from cert_core import boundary, grid_view
from cert_core.methods.bernstein import polynomial as bernstein
from cert_core.methods.bernstein.polynomial import BernsteinPolynomial, domain_points
from cert_core.methods.bernstein import radii as bernstein_radii
from cert_core.validation import check_float, check_int


@dataclass(frozen=True)
class UnitBoxMap:
    """u = (x - origin) / side: the square view box onto [0, 1]^2."""
    bounds: tuple[float, float, float, float]   # (xmin, xmax, ymin, ymax), a square

    @property
    def side(self) -> float:
        return self.bounds[1] - self.bounds[0]

    @property
    def origin(self) -> np.ndarray:
        return np.array([self.bounds[0], self.bounds[2]])

    def to_unit(self, points) -> np.ndarray:
        return (np.asarray(points, dtype=np.float64) - self.origin) / self.side   # (M, 2)

    def to_plane(self, u) -> np.ndarray:
        return np.asarray(u, dtype=np.float64) * self.side + self.origin           # (M, 2)

    def radius_to_plane(self, r: float) -> float:
        return r * self.side


def unit_box(bounds) -> UnitBoxMap:
    view = grid_view.make_view(bounds, grid_view.MIN_RESOLUTION, "unit_box")
    xmin, xmax, ymin, ymax = view.bounds
    if not math.isclose(xmax - xmin, ymax - ymin, rel_tol=1e-9):
        raise ValueError(f"The 'bounds' parameter of unit_box must be a square (the map to [0,1]^2 must be "
                         f"isotropic so radii scale by one factor). Got {bounds!r} instead.")
    return UnitBoxMap(view.bounds)


def fit_plane(model: torch.nn.Module, bounds, n: int, smooth: str = "logits") -> bernstein.BernsteinPolynomial:
    """B_n of the 2D model composed with the inverse map, i.e. the lattice is k/n mapped into the box."""
    box = unit_box(bounds)
    grid_view.check_2d_model(model, "fit_plane")
    head = bernstein.head_function(model)
    return bernstein.fit(lambda u: head(box.to_plane(u)), n, 2, smooth)


@dataclass(frozen=True, eq=False)
class PlaneRadii:
    """The three Bernstein radii at one point, in the PLANE's units (already multiplied by the side)."""
    prediction: int                          # argmax of the Bernstein classifier at the point
    root: bernstein_radii.RootFinding              # radius field in unit-box units; see ``root_radius``
    sound: bernstein_radii.LipschitzCertificate    # radius field in unit-box units; see ``sound_radius``
    exact: boundary.BoundaryDistance         # in unit-box units; see ``exact_radius``
    side: float                              # the map's scale factor

    @property
    def root_radius(self) -> float:
        return self.root.radius * self.side

    @property
    def sound_radius(self) -> float:
        return self.sound.radius * self.side

    @property
    def exact_radius(self) -> float:
        return self.exact.distance * self.side

    @property
    def exact_error(self) -> float:
        return self.exact.resolution_error * self.side

    @property
    def root_overestimates(self) -> bool:
        """Root-finding claims more than the true distance (beyond the grid's error)."""
        return self.root_radius > self.exact_radius + self.exact_error


def plane_radii(poly: bernstein.BernsteinPolynomial, bounds, point, resolution: int = 401) -> PlaneRadii:
    """Root-finding, sound Lipschitz and exact-grid radii at a plane point, in plane units (l2)."""
    box = unit_box(bounds)
    u = box.to_unit(np.asarray(point, dtype=np.float64).reshape(1, 2))[0]
    if not ((u >= 0) & (u <= 1)).all():
        raise ValueError(f"The 'point' parameter of plane_radii must lie in the view box {box.bounds}. "
                         f"Got {tuple(point)!r} instead.")
    sound = bernstein_radii.lipschitz_certificate(poly, u)
    return PlaneRadii(sound.prediction, bernstein_radii.root_finding_radius(poly, u), sound,
                      grid_boundary_distance(poly, u, resolution), box.side)


@dataclass(frozen=True, eq=False)
class RegressionDemo:
    """Figure 7: an over-fitted 1-D regression and its Bernstein smoothings."""
    x_train: np.ndarray          # (N,) inputs in [0, 1]
    y_train: np.ndarray          # (N,) noisy targets (with outliers)
    x: np.ndarray                # (G,) evaluation grid
    truth: np.ndarray            # (G,) the noise-free function
    fitted: np.ndarray           # (G,) the over-fitted model (interpolates every training point)
    smoothed: dict               # degree n -> (G,) B_n(fitted)
    errors: dict                 # "fitted" or n -> RMSE against the truth on the grid


def regression_demo(degrees=(5, 20, 80), n_train: int = 40, noise: float = 0.15, seed: int = 0) -> RegressionDemo:
    """Noisy samples of sin(2 pi x) with a few outliers, fitted by piecewise-linear interpolation (zero
    training error: over-fitted), then smoothed by B_n. B_n only samples the model at k/n, so it keeps
    the shape while averaging away the spikes (degree trades smoothness for fidelity)."""
    func = "regression_demo"
    n_train = check_int(n_train, "n_train", func, 5, 10_000)
    noise = check_float(noise, "noise", func, 0.0, 10.0)
    degrees = tuple(check_int(n, "degrees", func, 1, bernstein.MAX_DEGREE) for n in degrees)
    rng = np.random.default_rng(check_int(seed, "seed", func, 0))
    x_train = np.sort(rng.random(n_train))
    y_train = np.sin(2 * np.pi * x_train) + noise * rng.standard_normal(n_train)
    spikes = rng.choice(n_train, size=max(1, n_train // 10), replace=False)
    y_train[spikes] += rng.choice([-1.0, 1.0], size=len(spikes)) * 1.5
    model = lambda t: np.interp(np.asarray(t).reshape(-1), x_train, y_train)   # noqa: E731
    x = np.linspace(0.0, 1.0, 401)
    truth = np.sin(2 * np.pi * x)
    smoothed = {n: bernstein.fit(lambda p: model(p[:, 0])[:, None], n, 1)(x[:, None])[:, 0] for n in degrees}
    rmse = lambda v: float(np.sqrt(np.mean((v - truth) ** 2)))                  # noqa: E731
    errors = {"fitted": rmse(model(x)), **{n: rmse(v) for n, v in smoothed.items()}}
    return RegressionDemo(x_train, y_train, x, truth, model(x), smoothed, errors)


# ----------------------------------------------------------------------------- the exact distance on [0, 1]^2
def grid_boundary_distance(poly: BernsteinPolynomial, x0, resolution: int = 401,
                           scores: np.ndarray | None = None) -> boundary.BoundaryDistance:
    """d = 2 only: the distance from x0 to the Bernstein decision boundary inside [0,1]^2, located on a
    resolution^2 grid with sub-pixel (marching squares) interpolation; error <= one pixel spacing.
    ``scores`` (K, R, R): the polynomial on that grid, if already computed (``grid_scores``)."""
    func = "grid_boundary_distance"
    if poly.d != 2:
        raise ValueError(f"The 'poly' parameter of {func} must be 2-dimensional. Got d = {poly.d} instead.")
    x0 = domain_points(x0, 2, func)[0]
    view = grid_view.make_view((0.0, 1.0, 0.0, 1.0), resolution, func)
    scores = grid_scores(poly, resolution) if scores is None else scores
    cls = int(np.argmax(poly(x0[None])[0]))
    return boundary.boundary_distance(scores, view, x0, cls)


def grid_scores(poly: BernsteinPolynomial, resolution: int) -> np.ndarray:
    """B_n on the pixel centres of [0,1]^2, indexed [k, i, j] = (y_i, x_j).          # (K, R, R)"""
    view = grid_view.make_view((0.0, 1.0, 0.0, 1.0), resolution, "grid_scores")
    gx, gy = np.meshgrid(view.x, view.y)
    return poly(np.stack([gx.ravel(), gy.ravel()], 1)).T.reshape(-1, resolution, resolution)
