"""Pure figure builders for the 2D maps: numpy in, ``go.Figure`` out (no Streamlit here).

Region maps are drawn as one PNG per map (a layout image in data coordinates): a 300 x 300 map
then costs ~30 kB instead of megabytes of heatmap JSON, so dragging sigma stays instant. Clicks are
caught by a transparent lattice of scatter points, which also carries the hover read-out.
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from cert_core.grid import GridView
from ui import theme

WHITE = np.array([255, 255, 255], dtype=np.float64)
STATUS_STYLE = {   # test-set marks: symbol, colour, legend label (open symbols take the colour as line)
    "certified": ("circle", theme.DARK, "certified at r"),
    "not certified": ("circle-open", theme.DARK, "correct, radius < r"),
    "abstain": ("diamond-open", "#5A5A5A", "abstains"),
    "wrong": ("x-thin-open", theme.VERMILLION, "wrong"),
}


# ----------------------------------------------------------------------------- images
def boundary_mask(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or upper neighbour has another label (a 1-pixel boundary line)."""  # (R, R)
    m = np.zeros(labels.shape, dtype=bool)
    m[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    m[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return m


def stripes(shape: tuple[int, int], period: int = 8, width: int = 3) -> np.ndarray:
    """Diagonal hatching, for regions that must read as 'no answer' even in greyscale."""
    i, j = np.indices(shape)
    return (i + j) % period < width


def class_tints(labels: np.ndarray, strength: np.ndarray | float) -> np.ndarray:
    """RGB of each pixel: its class colour mixed with white by ``strength`` in [0, 1]."""  # (R, R, 3)
    colors = np.array([theme.hex_rgb(theme.class_color(k)) for k in range(int(labels.max()) + 1)], float)
    s = np.broadcast_to(np.asarray(strength, dtype=float), labels.shape)[..., None]
    return WHITE * (1 - s) + colors[labels] * s


def base_image(labels: np.ndarray) -> np.ndarray:
    rgb = class_tints(labels, 0.42)
    rgb[boundary_mask(labels)] = theme.hex_rgb(theme.DARK)
    return rgb.astype(np.uint8)


def smoothed_image(probs: np.ndarray, abstain_p: float | None = None,
                   base_labels: np.ndarray | None = None) -> np.ndarray:
    """Top class tinted by confidence; p_A < 1/2 hatched dark grey; p_A < ``abstain_p`` hatched light.

    ``base_labels`` adds the base boundary as a dotted line (the overlay view).
    """
    k = probs.shape[0]
    labels = probs.argmax(0)
    p_a = probs.max(0)
    confidence = np.clip((p_a - 1 / k) / (1 - 1 / k), 0, 1)
    rgb = class_tints(labels, 0.15 + 0.55 * confidence)
    hatch = stripes(labels.shape)
    if abstain_p is not None:
        band = (p_a < abstain_p) & hatch
        rgb[band] = 0.55 * rgb[band] + 0.45 * np.array(theme.hex_rgb(theme.GREY))
    never = (p_a < 0.5) & hatch
    rgb[never] = theme.hex_rgb("#5A5A5A")
    rgb[boundary_mask(labels)] = theme.hex_rgb(theme.DARK)
    if base_labels is not None:
        i, j = np.indices(labels.shape)
        dotted = boundary_mask(base_labels) & ((i + j) // 3 % 2 == 0)
        rgb[dotted] = theme.hex_rgb(theme.BLACK)
    return rgb.astype(np.uint8)


def png_uri(rgb: np.ndarray, upscale: int = 2) -> str:
    """A data URI of ``rgb`` (row 0 = lowest y) as PNG, flipped so north is up."""
    img = np.repeat(np.repeat(rgb[::-1], upscale, 0), upscale, 1)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=False, compress_level=3)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


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
    lattice: tuple[np.ndarray, np.ndarray] | None = None  # (x (L, 2), hover text (L,)) click targets
    selected: tuple[float, float] | None = None
    circles: tuple[Circle, ...] = ()
    legend: tuple[tuple[str, str], ...] = ()          # extra legend swatches: (label, colour)
    height: int = theme.MAP_SIZE
    extras: dict = field(default_factory=dict)


def map_figure(spec: MapSpec) -> go.Figure:
    """A square map with equal axis scale, so certified circles stay circles."""
    xmin, xmax, ymin, ymax = spec.view.bounds
    fig = go.Figure()
    fig.add_layout_image(source=spec.image, xref="x", yref="y", x=xmin, y=ymax, sizex=xmax - xmin,
                         sizey=ymax - ymin, sizing="stretch", layer="below")
    if spec.lattice is not None:
        _add_lattice(fig, *spec.lattice)
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
    fig.update_layout(**theme.base_layout(
        title=dict(text=spec.title, x=0.5, xanchor="center", font_size=21), height=spec.height,
        clickmode="event+select", dragmode="pan", hovermode="closest", hoverdistance=12,
        # the legend sits on the figure's bottom edge (container coordinates), not a fraction of the
        # plot height below the axis, so it cannot slide up into the x₁ title when the plot is short
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.0, x=0.5, xanchor="center",
                    font_size=15),
        # fixed margins: both maps get the same plot area whatever their legends hold (presenter.scale
        # scales them with the fonts); b holds tick labels + axis title + two legend rows
        margin=dict(l=55, r=15, t=50, b=110, autoexpand=False), uirevision=spec.title))
    return fig


def _add_lattice(fig, pts: np.ndarray, text: np.ndarray) -> None:
    invisible = dict(color="rgba(0,0,0,0)", size=9)
    fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", marker=invisible, name="lattice",
                             text=text, hovertemplate="%{text}<extra></extra>", showlegend=False,
                             selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0))))


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


def lattice_points(view: GridView, per_axis: int = 61) -> tuple[np.ndarray, np.ndarray]:
    """Click targets on a coarse lattice, and the map pixel (i, j) under each."""
    xmin, xmax, ymin, ymax = view.bounds
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, per_axis), np.linspace(ymin, ymax, per_axis))
    pts = np.stack([gx.ravel(), gy.ravel()], 1)                           # (L, 2)
    hx, hy = view.spacing
    ij = np.stack([np.rint((pts[:, 1] - ymin) / hy), np.rint((pts[:, 0] - xmin) / hx)], 1).astype(int)
    return pts, ij


# ----------------------------------------------------------------------------- radius heatmap
def radius_figure(view: GridView, radius: np.ndarray, sigma: float, selected=None,
                  max_pixels: int = 150) -> go.Figure:
    """Heatmap of the exact certified radius, downsampled to ``max_pixels`` for a light payload."""
    step = max(1, int(math.ceil(view.resolution / max_pixels)))
    x, y, z = view.x[::step], view.y[::step], radius[::step, ::step]
    fig = go.Figure(go.Heatmap(
        x=x, y=y, z=np.round(z, 4), colorscale="Cividis", zmin=0, zmax=4 * sigma,
        colorbar=dict(title=dict(text="radius", side="right"), thickness=18),
        hovertemplate="(%{x:.2f}, %{y:.2f})<br>exact radius %{z:.3f}<extra></extra>"))
    fig.add_trace(go.Contour(x=x, y=y, z=z, showscale=False, contours=dict(start=sigma, end=3 * sigma,
                             size=sigma, coloring="none", showlabels=True, labelfont=dict(size=14, color="white")),
                             line=dict(color="white", width=1.5), hoverinfo="skip"))
    if selected is not None:
        fig.add_trace(go.Scatter(x=[selected[0]], y=[selected[1]], mode="markers", showlegend=False,
                                 marker=dict(symbol="star", size=18, color=theme.YELLOW,
                                             line=dict(color=theme.BLACK, width=2)), hoverinfo="skip"))
    xmin, xmax, ymin, ymax = view.bounds
    fig.update_xaxes(range=[xmin, xmax], constrain="domain", title_text="x₁", showgrid=False)
    fig.update_yaxes(range=[ymin, ymax], scaleanchor="x", scaleratio=1, constrain="domain",
                     title_text="x₂", showgrid=False)
    fig.update_layout(**theme.base_layout(
        title=dict(text=f"Exact certified radius σ/2·(Φ⁻¹p_A − Φ⁻¹p_B), σ = {sigma:g} (contours every σ)",
                   x=0.5, xanchor="center", font_size=19), height=theme.MAP_SIZE, showlegend=False))
    return fig
