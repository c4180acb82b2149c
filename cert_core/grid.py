"""2D grids: base predictions, the exactly smoothed classifier, radius and distance maps.

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

Shapes: R = resolution, K = classes; maps are indexed [i, j] = (y[i], x[j]), y ascending.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import signal
from scipy.stats import norm

from cert_core.validation import check_finite_scores, check_float, check_int
from cert_core.tensors import model_device
from cert_core.smoothing import Smooth

TRUNCATE = 4.0            # kernel half-width in sigmas; the padding covers it
MIN_RESOLUTION = 8
MAX_RESOLUTION = 1500
MAX_PADDED_PIXELS = 16_000_000   # guards the one-off base evaluation (about 64 MB of int32)
RADIUS_CAP = TRUNCATE     # radii are capped at 4 sigma: the truncated kernel cannot resolve more


@dataclass(frozen=True)
class GridView:
    """A square-pixel-agnostic view: R x R pixel centres spanning ``bounds`` inclusively."""
    bounds: tuple[float, float, float, float]   # (xmin, xmax, ymin, ymax)
    resolution: int                             # pixels per axis

    @property
    def x(self) -> np.ndarray:
        return np.linspace(self.bounds[0], self.bounds[1], self.resolution)   # (R,)

    @property
    def y(self) -> np.ndarray:
        return np.linspace(self.bounds[2], self.bounds[3], self.resolution)   # (R,)

    @property
    def spacing(self) -> tuple[float, float]:
        """(hx, hy): distance between neighbouring pixel centres."""
        xmin, xmax, ymin, ymax = self.bounds
        return (xmax - xmin) / (self.resolution - 1), (ymax - ymin) / (self.resolution - 1)


def make_view(bounds, resolution, func: str = "GridView") -> GridView:
    """Validate ``bounds`` and ``resolution`` and return a ``GridView``."""
    resolution = check_int(resolution, "resolution", func, MIN_RESOLUTION, MAX_RESOLUTION)
    try:
        b = tuple(float(v) for v in bounds)
    except (TypeError, ValueError):
        b = ()
    if len(b) != 4 or not all(math.isfinite(v) for v in b) or not (b[0] < b[1] and b[2] < b[3]):
        raise ValueError(f"The 'bounds' parameter of {func} must be four finite floats "
                         f"(xmin, xmax, ymin, ymax) with xmin < xmax and ymin < ymax. "
                         f"Got {bounds!r} instead.")
    return GridView(b, resolution)


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


def check_2d_model(model: torch.nn.Module, func: str) -> int:
    """Return K if ``model`` maps (B, 2) points to (B, K) scores, else raise a clear ValueError."""
    shape = getattr(model, "input_shape", None)
    if shape is not None and tuple(shape) != (2,):
        raise ValueError(f"The 'model' parameter of {func} must take 2D points (input shape (2,)); "
                         f"this model takes inputs of shape {tuple(shape)}. Pick a 2D model.")
    try:
        out = _scores(model, torch.zeros(2, 2))
    except Exception as exc:  # any failure on a 2D batch means: not a 2D model
        raise ValueError(f"The 'model' parameter of {func} must map (B, 2) points to (B, K) "
                         f"class scores, but it fails on a batch of 2D points (is it a model for images?): {exc}") from None
    if out.ndim != 2 or out.shape[0] != 2 or out.shape[1] < 2:
        raise ValueError(f"The 'model' parameter of {func} must map (B, 2) points to (B, K) "
                         f"class scores with K >= 2; it returned shape {tuple(out.shape)}.")
    return int(out.shape[1])


def _scores(model: torch.nn.Module, points: torch.Tensor) -> torch.Tensor:
    """Evaluate ``model`` in eval mode on float32 points placed on the model's device."""
    device = model_device(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(points.to(device=device, dtype=torch.float32)).float().cpu()
    finally:
        model.train(was_training)


def predict_points(model: torch.nn.Module, points: np.ndarray, batch_size: int = 262_144) -> np.ndarray:
    """Base predictions argmax f(points) for points of shape (M, 2); ``NonFiniteScoresError`` when f
    gives NaN or ±inf scores (the smoothed maps count these labels as votes)."""
    pts = torch.as_tensor(np.asarray(points, dtype=np.float32))           # (M, 2)
    out = []
    for s in range(0, len(pts), batch_size):
        scores = _scores(model, pts[s:s + batch_size])                    # (B, K)
        check_finite_scores(scores, "points of a batch")
        out.append(scores.argmax(1))
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)  # (M,)


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


def base_predictions(model: torch.nn.Module, bounds, resolution: int) -> np.ndarray:
    """argmax f on the view's pixel centres."""                              # (R, R)
    view = make_view(bounds, resolution, "base_predictions")
    check_2d_model(model, "base_predictions")
    gx, gy = np.meshgrid(view.x, view.y)
    pts = np.stack([gx.ravel(), gy.ravel()], 1)
    return predict_points(model, pts).reshape(view.resolution, view.resolution)


def base_scores(model: torch.nn.Module, bounds, resolution: int) -> np.ndarray:
    """The base model's class scores on the view's pixel centres (for sub-pixel base boundaries)."""
    view = make_view(bounds, resolution, "base_scores")
    check_2d_model(model, "base_scores")
    gx, gy = np.meshgrid(view.x, view.y)
    pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    scores = _scores(model, pts).numpy()                                   # (R*R, K)
    return scores.T.reshape(-1, view.resolution, view.resolution)          # (K, R, R)


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


@dataclass(frozen=True)
class BoundaryDistance:
    """Distance from a point to the nearest decision-boundary crossing found on a grid."""
    distance: float                       # inf when no boundary lies in the view
    nearest: tuple[float, float] | None   # the boundary point found, or None
    resolution_error: float               # +- bound from the grid (one pixel spacing)
    lower_bound: float                    # when not found: distance to the view's edge

    @property
    def found(self) -> bool:
        return math.isfinite(self.distance)


def _edge_crossings(m: np.ndarray, coords: np.ndarray, axis: int) -> np.ndarray:
    """Zero crossings of the margin ``m`` along ``axis`` by linear interpolation; NaN where none."""
    a, b = (m[:, :-1], m[:, 1:]) if axis == 1 else (m[:-1, :], m[1:, :])
    cross = (a >= 0) != (b >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(cross, a / (a - b), np.nan)                           # in [0, 1]
    c = coords[:-1] + t * np.diff(coords)[None, :] if axis == 1 else coords[:-1, None] + t * np.diff(coords)[:, None]
    return c                                                               # edge-shaped


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances from p (2,) to segments a-b (N, 2), and the nearest points (N, 2)."""
    ab = b - a
    t = np.clip(((p - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-300), 0.0, 1.0)
    q = a + t[:, None] * ab
    return np.hypot(*(q - p).T), q


def boundary_distance(scores: np.ndarray, view: GridView, point, cls: int) -> BoundaryDistance:
    """Distance from ``point`` to where class ``cls`` stops winning on the grid.

    ``scores`` (K, R, R) are any per-class scores whose argmax is the classifier (smoothed
    probabilities, or base logits). The margin s_cls - max_{k != cls} s_k is interpolated linearly
    along pixel edges; each cell's crossings are joined into segments (marching squares), so the
    boundary is located to well within a pixel; we state one pixel spacing as the error.
    """
    scores = np.asarray(scores, dtype=np.float64)
    k = scores.shape[0]
    cls = check_int(int(cls), "cls", "boundary_distance", 0, k - 1)
    others = np.delete(scores, cls, axis=0).max(axis=0)
    m = scores[cls] - others                                              # (R, R)
    x, y = view.x, view.y
    hx, hy = view.spacing
    p = np.array([float(point[0]), float(point[1])])
    cx = _edge_crossings(m, x, axis=1)                                    # (R, R-1) x of crossings
    cy = _edge_crossings(m, y, axis=0)                                    # (R-1, R) y of crossings
    X, Y = np.meshgrid(x, y)
    # the four edges of each cell: bottom, top (horizontal), left, right (vertical)
    pts = np.stack([np.stack([cx[:-1], Y[:-1, :-1]], -1), np.stack([cx[1:], Y[1:, :-1]], -1),
                    np.stack([X[:-1, :-1], cy[:, :-1]], -1), np.stack([X[:-1, 1:], cy[:, 1:]], -1)], 2)
    valid = ~np.isnan(pts[..., 0]) & ~np.isnan(pts[..., 1])              # (R-1, R-1, 4)
    edge_dist = np.sqrt(((view.bounds[0] - p[0]) ** 2, (view.bounds[1] - p[0]) ** 2,
                         (view.bounds[2] - p[1]) ** 2, (view.bounds[3] - p[1]) ** 2))
    to_edge = float(np.min(edge_dist))
    if not valid.any():
        return BoundaryDistance(math.inf, None, max(hx, hy), to_edge)
    cand_d, cand_q = [], []
    flat = pts[valid]                                                     # every crossing point
    d = np.hypot(*(flat - p).T)
    cand_d.append(d), cand_q.append(flat)
    two = valid.sum(-1) == 2
    if two.any():
        cells, mask = pts[two], valid[two]                                # (N, 4, 2), (N, 4)
        ends = cells[mask].reshape(-1, 2, 2)                              # (N, 2, 2)
        sd, sq = _segment_distance(p, ends[:, 0], ends[:, 1])
        cand_d.append(sd), cand_q.append(sq)
    d_all, q_all = np.concatenate(cand_d), np.concatenate(cand_q)
    best = int(np.argmin(d_all))
    return BoundaryDistance(float(d_all[best]), (float(q_all[best, 0]), float(q_all[best, 1])),
                            max(hx, hy), to_edge)


def monte_carlo_counts(model: torch.nn.Module, points, sigma: float, n: int,
                       generator: torch.Generator | None = None, batch_size: int = 100_000) -> np.ndarray:
    """Counts of f(p + eps) = k over n Gaussian samples per point (the PREDICT picture).  # (M, K)

    The very sampler certificates use (``Smooth.sample_counts``), so the Monte Carlo check against the exact
    maps validates the code that certifies, not a twin of it."""
    sigma = check_float(sigma, "sigma", "monte_carlo_counts", 0, None, low_open=True)
    n = check_int(n, "n", "monte_carlo_counts", 1, None)
    k = check_2d_model(model, "monte_carlo_counts")
    pts = torch.as_tensor(np.asarray(points, dtype=np.float32)).reshape(-1, 2)   # (M, 2)
    return Smooth(model, k, sigma).sample_counts(pts, n, batch_size, generator).cpu().numpy()


def discretisation_error(view: GridView, sigma: float) -> float:
    """Bound on |convolved - exact| probability from pixelating the boundary: 0.4 h / sigma."""
    return 0.4 * max(view.spacing) / sigma
