"""Bernstein-polynomial smoothing (Kao, Ko & Lu) in the point inspector: three rows about the Bernstein
classifier of degree n on the view (mapped isotropically onto [0,1]^2; radii are back in plane units).

* root-finding (Eq. 9-10, LM): *a* boundary point, so an upper bound on the distance at best;
* the exact distance to the Bernstein boundary, from a fine grid;
* the sound Lipschitz certificate from the lattice forward differences.

The inspector uses degree 10 (``DEFAULT_DEGREE``); the Bernstein page has its own degree slider.
"""
from __future__ import annotations

import math

from cert_core.methods.bernstein import plane as bernstein_plane
from ui.inspector import InspectorContext, RadiusRow, register_provider

DEFAULT_DEGREE = 10
GRID_RESOLUTION = 401


def radii(ctx: InspectorContext) -> tuple[int, bernstein_plane.PlaneRadii]:
    """Computed once per context (the three providers share it)."""
    def compute() -> bernstein_plane.PlaneRadii:
        poly = bernstein_plane.fit_plane(ctx.model, ctx.view.bounds, DEFAULT_DEGREE)
        return bernstein_plane.plane_radii(poly, ctx.view.bounds, ctx.point, GRID_RESOLUTION)
    return DEFAULT_DEGREE, ctx.shared("bernstein_radii", compute)


def rows(n: int, r: bernstein_plane.PlaneRadii) -> list[RadiusRow]:
    """The three rows, shared by the inspector and the Bernstein page."""
    who = f"bernstein n={n}"
    if r.root.on_boundary:
        note = f"LM boundary point ({r.root.nfev} evaluations): an upper bound on the distance, not a certificate"
        kind = "upper bound"
    else:
        note = "LM stopped off the boundary (least-squares minimum, no root): no guarantee either way"
        kind = "estimate"
    if r.root_overestimates:
        note = (f"⚠ overestimates the true distance {r.exact_radius:.3f} by "
                f"{r.root_radius - r.exact_radius:.3f}: " + note)
    exact_note = ("no Bernstein boundary inside the view" if not r.exact.found
                  else f"nearest boundary point from a {GRID_RESOLUTION}² grid of B_n on [0,1]²")
    sound_note = ("no class can overtake anywhere in the view" if math.isinf(r.sound.radius) else
                  f"margin / Lipschitz bound n·max|Δ| vs class {r.sound.binding}; holds in the view box")
    return [
        RadiusRow(f"Bernstein root-finding (n={n})", r.root_radius, r.prediction, kind, False, note, who),
        RadiusRow(f"Distance to Bernstein boundary (n={n})", r.exact_radius, r.prediction, "exact", True,
                  exact_note, who, error=r.exact_error),
        RadiusRow(f"Bernstein Lipschitz certificate (n={n})", r.sound_radius, r.prediction, "certificate", True,
                  sound_note, who),
    ]


@register_provider(order=70, name="bernstein_root_finding", slow=True)
def root_finding(ctx: InspectorContext) -> RadiusRow:
    return rows(*radii(ctx))[0]


@register_provider(order=71, name="bernstein_exact_distance", slow=True)
def exact_distance(ctx: InspectorContext) -> RadiusRow:
    return rows(*radii(ctx))[1]


@register_provider(order=72, name="bernstein_lipschitz", slow=True)
def lipschitz(ctx: InspectorContext) -> RadiusRow:
    return rows(*radii(ctx))[2]
