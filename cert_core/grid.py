"""2D grids: the exactly smoothed classifier and its radius maps.

Implements the 2D ground truth for Gaussian randomized smoothing (Cohen et al., 2019, Sec. 3):
for a base classifier f: R^2 -> {0..K-1}, the smoothed classifier's class probabilities are

    p_k(x) = P(f(x + eps) = k),  eps ~ N(0, sigma^2 I)  =  (phi_sigma * 1[f = k])(x),

a Gaussian convolution of f's one-hot map. We evaluate f once on a *padded* grid (the padding
holds f's true predictions, not zeros, so the blur near the view's edge sees what lies beyond it)
and convolve each class indicator with a separable kernel.

Discretisation. The kernel tap for pixel offset m is the Gaussian mass of that pixel,
Phi((m + 1/2) h / sigma) - Phi((m - 1/2) h / sigma), so the result is the *exact* convolution of
the nearest-neighbour (pixel-constant) version of f, at every pixel centre, for any sigma/h
(a sampled Gaussian, as in ``scipy.ndimage.gaussian_filter``, is poor once sigma < ~h). The only
error is where the pixelated boundary departs from f's: at most h/sqrt(2) in position, hence at most
0.4 * h / sigma in probability (the projected Gaussian density is <= 1/(sigma sqrt(2 pi))). The
kernel is truncated at 4 sigma (mass 6e-5, renormalised) and the padding is >= 4 sigma + 1 pixel.
Large kernels are applied by FFT along each axis (``scipy.signal.fftconvolve``), so the sigma slider
only re-blurs a cached base map (see ``evaluate_base`` / ``blur``).

The view (pixel centres) and the base classifier on points: ``cert_core.grid_view``; the distance to a
boundary on the grid: ``cert_core.boundary``; the Monte Carlo check: ``cert_core.monte_carlo``.

Shapes: R = resolution, K = classes; maps are indexed [i, j] = (y[i], x[j]), y ascending.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import signal
from scipy.stats import norm

from cert_core.validation import check_float
from cert_core.grid_view import GridView, check_2d_model, make_view, predict_points

TRUNCATE = 4.0            # kernel half-width in sigmas; the padding covers it
MAX_PADDED_PIXELS = 16_000_000   # guards the one-off base evaluation (about 64 MB of int32)
RADIUS_CAP = TRUNCATE     # radii are capped at 4 sigma: the truncated kernel cannot resolve more


@dataclass(frozen=True, eq=False)
class BaseMap:
    """The base classifier's predictions on a view padded by ``pad`` pixels on every side."""
    view: GridView
    labels: np.ndarray          # (R + 2 pad_y, R + 2 pad_x) int64 predicted classes
    pad: tuple[int, int]        # (pad_x, pad_y) pixels
    num_classes: int
    max_sigma: float            # the largest sigma the padding covers

    def crop(self) -> np.ndarray:
        """Base predictions on the view itself."""                       # (R, R)
        px, py = self.pad
        r = self.view.resolution
        return self.labels[py:py + r, px:px + r]


def _pad_pixels(sigma: float, h: float) -> int:
    return int(math.ceil(TRUNCATE * sigma / h)) + 1


def evaluate_base(model: torch.nn.Module, bounds, resolution: int, max_sigma: float) -> BaseMap:
    """Evaluate f on the view padded for every sigma <= ``max_sigma`` (the expensive, cacheable step)."""
    func = "evaluate_base"
    view = make_view(bounds, resolution, func)
    max_sigma = check_float(max_sigma, "max_sigma", func, 0, None, low_open=True)
    num_classes = check_2d_model(model, func)
    hx, hy = view.spacing
    px, py = _pad_pixels(max_sigma, hx), _pad_pixels(max_sigma, hy)
    nx, ny = view.resolution + 2 * px, view.resolution + 2 * py
    if nx * ny > MAX_PADDED_PIXELS:
        raise ValueError(f"The 'max_sigma' parameter of {func} is too large for this view: sigma = "
                         f"{max_sigma:g} needs a {nx} x {ny} padded grid (limit {MAX_PADDED_PIXELS:,} "
                         f"pixels). Lower sigma or the resolution, or widen the view.")
    xs = view.bounds[0] + hx * (np.arange(nx) - px)                        # (nx,)
    ys = view.bounds[2] + hy * (np.arange(ny) - py)                        # (ny,)
    gx, gy = np.meshgrid(xs, ys)                                           # (ny, nx)
    labels = predict_points(model, np.stack([gx.ravel(), gy.ravel()], 1)).reshape(ny, nx)
    return BaseMap(view, labels.astype(np.int64), (px, py), num_classes, max_sigma)


def pixel_kernel(sigma: float, h: float, offset: float = 0.0, half_width: int | None = None) -> np.ndarray:
    """Gaussian mass of each pixel of width h centred at m*h - offset, m = -W..W, renormalised."""
    w = _pad_pixels(sigma, h) - 1 if half_width is None else half_width
    centres = (np.arange(-w, w + 1) * h - offset) / sigma                  # (2W+1,)
    taps = norm.cdf(centres + 0.5 * h / sigma) - norm.cdf(centres - 0.5 * h / sigma)
    return taps / taps.sum()


def _convolve_axis(stack: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """'valid' convolution of (K, H, W) along ``axis`` (1 or 2); kernel is symmetric."""
    shape = [1, 1, 1]
    shape[axis] = kernel.size
    return signal.fftconvolve(stack, kernel.astype(stack.dtype).reshape(shape), mode="valid", axes=axis)


def blur(base: BaseMap, sigma: float) -> np.ndarray:
    """Exact smoothed probabilities on the view from a cached padded base map."""  # (K, R, R)
    sigma = check_float(sigma, "sigma", "blur", 0, base.max_sigma * (1 + 1e-9), low_open=True)
    hx, hy = base.view.spacing
    kx, ky = pixel_kernel(sigma, hx), pixel_kernel(sigma, hy)
    wx, wy = kx.size // 2, ky.size // 2
    px, py = base.pad
    r = base.view.resolution
    labels = base.labels[py - wy:py + r + wy, px - wx:px + r + wx]         # (R+2wy, R+2wx)
    onehot = np.stack([(labels == k) for k in range(base.num_classes)]).astype(np.float32)
    probs = _convolve_axis(_convolve_axis(onehot, kx, 2), ky, 1)            # (K, R, R)
    probs = np.clip(probs, 0.0, 1.0)
    return probs / probs.sum(axis=0, keepdims=True)


def smoothed_probabilities(model: torch.nn.Module, bounds, resolution: int, sigma: float) -> np.ndarray:
    """probs[k, i, j] = P(f(p + eps) = k) at p = (x[j], y[i]), eps ~ N(0, sigma^2 I).  # (K, R, R)

    Exact Gaussian smoothing of the base classifier up to grid discretisation (<= 0.4 h / sigma).
    """
    sigma = check_float(sigma, "sigma", "smoothed_probabilities", 0, None, low_open=True)
    make_view(bounds, resolution, "smoothed_probabilities")
    check_2d_model(model, "smoothed_probabilities")
    return blur(evaluate_base(model, bounds, resolution, sigma), sigma)


def probabilities_at(base: BaseMap, point, sigma: float) -> np.ndarray:
    """Exact smoothed probabilities at an arbitrary point inside the view (not snapped to a pixel)."""
    sigma = check_float(sigma, "sigma", "probabilities_at", 0, base.max_sigma * (1 + 1e-9), low_open=True)
    hx, hy = base.view.spacing
    px, py = base.pad
    # continuous pixel coordinates of the point in the padded grid
    cx = (float(point[0]) - base.view.bounds[0]) / hx + px
    cy = (float(point[1]) - base.view.bounds[2]) / hy + py
    jx, jy = int(round(cx)), int(round(cy))
    wx, wy = _pad_pixels(sigma, hx) - 1, _pad_pixels(sigma, hy) - 1
    if not (wx <= jx < base.labels.shape[1] - wx and wy <= jy < base.labels.shape[0] - wy):
        raise ValueError(f"The 'point' parameter of probabilities_at must lie inside the view "
                         f"{base.view.bounds}. Got {tuple(point)!r} instead.")
    kx = pixel_kernel(sigma, hx, (cx - jx) * hx, wx)                       # (2wx+1,)
    ky = pixel_kernel(sigma, hy, (cy - jy) * hy, wy)                       # (2wy+1,)
    patch = base.labels[jy - wy:jy + wy + 1, jx - wx:jx + wx + 1]          # (2wy+1, 2wx+1)
    mass = np.outer(ky, kx)
    return np.array([mass[patch == k].sum() for k in range(base.num_classes)])   # (K,)


def top_two(probs: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The largest and second-largest class probability along ``axis``."""
    part = np.sort(probs, axis=axis)
    return np.take(part, -1, axis=axis), np.take(part, -2, axis=axis)


def exact_radius(probs: np.ndarray, sigma: float) -> np.ndarray:
    """sigma/2 (Phi^-1(p_A) - Phi^-1(p_B)) with exact p_A >= p_B (Cohen et al., Thm. 1).  # (...)

    ``probs`` has classes on axis 0: (K,) for one point or (K, R, R) for a map. The result is
    capped at ``RADIUS_CAP * sigma``: the 4-sigma kernel makes p_A = 1 beyond that distance.
    """
    sigma = check_float(sigma, "sigma", "exact_radius", 0, None, low_open=True)
    p_a, p_b = top_two(np.asarray(probs, dtype=np.float64))
    lo = norm.cdf(-RADIUS_CAP)
    p_a, p_b = np.clip(p_a, lo, 1 - lo), np.clip(p_b, lo, 1 - lo)
    return 0.5 * sigma * (norm.ppf(p_a) - norm.ppf(p_b))


def discretisation_error(view: GridView, sigma: float) -> float:
    """Bound on |convolved - exact| probability from pixelating the boundary: 0.4 h / sigma."""
    return 0.4 * max(view.spacing) / sigma
