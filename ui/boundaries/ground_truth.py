"""Ground truth in 2D: the distance from the point to the smoothed and to the base decision boundary,
measured on the exact grid (no certificate can honestly exceed the first)."""
from __future__ import annotations

import numpy as np

from cert_core import grid
from ui.inspector import InspectorContext, RadiusRow, register_provider


def _row(method, dist: grid.BoundaryDistance, cls: int, classifier: str, what: str) -> RadiusRow:
    if not dist.found:
        note = f"no {what} boundary in the view; it is at least {dist.lower_bound:.3f} away"
    else:
        note = f"nearest {what} boundary point ({dist.nearest[0]:.3f}, {dist.nearest[1]:.3f}), from the grid"
    return RadiusRow(method, dist.distance, cls, "exact", True, note, classifier=classifier,
                     error=dist.resolution_error)


@register_provider(order=30, name="smoothed_boundary_distance")
def smoothed_boundary(ctx: InspectorContext) -> RadiusRow:
    cls = int(np.argmax(ctx.exact_probs))
    dist = grid.boundary_distance(ctx.probs, ctx.view, ctx.point, cls)
    return _row("Distance to smoothed boundary", dist, cls, "smoothed", "smoothed")


@register_provider(order=40, name="base_boundary_distance")
def base_boundary(ctx: InspectorContext) -> RadiusRow:
    scores = ctx.base_scores                                                # (K, R, R)
    cls = int(grid.predict_points(ctx.model, np.array([ctx.point]))[0])
    dist = grid.boundary_distance(scores, ctx.view, ctx.point, cls)
    return _row("Distance to base boundary", dist, cls, "base", "base")
