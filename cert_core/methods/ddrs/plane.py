"""Per-input σ in 2D, exactly: the radius as a function of σ at every point of a grid.

For each σ of a grid of noise levels, one Gaussian convolution of the cached base map
(``cert_core.grid.blur``) gives the exact smoothed probabilities everywhere; the radius of Eq. (2)
of Alfarra et al. (2022) for the class c_A chosen at σ0,

    R(x; σ) = σ/2 (Φ⁻¹ p_{c_A}(x; σ) − Φ⁻¹ max_{c ≠ c_A} p_c(x; σ)),

is then a map per σ, and σ*(x) = argmax_σ R(x; σ), R*(x) = max_σ R(x; σ) are the maps of the
data-dependent smoothing (over the σ grid, on the *hard* classifier: the ideal of Algorithm 1).

R*(x) is **not** a certificate of the data-dependent classifier. Since c_A is fixed, its prediction
equals the σ0-smoothed classifier's everywhere, so R*(x) can be checked against the distance from
x to the σ0-smoothed decision boundary: ``violation`` marks the pixels whose R* exceeds it.

Shapes: S noise levels, K classes, R the resolution; maps are indexed [i, j] = (y[i], x[j]).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.stats import norm

from cert_core import grid, grid_view
from cert_core.validation import check_float, check_int


def sigma_grid(sigma_min: float, sigma_max: float, count: int) -> np.ndarray:
    """``count`` geometrically spaced noise levels from sigma_min to sigma_max."""     # (S,)
    func = "sigma_grid"
    lo = check_float(sigma_min, "sigma_min", func, 0, None, low_open=True)
    hi = check_float(sigma_max, "sigma_max", func, lo, None)
    count = check_int(count, "count", func, 1, 200)
    return np.geomspace(lo, hi, count)


def class_radius(probs: np.ndarray, cls, sigma: float) -> np.ndarray:
    """σ/2 (Φ⁻¹ p_cls − Φ⁻¹ max_{c≠cls} p_c) for a given class (negative where cls loses).  # (...)

    ``probs`` has classes on axis 0; ``cls`` is an int or an int array of the map's shape. Where
    cls is the top class this is ``grid.exact_radius`` (same 4σ cap).
    """
    probs = np.asarray(probs, dtype=np.float64)
    cls = np.broadcast_to(np.asarray(cls), probs.shape[1:])
    p_c = np.take_along_axis(probs, cls[None], 0)[0]
    others = np.where(np.arange(probs.shape[0]).reshape(-1, *([1] * cls.ndim)) == cls[None], -1.0, probs)
    lo = norm.cdf(-grid.RADIUS_CAP)
    p_c, p_o = np.clip(p_c, lo, 1 - lo), np.clip(others.max(0), lo, 1 - lo)
    return 0.5 * sigma * (norm.ppf(p_c) - norm.ppf(p_o))


@dataclass(frozen=True)
class SigmaStarMaps:
    """The σ*(x) and R*(x) maps of a 2D classifier over a σ grid."""
    sigmas: np.ndarray            # (S,) the σ grid searched
    sigma0: float                 # the σ that picks c_A (and the fixed-σ baseline)
    prediction: np.ndarray        # (R, R) c_A: the σ0-smoothed class
    radius0: np.ndarray           # (R, R) exact radius at the fixed σ0
    sigma_star: np.ndarray        # (R, R) argmax_σ R(x; σ)
    radius_star: np.ndarray       # (R, R) max_σ R(x; σ) (≥ radius0 where σ0 is in the grid)
    distance: np.ndarray          # (R, R) distance to the nearest pixel of another σ0 class (inf: none)
    violation: np.ndarray         # (R, R) bool: R* > distance + one pixel: the "certificate" is false

    @property
    def violation_fraction(self) -> float:
        return float(self.violation.mean())


def boundary_distance_map(labels: np.ndarray, view: grid_view.GridView) -> np.ndarray:
    """Per pixel, the distance to the nearest pixel with another label (inf if the view has none)."""
    hx, hy = view.spacing
    out = np.full(labels.shape, np.inf)
    for c in np.unique(labels):
        mine = labels == c
        if mine.all():
            continue
        d = ndimage.distance_transform_edt(mine, sampling=(hy, hx))        # to the nearest non-c pixel
        out[mine] = d[mine]
    return out


def sigma_star_maps(base: grid.BaseMap, sigmas, sigma0: float) -> SigmaStarMaps:
    """σ*(x), R*(x) and the fixed-σ0 radius on the base map's view: one blur per σ."""
    func = "sigma_star_maps"
    sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    top = base.max_sigma * (1 + 1e-9)
    if sigmas.size == 0 or np.any(~np.isfinite(sigmas)) or np.any(sigmas <= 0) or np.any(sigmas > top):
        raise ValueError(f"The 'sigmas' parameter of {func} must be positive floats <= {base.max_sigma:g} "
                         f"(the base map's padding). Got {sigmas!r} instead.")
    sigma0 = check_float(sigma0, "sigma0", func, 0, top, low_open=True)
    p0 = grid.blur(base, sigma0)                                            # (K, R, R)
    cls = p0.argmax(0)                                                      # (R, R)
    radius0 = class_radius(p0, cls, sigma0)
    best_r, best_s = radius0.copy(), np.full(cls.shape, sigma0)
    for s in sigmas:
        r = class_radius(grid.blur(base, s), cls, s)                        # (R, R)
        better = r > best_r
        best_r[better], best_s[better] = r[better], s
    dist = boundary_distance_map(cls, base.view)
    violation = best_r > dist + max(base.view.spacing)
    return SigmaStarMaps(sigmas, sigma0, cls, radius0, best_s, best_r, dist, violation)


def radius_curve(base: grid.BaseMap, point, sigmas, sigma0: float) -> tuple[int, np.ndarray]:
    """c_A at σ0 and the exact R(σ) for that class at ``point`` (not snapped to a pixel).  # (S,)"""
    sigma0 = check_float(sigma0, "sigma0", "radius_curve", 0, base.max_sigma * (1 + 1e-9), low_open=True)
    cls = int(np.argmax(grid.probabilities_at(base, point, sigma0)))
    curve = [float(class_radius(grid.probabilities_at(base, point, s), cls, s)) for s in np.ravel(sigmas)]
    return cls, np.array(curve)
