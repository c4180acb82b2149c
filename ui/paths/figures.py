"""Pure figure builders for the activation-paths page (Jiang): numpy in, ``go.Figure`` out."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cert_core.metrics import certified_accuracy
from ui import theme

LAYER_COLORS = (theme.BLUE, theme.ORANGE, theme.GREEN, theme.PURPLE, theme.SKY, theme.VERMILLION, theme.YELLOW)


def ratio_figure(sigmas, table: np.ndarray, names, sigma_now: float) -> go.Figure:
    """Figure 2: fixed-neuron ratio between x and x + ε against σ, one line per layer, overall dashed."""
    fig = go.Figure()
    for i, name in enumerate(names):
        fig.add_trace(go.Scatter(x=sigmas, y=table[:, i], mode="lines+markers", name=name,
                                 line=dict(color=LAYER_COLORS[i % len(LAYER_COLORS)], width=3),
                                 hovertemplate=f"{name}<br>σ = %{{x:.2f}}: %{{y:.1%}} fixed<extra></extra>"))
    fig.add_trace(go.Scatter(x=sigmas, y=table[:, -1], mode="lines", name="all neurons",
                             line=dict(color=theme.BLACK, width=3, dash="dash"),
                             hovertemplate="all neurons<br>σ = %{x:.2f}: %{y:.1%} fixed<extra></extra>"))
    fig.add_vline(x=sigma_now, line=dict(color=theme.GREY, width=2, dash="dot"),
                  annotation_text=f"σ = {sigma_now:g}", annotation_font_size=15)
    fig.update_xaxes(title_text="noise σ of ε ~ N(0, σ²I)")
    fig.update_yaxes(title_text="fixed neurons (same pattern as x)", tickformat=".0%")
    fig.update_layout(**theme.base_layout(height=430, title=dict(text="Fixed-neuron ratio per layer (Figure 2)",
                                                                 font_size=19),
                                          legend=dict(orientation="h", y=-0.22, x=0.5, xanchor="center")))
    return fig


def float_heatmap(bounds, ratio: np.ndarray, sigma: float, point=None, data=None) -> go.Figure:
    """The float-neuron ratio between p and p + ε at every p of the plane."""
    xs = np.linspace(bounds[0], bounds[1], ratio.shape[1])
    ys = np.linspace(bounds[2], bounds[3], ratio.shape[0])
    fig = go.Figure(go.Heatmap(x=xs, y=ys, z=ratio, colorscale="Cividis", zmin=0,
                               colorbar=dict(title="float", tickformat=".0%"),
                               hovertemplate="(%{x:.2f}, %{y:.2f}): %{z:.1%} float<extra></extra>"))
    if data is not None:
        x, y = data
        for k in np.unique(y):
            fig.add_trace(go.Scatter(x=x[y == k, 0], y=x[y == k, 1], mode="markers", name=f"class {k}",
                                     marker=dict(size=5, color=theme.class_color(int(k)),
                                                 line=dict(color="white", width=0.5)), hoverinfo="skip"))
    if point is not None:
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name="x", hoverinfo="skip",
                                 marker=dict(symbol="x", size=14, color=theme.VERMILLION, line=dict(width=2))))
    _square(fig, bounds, f"Float ratio between p and p + ε, σ = {sigma:g}")
    return fig


def _square(fig, bounds, title):
    fig.update_xaxes(range=list(bounds[:2]), constrain="domain", title_text="x₁")
    fig.update_yaxes(range=list(bounds[2:]), scaleanchor="x", scaleratio=1, constrain="domain", title_text="x₂")
    fig.update_layout(**theme.base_layout(height=theme.MAP_SIZE, title=dict(text=title, font_size=18),
                                          legend=dict(orientation="h", y=-0.15, x=0.5, xanchor="center")))


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


def audit_figure(bounds, labels: np.ndarray, center, cohen_r: float, scrfp_r: float, counter=None,
                 eta: float = 0.0, title: str = "") -> go.Figure:
    """The audited point, Cohen's and SC-RFP's circles over the SC-RFP classifier's exact regions."""
    xs = np.linspace(bounds[0], bounds[1], labels.shape[1])
    ys = np.linspace(bounds[2], bounds[3], labels.shape[0])
    k = int(labels.max()) + 1
    scale = [[i / max(k - 1, 1), theme.class_color(i)] for i in range(k)]
    fig = go.Figure(go.Heatmap(x=xs, y=ys, z=labels, colorscale=scale if k > 1 else "Blues", showscale=False,
                               opacity=0.45, hovertemplate="SC-RFP predicts class %{z}<extra></extra>"))
    t = np.linspace(0, 2 * np.pi, 181)
    for r, name, color, dash in ((cohen_r, "Cohen et al. radius", theme.BLACK, "solid"),
                                 (scrfp_r, f"SC-RFP claimed radius (η = {eta:g})", theme.VERMILLION, "dash")):
        fig.add_trace(go.Scatter(x=center[0] + r * np.cos(t), y=center[1] + r * np.sin(t), mode="lines", name=name,
                                 line=dict(color=color, width=3, dash=dash), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[center[0]], y=[center[1]], mode="markers", name="x", hoverinfo="skip",
                             marker=dict(size=12, color=theme.BLACK)))
    if counter is not None:
        fig.add_trace(go.Scatter(x=[center[0], counter[0]], y=[center[1], counter[1]], mode="lines+markers",
                                 name="counterexample x'", line=dict(color=theme.VERMILLION, width=2),
                                 marker=dict(symbol=["circle", "x"], size=[1, 16], color=theme.VERMILLION)))
    _square(fig, bounds, title)
    return fig


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
