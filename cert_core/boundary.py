"""Distance from a point to a 2D decision boundary located on a grid (the ground truth a certified radius is
checked against: a radius must never exceed it; Cohen et al., 2019, Thm. 1).

The margin s_cls - max_{k != cls} s_k of any per-class scores (K, R, R) on a ``GridView`` (exact smoothed
probabilities from ``cert_core.grid``, or base logits) is interpolated linearly along pixel edges and each cell's
crossings are joined into segments (marching squares); the stated error is one pixel spacing.

Shapes: R = resolution, K = classes; maps are indexed [i, j] = (y[i], x[j]), y ascending.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cert_core.validation import check_int

if TYPE_CHECKING:
    from cert_core.grid_view import GridView


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
