"""2D views: the pixel-centre grid over a box, and the base classifier evaluated on 2D points.

A ``GridView`` is R x R pixel centres spanning ``bounds`` = (xmin, xmax, ymin, ymax) inclusively:
x = linspace(xmin, xmax, R), y = linspace(ymin, ymax, R) (the grid of the ``cert_core.grid`` contract).
``predict_points`` / ``base_predictions`` / ``base_scores`` evaluate the base classifier f: R^2 -> {0..K-1}
(Cohen et al., 2019, Sec. 3) in eval mode on the model's device; ``check_2d_model`` turns an image model or a
broken one into a clear error. The exact smoothed maps built on these views are in ``cert_core.grid``.

Shapes: R = resolution, K = classes, M = points; maps are indexed [i, j] = (y[i], x[j]), y ascending.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from cert_core.validation import check_finite_scores, check_int
from cert_core.tensors import model_device

MIN_RESOLUTION = 8
MAX_RESOLUTION = 1500


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
