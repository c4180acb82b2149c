"""The decision-boundaries inspector's own rows. Cohen et al. (2019) randomized smoothing: the Monte Carlo
certificate and the same formula on the exact (convolved) probabilities. Ground truth in 2D: the distance from
the point to the smoothed and to the base decision boundary, measured on the exact grid (no certificate can
honestly exceed the first)."""
from __future__ import annotations

import numpy as np

from cert_core import boundary, grid, grid_view
from cert_core.smoothing import ABSTAIN
from ui.inspector import InspectorContext, RadiusRow, register_provider


@register_provider(order=10, name="cohen_monte_carlo")
def monte_carlo_certificate(ctx: InspectorContext) -> RadiusRow:
    cert = ctx.certificate
    if cert.abstained:
        note = f"abstains: p̲_A = {cert.p_lower:.4f} < 1/2 (n = {ctx.n:,}, α = {ctx.alpha:g})"
        return RadiusRow("Monte Carlo CERTIFY", 0.0, ABSTAIN, "certificate", True, note)
    note = (f"σ Φ⁻¹(p̲_A), p̲_A = {cert.p_lower:.4f} from {ctx.n:,} samples; "
            f"holds with probability ≥ {1 - ctx.alpha:g}")
    return RadiusRow("Monte Carlo CERTIFY", cert.radius, cert.prediction, "certificate", True, note)


@register_provider(order=20, name="cohen_exact")
def exact_cohen_radius(ctx: InspectorContext) -> RadiusRow:
    p = ctx.exact_probs                                                     # (K,)
    radius = float(grid.exact_radius(p, ctx.sigma))
    p_a, p_b = grid.top_two(p)
    note = f"σ/2 (Φ⁻¹ p_A − Φ⁻¹ p_B) with exact p_A = {_fmt(p_a)}, p_B = {_fmt(p_b)} (no sampling)"
    if radius >= grid.RADIUS_CAP * ctx.sigma - 1e-9:
        note += "; capped at 4σ (the kernel's reach)"
    # the pixelated boundary is off by at most half a pixel diagonal, so is the radius (~ distance)
    error = min(radius, max(ctx.view.spacing))
    return RadiusRow("Exact Cohen radius", radius, int(np.argmax(p)), "certificate", True, note,
                     error=error)


def _fmt(p: float) -> str:
    if p > 0.9999:
        return "> 0.9999"
    if p < 0.0001:
        return "< 0.0001"
    return f"{p:.4f}"


def _row(method, dist: boundary.BoundaryDistance, cls: int, classifier: str, what: str) -> RadiusRow:
    if not dist.found:
        note = f"no {what} boundary in the view; it is at least {dist.lower_bound:.3f} away"
    else:
        note = f"nearest {what} boundary point ({dist.nearest[0]:.3f}, {dist.nearest[1]:.3f}), from the grid"
    return RadiusRow(method, dist.distance, cls, "exact", True, note, classifier=classifier,
                     error=dist.resolution_error)


@register_provider(order=30, name="smoothed_boundary_distance")
def smoothed_boundary(ctx: InspectorContext) -> RadiusRow:
    cls = int(np.argmax(ctx.exact_probs))
    dist = boundary.boundary_distance(ctx.probs, ctx.view, ctx.point, cls)
    return _row("Distance to smoothed boundary", dist, cls, "smoothed", "smoothed")


@register_provider(order=40, name="base_boundary_distance")
def base_boundary(ctx: InspectorContext) -> RadiusRow:
    scores = ctx.base_scores                                                # (K, R, R)
    cls = int(grid_view.predict_points(ctx.model, np.array([ctx.point]))[0])
    dist = boundary.boundary_distance(scores, ctx.view, ctx.point, cls)
    return _row("Distance to base boundary", dist, cls, "base", "base")
