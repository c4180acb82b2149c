"""Glue for the decision-boundaries page: turns cached arrays into figure specs and table rows.

Pure functions (numpy + figure specs), so the page stays a short list of widgets and calls.
"""
from __future__ import annotations

import math

import numpy as np

from cert_core import grid_view
from cert_core.smoothing import ABSTAIN
from ui import image_map, theme
from ui.boundaries.figures import Circle, MapSpec
from ui.images import base_image, lattice_values, png_uri, smoothed_image
from ui.inspector import RadiusRow, describe


def readout(view: grid_view.GridView, probs: np.ndarray, radius: np.ndarray | None, class_names,
            classifier: str) -> image_map.Readout:
    """The hover read-out of a map on a coarse lattice (``ui.images.lattice_points``, 61 × 61 over the view): at each
    lattice point the class of f (base) or of g with its exact p_A and exact certified radius (smoothed), read from
    the exact maps' pixel under it (no interpolation)."""
    steps, p = lattice_values(view, probs)                                  # (K, S, S) row i: y, column j: x
    classes = p.argmax(0)                                                   # (S, S)
    if classifier == "base":
        return image_map.Readout(*steps, (), "", classes=classes, class_names=tuple(class_names), class_label="f")
    p_a = p.max(0).astype(np.float32)                                       # (S, S)
    r = lattice_values(view, radius)[1].astype(np.float32)                  # (S, S)
    return image_map.Readout(*steps, p_a, "p_A", classes=classes, class_names=tuple(class_names), class_label="g",
                             more=(("exact radius", r, ".3f"),))


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return (labels[None] == np.arange(k)[:, None, None]).astype(np.float32)   # (K, R, R)


def circles(rows: list[RadiusRow]) -> tuple[Circle, ...]:
    """One circle per row, styled by the row's position (so a style always means the same row)."""
    out = []
    for i, r in enumerate(rows):
        color, dash = theme.circle_style(i)
        out.append(Circle(r.radius, r.method, color, dash))
    return tuple(out)


# the circles a first look needs: the claim, its exact version and the two truths
KEY_ROWS = ("Monte Carlo CERTIFY", "Exact Cohen radius", "Distance to smoothed boundary",
            "Distance to base boundary")


def cloud_circles(rows: list[RadiusRow], show_all: bool) -> tuple[Circle, ...]:
    """The noise cloud's circles: the key rows, or every row."""
    return tuple(c for c in circles(rows) if show_all or c.name in KEY_ROWS)


def table(rows: list[RadiusRow]) -> list[dict]:
    """The inspector table: each row's description plus the style of its circle (matches the legend)."""
    return [{"method": r.method, "circle": theme.describe_style(c.color, c.dash), **describe(r)}
            for r, c in zip(rows, circles(rows))]


def test_status(prediction: np.ndarray, y: np.ndarray, radius: np.ndarray, r: float) -> np.ndarray:
    """'certified' (correct and radius >= r), 'not certified', 'abstain' or 'wrong' per test point."""
    status = np.full(len(y), "not certified", dtype=object)
    status[(prediction == y) & (radius >= r)] = "certified"
    status[prediction == ABSTAIN] = "abstain"
    status[(prediction != ABSTAIN) & (prediction != y)] = "wrong"
    return status


def smoothed_title(sigma_label: str, overlay: bool) -> str:
    """The smoothed map's title at σ (``sigma_label``: σ as printed, ``f"{σ:g}"``), shared with ui/sigma_scrub.py."""
    return f"Smoothed g, σ = {sigma_label}" + (" (dotted: base f)" if overlay else "")


def map_specs(view, base_labels, probs, radius, class_names, sigma, abstain_p, overlay: bool,
              points, marks, selected, rows, images: tuple[str, str] | None = None) -> list[MapSpec]:
    """One spec (overlay) or two (base | smoothed) for the current settings.

    ``images``: the (base, smoothed) pictures when the caller has them cached (ui/boundaries/cache.map_images);
    otherwise they are drawn here from ``base_labels`` and ``probs``."""
    k = probs.shape[0]
    legend = [("p_A < ½", "#5A5A5A"), (f"p_A < {abstain_p:.3f}: abstains", "#B4B4B4")]
    if k == 2:
        legend = legend[1:]
    # the maps show the claim and the truth; the inspector below shows every provider's circle
    key_rows = {"cohen_monte_carlo", "Monte Carlo CERTIFY", "Distance to smoothed boundary",
                "Distance to base boundary"}
    circ = tuple(c for c, r in zip(circles(rows), rows) if r.method in key_rows) if rows else ()
    rows = [r for r in rows if r.method in key_rows] if rows else []
    if images is None:
        images = (png_uri(base_image(base_labels)),
                  png_uri(smoothed_image(probs, abstain_p, base_labels if overlay else None)))
    smooth = MapSpec(smoothed_title(f"{sigma:g}", overlay), view, images[1], tuple(class_names), points, marks,
                     readout(view, probs, radius, class_names, "smoothed"), selected, circ, tuple(legend))
    if overlay:
        return [smooth]
    base = MapSpec("Base classifier f", view, images[0], tuple(class_names), points,
                   marks, readout(view, one_hot(base_labels, k), None, class_names, "base"), selected,
                   tuple(c for c, r in zip(circ, rows) if r.classifier == "base"))
    return [base, smooth]


def local_bounds(point, sigma: float, rows: list[RadiusRow], view: grid_view.GridView) -> tuple:
    """A square window around the point holding the noise cloud and every finite circle."""
    radii = [r.radius for r in rows if math.isfinite(r.radius)]
    half = max(3.2 * sigma, 1.15 * max(radii, default=0.0), 0.3)
    half = min(half, 0.5 * (view.bounds[1] - view.bounds[0]))
    return (point[0] - half, point[0] + half, point[1] - half, point[1] + half)


def region_shares(probs: np.ndarray, abstain_p: float) -> tuple[float, float]:
    """Share of the view where g has no majority (p_A < 1/2) and where CERTIFY would abstain."""
    p_a = probs.max(0)
    return float((p_a < 0.5).mean()), float((p_a < abstain_p).mean())


def headline(probs: np.ndarray, radius: np.ndarray, abstain_p: float, sigma: float, n: int, alpha: float,
             r: float, accuracy: float | None) -> list[tuple[str, str, str]]:
    """The four numbers under the maps as (label, value, help); ``accuracy``: the test set's at radius r, if shown."""
    no_answer, abstains = region_shares(probs, abstain_p)
    last = ((f"Certified at r = {r:g}", f"{accuracy:.1%}",
             f"Certified accuracy: test points correct with certified radius ≥ r (n = 1,000 samples each, "
             f"α = {alpha:g}).")
            if accuracy is not None else
            ("Largest exact radius", f"{float(radius.max()):.2f}",
             "Radii are capped at 4σ, the reach of the Gaussian kernel."))
    return [("σ", f"{sigma:g}", "The smoothing noise level (sidebar)."),
            ("CERTIFY abstains", f"{abstains:.1%}",
             f"Share of the view where it abstains (exact p_A < {abstain_p:.3f}): with n = {n:,} and "
             f"α = {alpha:g} the lower confidence bound cannot clear 1/2 there."),
            ("No majority (p_A < ½)", f"{no_answer:.1%}",
             "Share of the view where no class wins half of the noisy votes; only possible with 3 or more classes."),
            last]
