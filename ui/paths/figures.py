"""Pure figure builders for the activation-paths page (Jiang): numpy in, ``go.Figure`` out, or for the first
screen's charts (Figure 2, the float map, the counterexamples) ``ui.image_map`` pictures drawn without Plotly."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cert_core.metrics import certified_accuracy
from ui import image_map, theme
from ui.images import class_tints, colour_stops, png_uri, value_image

LAYER_COLORS = (theme.BLUE, theme.ORANGE, theme.GREEN, theme.PURPLE, theme.SKY, theme.VERMILLION, theme.YELLOW)


def ratio_chart(sigmas, table: np.ndarray, names, sigma_now: float, font: float = 15) -> image_map.LineChart:
    """Figure 2: fixed-neuron ratio between x and x + ε against σ, one line per layer, overall dashed, a dotted line
    at the sidebar's σ (table (len(sigmas), len(names) + 1), its last column all neurons). Drawn without Plotly
    (``ui.image_map``: the page's first screen, issue 17); hovering a point reads its layer, σ and ratio."""
    sigmas, table = np.asarray(sigmas, dtype=float), np.asarray(table, dtype=float)
    lines, legend = [], []
    for i, name in enumerate([*names, "all neurons"]):
        last = i == len(names)
        colour = theme.BLACK if last else LAYER_COLORS[i % len(LAYER_COLORS)]
        lines.append(image_map.Line(tuple(sigmas), tuple(table[:, i]), colour, 3, "9 6" if last else "",
                                    0 if last else 8, hover=tuple(f"{name}\nσ = {s:.2f}: {v:.1%} fixed"
                                                                  for s, v in zip(sigmas, table[:, i]))))
        legend.append(image_map.LegendEntry(name, colour, "line" if last else "line+dot", "9 6" if last else ""))
    lo = float(np.nanmin(table)) if np.isfinite(table).any() else 0.0
    hi = float(np.nanmax(table)) if np.isfinite(table).any() else 1.0
    pad_x, pad_y = 0.04 * float(sigmas.max() - sigmas.min() or 1), 0.06 * ((hi - lo) or 1.0)
    bounds = (float(sigmas.min()) - pad_x, float(sigmas.max()) + pad_x, lo - pad_y, hi + pad_y)
    lines.append(image_map.Line((sigma_now, sigma_now), bounds[2:], theme.GREY, 2, "2 4", text=f"σ = {sigma_now:g}"))
    return image_map.LineChart(bounds, "Fixed-neuron ratio per layer (Figure 2)", "noise σ of ε ~ N(0, σ²I)",
                               "fixed neurons (same pattern as x)", tuple(lines), tuple(legend), yformat=".0%",
                               font=font, box=(460, 430))


def float_map(bounds, ratio: np.ndarray, sigma: float, point=None, data=None,
              font: float = 15) -> image_map.MapPicture:
    """The float-neuron ratio between p and p + ε at every p of the plane (ratio (R, R) on the grid spanning
    ``bounds``, row i: y): each grid value one pixel of a Cividis PNG over [0, max] under SVG axes and a colour bar
    (``ui.image_map``: no Plotly on the page's first screen), the test points by class, x as a vermillion ×; the
    read-out gives the ratio of the grid point under the pointer."""
    ratio = np.asarray(ratio, dtype=float)
    zmax = float(np.nanmax(ratio)) if np.isfinite(ratio).any() and np.nanmax(ratio) > 0 else 1.0
    (x0, x1, y0, y1), (rows, cols) = bounds, ratio.shape
    dx, dy = (x1 - x0) / (cols - 1), (y1 - y0) / (rows - 1)
    bar = image_map.ColourBar(tuple(colour_stops("Cividis")), tuple((t / zmax, f"{t:.0%}") for t in
                                                                    image_map.nice_ticks(0.0, zmax)), "float")
    points, legend = [], []
    if data is not None:
        x, y = data
        for k in np.unique(y):
            colour = theme.class_color(int(k))
            points.append(image_map.Points(tuple(x[y == k, 0]), tuple(x[y == k, 1]), size=5, colour=colour))
            legend.append(image_map.LegendEntry(f"class {k}", colour, "dot"))
    if point is not None:
        points.append(image_map.Points((float(point[0]),), (float(point[1]),), "x", 14, theme.VERMILLION))
        legend.append(image_map.LegendEntry("x", theme.VERMILLION, "x"))
    return image_map.MapPicture(
        image=png_uri(value_image(ratio, 0.0, zmax, "Cividis"), upscale=max(1, 450 // cols)),
        image_bounds=(x0 - dx / 2, x1 + dx / 2, y0 - dy / 2, y1 + dy / 2), bounds=tuple(bounds),
        title=f"Float ratio between p and p + ε, σ = {sigma:g}", colour_bar=bar, scale_top=zmax,
        readout=image_map.Readout(float(x0), float(dx), float(y0), float(dy), tuple(map(tuple, ratio.tolist())),
                                  "float", ".1%"),
        points=tuple(points), legend=tuple(legend), box=MAP_BOX, font=font)


MAP_BOX = (470, 570)     # px at most: the maps' SVG box, about a half-page column at 1600 px or 1280 presenter


def _wire(s, t, z, color, name, lines: int = 16):
    """A wireframe: the surface hidden, its x- and y-contour lines drawn."""
    def axis(v):
        return dict(show=True, color=color, width=2, start=float(v.min()), end=float(v.max()),
                    size=float(v.max() - v.min()) / lines)
    # a one-colour scale: the legend draws a surface's swatch from its colour scale, not from its contour lines
    return go.Surface(x=s, y=t, z=z, hidesurface=True, showscale=False, name=name, showlegend=True,
                      colorscale=[[0, color], [1, color]], contours=dict(x=axis(s), y=axis(t)), hoverinfo="skip")


def _surf(s, t, z, colorscale, name, opacity=0.85, legend=True):
    return go.Surface(x=s, y=t, z=z, colorscale=colorscale, opacity=opacity, showscale=False, name=name,
                      showlegend=legend)


SURFACES_HEIGHT = 520          # px: Figure 6's three scenes
SURFACES_PRESENTER = 360       # presenter mode: a scene is ~310 px wide at 1280×720, a taller one only adds white space


def surfaces_figure(sf, eta: float, logit: str, axes=("s", "t"), height: int = SURFACES_HEIGHT) -> go.Figure:
    """Figure 6: (a) f as a wireframe over Z_fixed, (b) Z_float, (c) SC-RFP over Z_fixed."""
    fig = make_subplots(rows=1, cols=3, specs=[[{"type": "surface"}] * 3], horizontal_spacing=0.01,
                        subplot_titles=("(a) f (wireframe) over Z_fixed", "(b) Z_float = f − Z_fixed",
                                        f"(c) SC-RFP, η = {eta:g} (wireframe) over Z_fixed"))
    fig.add_trace(_surf(sf.s, sf.t, sf.fixed, "Blues", "Z_fixed"), 1, 1)
    fig.add_trace(_wire(sf.s, sf.t, sf.f, theme.VERMILLION, "f"), 1, 1)
    fig.add_trace(_surf(sf.s, sf.t, sf.float, "Oranges", "Z_float"), 1, 2)
    fig.add_trace(_surf(sf.s, sf.t, sf.fixed, "Blues", "Z_fixed", 0.6, legend=False), 1, 3)
    fig.add_trace(_wire(sf.s, sf.t, sf.scrfp, theme.GREEN, "SC-RFP"), 1, 3)
    ticks = dict(nticks=4, tickfont=dict(size=14))    # three small scenes: few ticks, so 14 px labels do not collide
    scene = dict(xaxis=dict(title=axes[0], **ticks), yaxis=dict(title=axes[1], **ticks),
                 zaxis=dict(title=logit, **ticks), aspectmode="cube",
                 camera=dict(eye=dict(x=1.9, y=-1.9, z=1.05), center=dict(x=-0.12, y=-0.12, z=0)))   # no title cut off
    fig.update_layout(scene=scene, scene2=scene, scene3=scene,
                      **theme.base_layout(height=height, margin=dict(l=0, r=0, t=40, b=0),
                                          legend=dict(orientation="h", y=-0.02, x=0.5, xanchor="center")))
    return fig


def network_figure(widths, floating, k_names, weights=None) -> go.Figure:
    """Figures 1/5: the MLP as a graph; float neurons and the paths through them in vermillion."""
    cols = len(widths)
    pos = [np.column_stack([np.full(w, i), (np.arange(w) - (w - 1) / 2) / max(widths)]) for i, w in enumerate(widths)]
    fig = go.Figure()
    xs, ys = ([], []), ([], [])                # per group (fixed, float): (E, 3) blocks of a, b, gap
    for i in range(cols - 1):
        hot_in = floating[i - 1] if 0 < i <= len(floating) else np.zeros(widths[i], bool)
        hot_out = floating[i] if i < len(floating) else np.zeros(widths[i + 1], bool)
        a, b = (v.ravel() for v in np.meshgrid(np.arange(widths[i]), np.arange(widths[i + 1]), indexing="ij"))
        hot = hot_in[a] | hot_out[b]                                                 # (E,) every edge
        y = np.stack([pos[i][a, 1], pos[i + 1][b, 1], np.full(a.size, np.nan)], 1)   # (E, 3)
        x = np.broadcast_to(np.array([i, i + 1, i], dtype=np.uint8), y.shape)         # the layers are x = 0, 1, …
        for k, sel in enumerate((~hot, hot)):
            xs[k].append(x[sel])
            ys[k].append(y[sel])
    # one SVG path per group (no WebGL context): x as uint8 layer indices, y as float32 with a NaN after each
    # edge (a gap), under half the bytes of Python lists with None
    for k, (name, color, width) in enumerate((("fixed paths", "rgba(80,80,80,0.10)", 1),
                                              ("float paths", "rgba(213,94,0,0.35)", 1.2))):
        fig.add_trace(go.Scatter(x=np.concatenate(xs[k]).ravel(), y=np.concatenate(ys[k]).ravel().astype(np.float32),
                                 mode="lines", name=name, hoverinfo="skip", line=dict(color=color, width=width)))
    for i, p in enumerate(pos):
        hot = floating[i - 1] if 0 < i <= len(floating) else np.zeros(len(p), bool)
        label = "input" if i == 0 else ("output" if i == cols - 1 else f"hidden {i}")
        fig.add_trace(go.Scatter(x=p[:, 0], y=p[:, 1], mode="markers", showlegend=False,
                                 marker=dict(size=9, color=np.where(hot, theme.VERMILLION, theme.BLUE),
                                             line=dict(color=theme.DARK, width=0.5)),
                                 hovertext=[f"{label} neuron {j}: {'FLOAT' if h else 'fixed'}" for j, h in
                                            enumerate(hot)], hoverinfo="text"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(**theme.base_layout(height=430, title=dict(text="Float neurons of the region and their "
                                                                 "paths (Figures 1, 5)", font_size=18),
                                          legend=dict(orientation="h", y=-0.05, x=0.5, xanchor="center")))
    return fig


def audit_picture(bounds, labels: np.ndarray, center, cohen_r: float, scrfp_r: float, counter=None,
                  eta: float = 0.0, title: str = "", font: float = 15) -> image_map.MapPicture:
    """The audited point, Cohen's (black) and SC-RFP's (vermillion, dashed) circles over the SC-RFP classifier's
    exact regions (labels (R, R) on the grid spanning ``bounds``, tinted by class at 45 % opacity), the segment to the
    counterexample x' (×); drawn without Plotly (``ui.image_map``), the read-out says the class under the pointer."""
    labels = np.asarray(labels)
    (x0, x1, y0, y1), (rows, cols) = bounds, labels.shape
    dx, dy = (x1 - x0) / (cols - 1), (y1 - y0) / (rows - 1)
    circles = (image_map.Circle(center[0], center[1], cohen_r, theme.BLACK, 3),
               image_map.Circle(center[0], center[1], scrfp_r, theme.VERMILLION, 3, "9 6"))
    legend = [image_map.LegendEntry("Cohen et al. radius", theme.BLACK),
              image_map.LegendEntry(f"SC-RFP claimed radius (η = {eta:g})", theme.VERMILLION, dash="9 6"),
              image_map.LegendEntry("x", theme.BLACK, "dot")]
    lines = ()
    if counter is not None:
        lines = (image_map.Line((float(center[0]), float(counter[0])), (float(center[1]), float(counter[1])),
                                theme.VERMILLION, 2, end_x=16),)
        legend.append(image_map.LegendEntry("counterexample x'", theme.VERMILLION, "x"))
    return image_map.MapPicture(
        image=png_uri(class_tints(labels, 1.0).astype(np.uint8), upscale=max(1, 450 // cols)), image_opacity=0.45,
        image_bounds=(x0 - dx / 2, x1 + dx / 2, y0 - dy / 2, y1 + dy / 2), bounds=tuple(bounds), title=title,
        readout=image_map.Readout(float(x0), float(dx), float(y0), float(dy), tuple(map(tuple, labels.tolist())),
                                  "SC-RFP predicts class", "d"),
        points=(image_map.Points((float(center[0]),), (float(center[1]),), size=12),), circles=circles,
        lines=lines, legend=tuple(legend), box=(MAP_BOX[0], MAP_BOX[1] - 70), margin=(52, 10, 50, 60), font=font)


def accuracy_figure(grid_r: np.ndarray, curves: dict) -> go.Figure:
    fig = go.Figure()
    styles = ((theme.BLUE, "solid"), (theme.VERMILLION, "dash"))
    for (name, acc), (color, dash) in zip(curves.items(), styles):
        fig.add_trace(go.Scatter(x=grid_r, y=acc, mode="lines", name=name, line=dict(color=color, width=3,
                                                                                    dash=dash, shape="hv")))
    fig.update_xaxes(title_text="radius r", rangemode="tozero")
    fig.update_yaxes(title_text="certified accuracy", tickformat=".0%", range=[0, 1.05])
    fig.update_layout(**theme.base_layout(height=380, title=dict(text="Certified accuracy, same points and σ",
                                                                 font_size=18),
                                          legend=dict(orientation="h", y=-0.2, x=0.5, xanchor="center")))
    return fig


def audit_accuracy_figure(both: dict) -> go.Figure:
    """Certified accuracy of both methods on the same points: ``both`` = {name: (radii, correct, ACR)}."""
    grid_r = np.linspace(0, max(max(v[0].max() for v in both.values()), 1e-3) * 1.05, 200)
    return accuracy_figure(grid_r, {name: certified_accuracy(v[0], v[1], grid_r) for name, v in both.items()})


def audit_rows(cohen, scrfp, both: dict) -> list[dict]:
    """The audit table: per method, how many points were certified, how many balls hold a counterexample."""
    return [{"method": r.method, "search": r.search, "certified": r.certified, "violations": r.violations,
             "violation rate": f"{r.violation_rate:.0%}", "ACR": round(both[k][2], 3)}
            for r, k in zip((cohen, scrfp), both)]


def window(center, radius: float, scale: float = 1.3) -> tuple[float, float, float, float]:
    """The square of half-width ``scale`` × ``radius`` around ``center`` (xmin, xmax, ymin, ymax)."""
    h = scale * radius
    return (center[0] - h, center[0] + h, center[1] - h, center[1] + h)
