"""Pure figure builders for the decision-boundaries page: numpy in, figure out (no Streamlit here).

The two clickable maps (regions as PNG from ``ui.images``, data, test marks, the selected point and its circles),
the exact radius map (a PNG too) and the inspector's noise cloud as ``ui.image_map`` pictures; the vote histogram
and the Monte Carlo check as Plotly figures.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from cert_core.grid_view import GridView
from ui import image_map, theme
from ui.images import base_image, boundary_mask, colour_ramp, lattice_values, png_uri

STATUS_STYLE = {   # test-set marks: symbol, colour, legend label (ui.image_map.Points symbols)
    "certified": ("dot", theme.DARK, "certified at r"),
    "not certified": ("circle-open", theme.DARK, "correct, radius < r"),
    "abstain": ("diamond-open", "#5A5A5A", "abstains"),
    "wrong": ("x", theme.VERMILLION, "wrong"),
}
# Plotly's dash names (the inspector's circle styles, ui/theme.py) as SVG dash arrays at the maps' 3 px lines: the
# patterns Plotly draws for a 3 px line, so a circle on a map looks like its twin in the (Plotly) noise cloud
SVG_DASH = {"solid": "", "dot": "3 3", "dash": "9 9", "longdash": "15 15", "dashdot": "9 3 3 3",
            "longdashdot": "15 6 3 6"}
MAP_BOX = (560, 600)            # px at most: two maps side by side at 1600 px, both on a 1280×720 projector
OVERLAY_BOX = (680, 700)        # the one map of the overlay layout
MAP_MARGIN = (52, 12, 50, 66)   # around the square plot: y ticks, the title, x ticks and title (legend: below)


# ----------------------------------------------------------------------------- the map
@dataclass(frozen=True)
class Circle:
    radius: float
    name: str
    color: str
    dash: str = "solid"


@dataclass(frozen=True, eq=False)
class MapSpec:
    title: str
    view: GridView
    image: str                                        # png_uri of the regions
    class_names: tuple[str, ...]
    points: tuple[np.ndarray, np.ndarray] | None = None   # (x (M, 2), labels (M,)) data points
    marks: tuple[np.ndarray, np.ndarray] | None = None    # (x (M, 2), status (M,) str) test marks
    readout: image_map.Readout | None = None          # hover read-out (a click gives the exact coordinates)
    selected: tuple[float, float] | None = None
    circles: tuple[Circle, ...] = ()
    legend: tuple[tuple[str, str], ...] = ()          # extra legend swatches: (label, colour)


def map_picture(spec: MapSpec, font: float = image_map.FONT, overlay: bool = False) -> image_map.MapPicture:
    """A square map with equal axis scales (certified circles stay circles): the regions' picture (its pixels on the
    grid points, as the exact maps), data points or test marks, the selected point as a star with its circles, and a
    legend below (``ui.image_map``: no Plotly, so a σ step redraws a picture and a few SVG elements)."""
    xmin, xmax, ymin, ymax = spec.view.bounds
    points, legend = [], []
    if spec.points is not None:
        x, labels = spec.points
        for k, name in enumerate(spec.class_names):
            sel = labels == k
            if sel.any():
                points.append(image_map.Points(tuple(x[sel, 0]), tuple(x[sel, 1]), size=8,
                                               colour=theme.class_color(k), outline="white"))
                legend.append(image_map.LegendEntry(name, theme.class_color(k), "dot"))
    if spec.marks is not None:
        x, status = spec.marks
        for key, (symbol, colour, label) in STATUS_STYLE.items():
            sel = status == key
            if sel.any():
                points.append(image_map.Points(tuple(x[sel, 0]), tuple(x[sel, 1]), symbol,
                                               12 if key == "wrong" else 9, colour,
                                               outline="white" if symbol == "dot" else ""))
                legend.append(image_map.LegendEntry(f"{label} ({int(sel.sum())})", colour, symbol))
    legend += [image_map.LegendEntry(label, colour, "square") for label, colour in spec.legend]
    circles = ()
    if spec.selected is not None:
        px, py = spec.selected
        circles = tuple(image_map.Circle(px, py, c.radius, c.color, 3, SVG_DASH.get(c.dash, ""))
                        for c in spec.circles if math.isfinite(c.radius) and c.radius > 0)
        points.append(image_map.Points((px,), (py,), "star", 22, theme.YELLOW))
    hx, hy = 0.5 * np.asarray(spec.view.spacing)
    return image_map.MapPicture(
        image=spec.image, image_bounds=(xmin - hx, xmax + hx, ymin - hy, ymax + hy), bounds=spec.view.bounds,
        title=spec.title, readout=spec.readout, points=tuple(points), circles=circles, legend=tuple(legend),
        box=OVERLAY_BOX if overlay else MAP_BOX, margin=MAP_MARGIN, font=font)


# ----------------------------------------------------------------------------- radius map
RADIUS_LEVELS = 3     # level lines at σ, 2σ, 3σ (radii are capped at 4σ)
RADIUS_COLORS = plotly.colors.sequential.Cividis   # the picture's colours and its colour bar's stops


def radius_image(radius: np.ndarray, sigma: float) -> str:
    """The exact radius map as one PNG (``png_uri``, pixel for pixel): Cividis from 0 to 4σ, with the level lines
    r = σ, 2σ, 3σ as white 1-pixel lines (the map's own pixels)."""
    rgb = colour_ramp(radius / (4 * sigma), RADIUS_COLORS)                # (R, R, 3)
    levels = np.clip(np.floor(radius / sigma), 0, RADIUS_LEVELS)           # (R, R) 0..3
    rgb[boundary_mask(levels)] = 255
    return png_uri(rgb.astype(np.uint8), upscale=1)


def radius_title(sigma: float) -> str:
    return f"Exact certified radius, σ = {sigma:g}"


RADIUS_CAPTION = ("The exact certified radius R = σ/2·(Φ⁻¹(p_A) − Φ⁻¹(p_B)) of g at every pixel (Cohen et al., 2019, "
                  "Theorem 1, with the exact p_A and p_B), capped at 4σ; the white lines are R = σ, 2σ and 3σ.")


def radius_picture(view: GridView, radius: np.ndarray, sigma: float, selected=None, image: str | None = None,
                   font: float = image_map.FONT) -> image_map.MapPicture:
    """The exact certified radius map: ``image`` (``radius_image``, drawn here when not given) over [0, 4σ] with a
    colour bar ticked at the level lines (0, σ, 2σ, 3σ, 4σ), and the hover read-out on the maps' 61 × 61 lattice
    (``ui.images.lattice_values``: the exact radius at the map pixel under each lattice point)."""
    steps, z = lattice_values(view, radius)
    xmin, xmax, ymin, ymax = view.bounds
    hx, hy = 0.5 * np.asarray(view.spacing)        # the PNG's pixels are the map's pixels, centred on the grid
    bar = image_map.ColourBar(tuple(RADIUS_COLORS), tuple((k / 4, f"{k * sigma:g}") for k in range(5)), "radius")
    return image_map.MapPicture(
        image=image or radius_image(radius, sigma), image_bounds=(xmin - hx, xmax + hx, ymin - hy, ymax + hy),
        bounds=view.bounds, title=radius_title(sigma), colour_bar=bar, scale_top=4 * sigma,
        readout=image_map.Readout(*steps, z.astype(np.float32), "exact radius"),
        points=() if selected is None else (image_map.Points((selected[0],), (selected[1],), "star", 22,
                                                             theme.YELLOW),),
        box=MAP_BOX, font=font)


# ----------------------------------------------------------------------------- the inspector's charts
def noise_cloud(point, samples: np.ndarray, sample_labels: np.ndarray, local_labels: np.ndarray,
                local_view: GridView, circles: tuple[Circle, ...], class_names, sigma: float,
                font: float = image_map.FONT) -> image_map.MapPicture:
    """PREDICT in one picture: noisy copies x + N(0, σ²I) of the point (samples (M, 2), coloured by f's vote
    ``sample_labels`` (M,)) over f's regions around it (``local_labels`` on ``local_view``), the point as a star and
    its ``circles``, a legend with the vote counts and each circle's radius (a ``ui.image_map`` picture: no Plotly
    for the first answer of a click)."""
    points, legend = [], []
    for k, name in enumerate(class_names):
        sel = sample_labels == k
        if sel.any():
            points.append(image_map.Points(tuple(samples[sel, 0]), tuple(samples[sel, 1]), size=6,
                                           colour=theme.class_color(k), opacity=0.85, outline="white"))
            legend.append(image_map.LegendEntry(f"f votes {name} ({int(sel.sum())})", theme.class_color(k), "dot"))
    px, py = point
    drawn = [c for c in circles if math.isfinite(c.radius) and c.radius > 0]
    points.append(image_map.Points((px,), (py,), "star", 22, theme.YELLOW))
    legend += [image_map.LegendEntry(f"{c.name}: {c.radius:.3f}", c.color, "line", SVG_DASH.get(c.dash, ""))
               for c in drawn]
    return image_map.MapPicture(
        image=png_uri(base_image(local_labels), upscale=2), image_bounds=local_view.bounds, bounds=local_view.bounds,
        title=f"Noise cloud x + N(0, σ²I), σ = {sigma:g}", image_opacity=0.75, points=tuple(points),
        circles=tuple(image_map.Circle(px, py, c.radius, c.color, 3, SVG_DASH.get(c.dash, "")) for c in drawn),
        legend=tuple(legend), box=MAP_BOX, margin=MAP_MARGIN, font=font)


def vote_histogram(counts, class_names, n: int, p_lower: float, prediction: int, counts0=None) -> go.Figure:
    """Votes of f among the n estimation samples, with the n/2 line CERTIFY must clear.

    CERTIFY (Cohen et al., 2019, Alg. 2) picks c_A from the n₀ *selection* votes ``counts0`` and
    only then bounds p_A with the n estimation votes, so c_A need not be the tallest bar here: the
    subtitle says which class was picked and why."""
    counts = np.asarray(counts)
    colors = [theme.class_color(k) for k in range(len(counts))]
    # the counts go under the bars with the class names: a count above its bar would sit on the n/2 line
    # whenever the bar ends near n/2, exactly where the vote matters
    labels = [f"{name}<br><b>{c:,}</b> votes" for name, c in zip(class_names, counts)]
    fig = go.Figure(go.Bar(x=labels, y=counts, marker_color=colors, customdata=list(class_names),
                           hovertemplate="%{customdata}: %{y:,} votes<extra></extra>"))
    fig.add_hline(y=n / 2, line=dict(color=theme.DARK, dash="dash", width=2),
                  annotation_text="n/2", annotation_position="top left", annotation_font_size=15)
    verdict = "abstains" if prediction < 0 else f"predicts {class_names[prediction]}"
    picked = ""
    if counts0 is not None and len(counts0):
        c_a = int(np.argmax(counts0))
        picked = (f"<br><span style='font-size:14px'>c_A = {class_names[c_a]}, picked by the n₀ = "
                  f"{int(np.sum(counts0)):,} selection samples ({int(counts0[c_a]):,} votes)</span>")
    fig.update_yaxes(range=[0, n * 1.15], title_text="votes", tickformat=",")
    fig.update_layout(**theme.base_layout(
        # subtitles in readable pixels (a <sup> is 70% of the title: 13 px, too small for a projector)
        title=dict(text=f"Votes of f on n = {n:,} noisy copies<br><span style='font-size:16px'>p̲_A = {p_lower:.4f} "
                        f"→ CERTIFY {verdict}</span>{picked}", x=0.5, xanchor="center", font_size=19),
        margin=dict(l=10, r=10, b=10, t=105 if picked else 60), height=theme.MAP_SIZE - 120, showlegend=False,
        bargap=0.35))
    return fig


def monte_carlo_agreement(exact, estimate, se, slack: float, n: int) -> go.Figure:
    """Convolved p_A against its Monte Carlo estimate, with the 3-standard-error band."""
    within = np.abs(estimate - exact) <= 3 * se + slack
    p = np.linspace(0, 1, 201)
    band = 3 * np.sqrt(np.maximum(p * (1 - p), 0.25 / n) / n) + slack
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.r_[p, p[::-1]], y=np.r_[p + band, (p - band)[::-1]], fill="toself",
                             fillcolor="rgba(86,180,233,0.25)", line=dict(width=0), name="± 3 SE + grid error",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color=theme.DARK, dash="dash"),
                             name="agreement", hoverinfo="skip"))
    for mask, name, color, symbol in ((within, "inside", theme.BLUE, "circle"),
                                      (~within, "outside", theme.VERMILLION, "x")):
        fig.add_trace(go.Scatter(x=exact[mask], y=estimate[mask], mode="markers", name=f"{name} ({mask.sum()})",
                                 marker=dict(color=color, size=9, symbol=symbol),
                                 hovertemplate="exact %{x:.4f}<br>Monte Carlo %{y:.4f}<extra></extra>"))
    lo = float(min(exact.min(), estimate.min(), 0.5)) - 0.02
    # constrain="domain": the equal scale shrinks the plot instead of stretching an axis past p_A = 1
    fig.update_xaxes(range=[lo, 1.01], title_text="p_A from the convolution (exact)", constrain="domain")
    fig.update_yaxes(range=[lo, 1.01], title_text=f"p_A from {n:,} samples", scaleanchor="x", scaleratio=1,
                     constrain="domain")
    fig.update_layout(**theme.base_layout(height=480, title=dict(text="Monte Carlo vs exact", font_size=18),
                                          legend=dict(orientation="h", y=-0.18, x=0.5, xanchor="center")))
    return fig
