"""Pure figure builders for the decision-boundaries page: numpy in, ``go.Figure`` out (no Streamlit here).

The two clickable maps (regions as PNG from ``ui.images``, data, test marks, the selected point and its
circles), the exact radius map (a PNG too), and the inspector's noise cloud, vote histogram and Monte Carlo check.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from cert_core.grid_view import GridView
from ui import theme
from ui.images import base_image, boundary_mask, colour_ramp, lattice_points, png_uri

STATUS_STYLE = {   # test-set marks: symbol, colour, legend label (open symbols take the colour as line)
    "certified": ("circle", theme.DARK, "certified at r"),
    "not certified": ("circle-open", theme.DARK, "correct, radius < r"),
    "abstain": ("diamond-open", "#5A5A5A", "abstains"),
    "wrong": ("x-thin-open", theme.VERMILLION, "wrong"),
}


# ----------------------------------------------------------------------------- the map
@dataclass(frozen=True)
class Circle:
    radius: float
    name: str
    color: str
    dash: str = "solid"


@dataclass(frozen=True, eq=False)
class Readout:
    """A map's hover read-out on a coarse S × S lattice (an invisible heatmap)."""
    x: np.ndarray                     # (S,) lattice x
    y: np.ndarray                     # (S,) lattice y
    text: np.ndarray                  # (S, S) class name at (y[i], x[j])
    p_a: np.ndarray                   # (S, S) exact p_A of g there (zeros for f)
    radius: np.ndarray | None         # (S, S) exact certified radius there (None for f)
    template: str                     # hover template


@dataclass(frozen=True, eq=False)
class MapSpec:
    title: str
    view: GridView
    image: str                                        # png_uri of the regions
    class_names: tuple[str, ...]
    points: tuple[np.ndarray, np.ndarray] | None = None   # (x (M, 2), labels (M,)) data points
    marks: tuple[np.ndarray, np.ndarray] | None = None    # (x (M, 2), status (M,) str) test marks
    readout: Readout | None = None    # hover read-out (clicks arrive through ui.plot_clicks)
    selected: tuple[float, float] | None = None
    circles: tuple[Circle, ...] = ()
    legend: tuple[tuple[str, str], ...] = ()          # extra legend swatches: (label, colour)
    height: int = theme.MAP_SIZE
    revision: str = ""        # Plotly's uirevision (zoom kept across reruns): one name for every σ; "" = the title


READOUT_NAME = "read-out"     # the read-out trace's name (ui/boundaries/charts.py finds it by name)


def map_figure(spec: MapSpec) -> go.Figure:
    """A square map with equal axis scale, so certified circles stay circles."""
    xmin, xmax, ymin, ymax = spec.view.bounds
    # the layout at construction (its template is the costliest part of a figure): the same JSON for ~25 % less
    # CPU than update_layout after the traces (bench/boundaries_rerun.py)
    fig = go.Figure(layout=theme.base_layout(
        title=dict(text=spec.title, x=0.5, xanchor="center", font_size=21), height=spec.height,
        clickmode="event", dragmode="pan", hovermode="closest", hoverdistance=12,
        # the legend sits on the figure's bottom edge (container coordinates), not a fraction of the
        # plot height below the axis, so it cannot slide up into the x₁ title when the plot is short
        # two entries per row at a fixed half width: Plotly otherwise gives every entry the widest one's width,
        # and the long abstain swatch put each class on its own row, over the x₁ title (presenter fonts)
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.0, x=0.5, xanchor="center",
                    font_size=15, entrywidth=0.5, entrywidthmode="fraction"),
        # fixed margins: both maps get the same plot area whatever their legends hold (presenter.scale
        # scales them with the fonts); b holds tick labels + axis title + two legend rows
        margin=dict(l=55, r=15, t=50, b=110, autoexpand=False), uirevision=spec.revision or spec.title))
    fig.add_layout_image(source=spec.image, xref="x", yref="y", x=xmin, y=ymax, sizex=xmax - xmin,
                         sizey=ymax - ymin, sizing="stretch", layer="below")
    if spec.readout is not None:
        _add_readout(fig, spec.readout)
    if spec.points is not None:
        _add_points(fig, *spec.points, spec.class_names)
    if spec.marks is not None:
        _add_marks(fig, *spec.marks)
    for label, color in spec.legend:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=label, hoverinfo="skip",
                                 marker=dict(symbol="square", size=16, color=color,
                                             line=dict(color=theme.DARK, width=1))))
    if spec.selected is not None:
        _add_selected(fig, spec.selected, spec.circles)
    fig.add_shape(type="rect", x0=xmin, x1=xmax, y0=ymin, y1=ymax, line=dict(color=theme.DARK, width=1.5),
                  layer="above")
    pad = 0.5 * max(spec.view.spacing)
    fig.update_xaxes(range=[xmin - pad, xmax + pad], constrain="domain", showgrid=False, zeroline=False,
                     title_text="x₁", ticks="outside", dtick=1, title_standoff=4)
    fig.update_yaxes(range=[ymin - pad, ymax + pad], scaleanchor="x", scaleratio=1, constrain="domain",
                     showgrid=False, zeroline=False, title_text="x₂", ticks="outside", dtick=1, title_standoff=4)
    return fig


def _add_readout(fig, r: Readout) -> None:
    """One transparent heatmap: Plotly hovers it cell by cell (one image, where a marker per point cost the browser
    most of a σ step's work)."""
    fig.add_trace(go.Heatmap(x=r.x, y=r.y, z=r.p_a, text=r.text, customdata=r.radius, hovertemplate=r.template,
                             opacity=0, showscale=False,
                             name=READOUT_NAME, showlegend=False))


def _add_points(fig, x: np.ndarray, labels: np.ndarray, class_names) -> None:
    for k, name in enumerate(class_names):
        sel = labels == k
        if not sel.any():
            continue
        fig.add_trace(go.Scatter(
            x=x[sel, 0], y=x[sel, 1], mode="markers", name=name,
            marker=dict(color=theme.class_color(k), size=8, line=dict(color="white", width=1.2)),
            hovertemplate=f"{name}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
            unselected=dict(marker=dict(opacity=1)), selected=dict(marker=dict(opacity=1))))


def _add_marks(fig, x: np.ndarray, status: np.ndarray) -> None:
    for key, (symbol, color, label) in STATUS_STYLE.items():
        sel = status == key
        if not sel.any():
            continue
        line = dict(color="white", width=1.2) if key == "certified" else dict(color=color, width=2.5)
        fig.add_trace(go.Scatter(x=x[sel, 0], y=x[sel, 1], mode="markers", name=f"{label} ({sel.sum()})",
                                 marker=dict(symbol=symbol, size=12 if key == "wrong" else 9, color=color, line=line),
                                 hovertemplate=f"{label}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
                                 unselected=dict(marker=dict(opacity=1)), selected=dict(marker=dict(opacity=1))))


def _add_selected(fig, point, circles) -> None:
    px, py = point
    for c in circles:
        if not (math.isfinite(c.radius) and c.radius > 0):
            continue
        fig.add_shape(type="circle", x0=px - c.radius, x1=px + c.radius, y0=py - c.radius, y1=py + c.radius,
                      line=dict(color=c.color, width=3, dash=c.dash), xref="x", yref="y",
                      name=f"{c.name}: {c.radius:.3f}")
    fig.add_trace(go.Scatter(x=[px], y=[py], mode="markers", name="selected point", showlegend=False,
                             marker=dict(symbol="star", size=20, color=theme.YELLOW,
                                         line=dict(color=theme.BLACK, width=2)),
                             hovertemplate="selected (%{x:.3f}, %{y:.3f})<extra></extra>"))


# ----------------------------------------------------------------------------- radius map
RADIUS_LEVELS = 3     # level lines at σ, 2σ, 3σ (radii are capped at 4σ)
RADIUS_COLORS = plotly.colors.sequential.Cividis   # the picture's colours and its colour bar's stops


def radius_image(radius: np.ndarray, sigma: float) -> str:
    """The exact radius map as one PNG (``png_uri``, pixel for pixel): Cividis from 0 to 4σ, with the level lines
    r = σ, 2σ, 3σ as white 1-pixel lines (the map's own pixels, as the level lines were before). A picture instead
    of a float heatmap: the tab's figure sends ~90 kB where the 150 × 150 float heatmap sent ~175 kB of JSON on
    every σ step and click (bench/boundaries_rerun.py)."""
    rgb = colour_ramp(radius / (4 * sigma), RADIUS_COLORS)                # (R, R, 3)
    levels = np.clip(np.floor(radius / sigma), 0, RADIUS_LEVELS)           # (R, R) 0..3
    rgb[boundary_mask(levels)] = 255
    return png_uri(rgb.astype(np.uint8), upscale=1)


def radius_title(sigma: float) -> str:
    return f"Exact certified radius σ/2·(Φ⁻¹p_A − Φ⁻¹p_B), σ = {sigma:g} (lines every σ)"


def radius_readout(view: GridView, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The radius map's hover read-out: lattice x (S,), y (S,) and the exact radius at the pixel under each (S, S)."""
    pts, ij = lattice_points(view)
    side = int(round(np.sqrt(len(pts))))
    return pts[:side, 0], pts[::side, 1], radius[ij[:, 0], ij[:, 1]].astype(np.float32).reshape(side, side)


def radius_figure(view: GridView, radius: np.ndarray, sigma: float, selected=None,
                  image: str | None = None) -> go.Figure:
    """The exact certified radius map: ``image`` (``radius_image``, drawn here when not given) under a colour bar
    with its stops, and the hover read-out on the maps' 61 × 61 lattice (``ui.images.lattice_points``: an invisible
    heatmap of the exact radius at the map pixel under each lattice point)."""
    x, y, z = radius_readout(view, radius)
    scale = [[i / (len(RADIUS_COLORS) - 1), c] for i, c in enumerate(RADIUS_COLORS)]
    xmin, xmax, ymin, ymax = view.bounds
    fig = go.Figure(layout=theme.base_layout(    # the layout at construction: cheaper (see map_figure)
        title=dict(text=radius_title(sigma), x=0.5, xanchor="center", font_size=19), height=theme.MAP_SIZE,
        showlegend=False))
    fig.add_trace(go.Heatmap(
        x=x, y=y, z=z,
        colorscale=scale, zmin=0, zmax=4 * sigma, opacity=0, showscale=True,
        colorbar=dict(title=dict(text="radius", side="right"), thickness=18),
        hovertemplate="(%{x:.2f}, %{y:.2f})<br>exact radius %{z:.3f}<extra></extra>"))
    half = 0.5 * np.asarray(view.spacing)          # the PNG's pixels are the map's pixels, centred on the grid
    fig.add_layout_image(source=image or radius_image(radius, sigma), xref="x", yref="y", x=xmin - half[0],
                         y=ymax + half[1], sizex=xmax - xmin + 2 * half[0], sizey=ymax - ymin + 2 * half[1],
                         sizing="stretch", layer="below")
    if selected is not None:
        fig.add_trace(go.Scatter(x=[selected[0]], y=[selected[1]], mode="markers", showlegend=False,
                                 marker=dict(symbol="star", size=18, color=theme.YELLOW,
                                             line=dict(color=theme.BLACK, width=2)), hoverinfo="skip"))
    fig.update_xaxes(range=[xmin, xmax], constrain="domain", title_text="x₁", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[ymin, ymax], scaleanchor="x", scaleratio=1, constrain="domain",
                     title_text="x₂", showgrid=False, zeroline=False)
    return fig


# ----------------------------------------------------------------------------- the inspector's charts
def noise_cloud(point, samples: np.ndarray, sample_labels: np.ndarray, local_labels: np.ndarray,
                local_view: GridView, circles: tuple[Circle, ...], class_names, sigma: float) -> go.Figure:
    """PREDICT in one picture: noisy copies of the point, coloured by the base classifier's vote."""
    xmin, xmax, ymin, ymax = local_view.bounds
    fig = go.Figure()
    fig.add_layout_image(source=png_uri(base_image(local_labels), upscale=2), xref="x", yref="y", x=xmin,
                         y=ymax, sizex=xmax - xmin, sizey=ymax - ymin, sizing="stretch", layer="below",
                         opacity=0.75)
    for k, name in enumerate(class_names):
        sel = sample_labels == k
        if sel.any():
            fig.add_trace(go.Scatter(x=samples[sel, 0], y=samples[sel, 1], mode="markers",
                                     name=f"f votes {name} ({sel.sum()})", hoverinfo="skip",
                                     marker=dict(size=6, color=theme.class_color(k), opacity=0.85,
                                                 line=dict(color="white", width=0.6))))
    px, py = point
    for c in circles:
        if math.isfinite(c.radius) and c.radius > 0:
            fig.add_shape(type="circle", x0=px - c.radius, x1=px + c.radius, y0=py - c.radius,
                          y1=py + c.radius, line=dict(color=c.color, width=3, dash=c.dash),
                          showlegend=True, name=f"{c.name}: {c.radius:.3f}")
    fig.add_trace(go.Scatter(x=[px], y=[py], mode="markers", name="x", showlegend=False, hoverinfo="skip",
                             marker=dict(symbol="star", size=20, color=theme.YELLOW,
                                         line=dict(color=theme.BLACK, width=2))))
    fig.update_xaxes(range=[xmin, xmax], constrain="domain", showgrid=False, zeroline=False, title_text="x₁")
    fig.update_yaxes(range=[ymin, ymax], scaleanchor="x", scaleratio=1, constrain="domain",
                     showgrid=False, zeroline=False, title_text="x₂")
    entries = len(class_names) + sum(1 for c in circles if math.isfinite(c.radius) and c.radius > 0)
    fig.update_layout(**theme.base_layout(   # grow with the legend so the square plot keeps its size
        title=dict(text=f"Noise cloud x + N(0, σ²I), σ = {sigma:g}", x=0.5, xanchor="center", font_size=19),
        height=470 + 22 * entries, legend=dict(orientation="h", y=-0.16, x=0.5, xanchor="center",
                                                yanchor="top", font_size=14)))
    return fig


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
