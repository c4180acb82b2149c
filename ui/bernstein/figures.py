"""Figures of the Bernstein page: pure functions returning go.Figure (Okabe-Ito colours, equal axes)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cert_core.metrics import certified_accuracy
from ui import theme


def _class_scale(k: int) -> list:
    """A discrete colour scale for integer labels 0..k-1 (z normalised to [0, 1])."""
    out = []
    for c in range(k):
        color = theme.class_color(c)
        out += [[c / k, color], [(c + 1) / k, color]]
    return out


MAP_HEIGHT = 490                                   # px: the three 2D panels share height and margins
MAP_MARGIN = dict(l=75, r=15, t=50, b=175)         # left: '0.62'-wide ticks; bottom: axis title, 4 legend rows


def regions(labels: np.ndarray, num_classes: int, title: str, lattice_n: int | None = None,
            point=None, circles=(), class_names=(), extent=(0.0, 1.0, 0.0, 1.0), window=None) -> go.Figure:
    """Decision regions (labels (R, R), [i, j] = (y_i, x_j) on ``extent`` = (u1 min, u1 max, u2 min, u2 max) of
    [0,1]^2), the (n+1)^2 lattice points inside it, radius circles and the outline of a zoom ``window``.

    ``circles``: (radius in unit-box units, name, colour, dash) around ``point`` (unit-box coordinates).
    Every panel has the same height and margins (legend pinned to the bottom), so side by side they match."""
    x0, x1, y0, y1 = extent
    r = labels.shape[0]
    names = np.asarray(class_names or [f"class {k}" for k in range(num_classes)])
    fig = go.Figure(go.Heatmap(x=np.linspace(x0, x1, r), y=np.linspace(y0, y1, r),
                               z=labels / max(num_classes, 1) + 0.5 / num_classes,
                               zmin=0, zmax=1, colorscale=_class_scale(num_classes), showscale=False, opacity=0.55,
                               customdata=names[labels], hovertemplate="u=(%{x:.3f}, %{y:.3f})<br>%{customdata}"
                               "<extra></extra>"))
    if lattice_n is not None and lattice_n <= 60:
        g = np.arange(lattice_n + 1) / lattice_n
        gx, gy = (a.ravel() for a in np.meshgrid(g, g))
        inside = (gx >= x0) & (gx <= x1) & (gy >= y0) & (gy <= y1)
        if inside.any():
            fig.add_trace(go.Scatter(x=gx[inside], y=gy[inside], mode="markers", name=f"lattice k/{lattice_n}",
                                     marker=dict(size=max(3, 9 - lattice_n // 6), color=theme.DARK, opacity=0.6),
                                     hoverinfo="skip"))
    if point is not None:       # below the circles: a small sound radius must not hide under the marker
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name="point",
                                 marker=dict(symbol="x-thin", size=10, color=theme.BLACK, line=dict(width=2))))
    t = np.linspace(0, 2 * np.pi, 181)
    for radius, name, color, dash in circles:
        if point is None or not np.isfinite(radius) or radius <= 0:
            continue
        if radius < 0.012 * (x1 - x0):     # narrower than the marker: a ring of fixed size, and the legend says so
            fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", hoverinfo="name",
                                     name=f"{name} (r = {radius:.2g}: too small to draw to scale)",
                                     marker=dict(symbol="circle-open", size=22, color=color, line=dict(width=3))))
            continue
        fig.add_trace(go.Scatter(x=point[0] + radius * np.cos(t), y=point[1] + radius * np.sin(t), mode="lines",
                                 name=name, line=dict(color=color, dash=dash, width=3), hoverinfo="name"))
    if window is not None:
        wx0, wx1, wy0, wy1 = window
        fig.add_trace(go.Scatter(x=[wx0, wx1, wx1, wx0, wx0], y=[wy0, wy0, wy1, wy1, wy0], mode="lines",
                                 name="zoomed area (right)", line=dict(color=theme.BLACK, width=2),
                                 hoverinfo="name"))
    fig.update_layout(**theme.base_layout(
        title=dict(text=title, x=0.5, xanchor="center", font_size=18), height=MAP_HEIGHT, margin=MAP_MARGIN,
        showlegend=True, legend=dict(orientation="h", yref="container", y=0.0, yanchor="bottom", x=0.5,
                                     xanchor="center", font_size=14)))
    # fixed margins, no automargin: the zoom's longer tick labels must not shrink its plot area
    fig.update_xaxes(range=[x0, x1], title="u₁", constrain="domain", nticks=6, automargin=False)
    fig.update_yaxes(range=[y0, y1], title="u₂", scaleanchor="x", scaleratio=1, constrain="domain", nticks=6,
                     automargin=False)
    return fig


def zoom_window(point, radii, smallest: float = 0.02) -> tuple[float, float, float, float]:
    """A square window of [0,1]^2 around ``point`` that shows the largest finite radius with room to spare
    (the radii are often ~0.02: invisible on the whole box); shifted, not shrunk, at the box's edges."""
    finite = [r for r in radii if np.isfinite(r) and r > 0]
    half = min(max(1.6 * max(finite, default=0.0), smallest), 0.5)
    cx = min(max(point[0], half), 1 - half)
    cy = min(max(point[1], half), 1 - half)
    return cx - half, cx + half, cy - half, cy + half


def certified_curves(grid: np.ndarray, curves: dict, title: str, x_title: str) -> go.Figure:
    """Certified accuracy (or its upper bounds) against the radius; ``curves``: name -> (values, colour, dash)."""
    fig = go.Figure()
    for name, (values, color, dash) in curves.items():
        fig.add_trace(go.Scatter(x=grid, y=values, mode="lines+markers" if len(grid) < 15 else "lines", name=name,
                                 line=dict(color=color, dash=dash, width=3)))
    fig.update_layout(**theme.base_layout(title=title, height=430))      # the theme's 15 px legend
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title="accuracy", range=[0, 1.02])
    return fig


def regression(demo, degrees) -> go.Figure:
    """Figure 7: the noisy training data, the over-fitted model and its Bernstein smoothings."""
    fig = go.Figure([
        go.Scatter(x=demo.x_train, y=demo.y_train, mode="markers", name="noisy training data",
                   marker=dict(color=theme.ORANGE, size=9)),
        go.Scatter(x=demo.x, y=demo.truth, mode="lines", name="truth sin 2πx", line=dict(color=theme.GREY, dash="dot")),
        go.Scatter(x=demo.x, y=demo.fitted, mode="lines", name=f"over-fitted (RMSE {demo.errors['fitted']:.3f})",
                   line=dict(color=theme.VERMILLION, width=2)),
    ])
    colors = (theme.GREEN, theme.BLUE, theme.PURPLE, theme.SKY)
    for i, n in enumerate(degrees):
        fig.add_trace(go.Scatter(x=demo.x, y=demo.smoothed[n], mode="lines", name=f"B_{n} (RMSE {demo.errors[n]:.3f})",
                                 line=dict(color=colors[i % len(colors)], width=3)))
    fig.update_layout(**theme.base_layout(title="Over-fitted regression and its Bernstein smoothings", height=430))
    fig.update_xaxes(title="x")
    fig.update_yaxes(title="y")
    return fig


STYLES = {"upper bound": (theme.VERMILLION, "dash"), "estimate": (theme.VERMILLION, "dash"),
          "exact": (theme.BLACK, "solid"), "certificate": (theme.GREEN, "dot")}


def plane_maps(s, p, num_classes: int, class_names) -> dict[str, go.Figure]:
    """Figure 3 for a PlaneStudy ``s`` at PlaneParams ``p``: the model, B_n with the zoomed area outlined, and the
    zoom with one circle per radius (a few hundredths of the box: drawn on the whole box they hide under the
    marker), keyed by their chart keys."""
    circles = [(r.radius / 6, r.method, *STYLES[r.kind]) for r in s.rows]
    zoom = f"Zoom ×{1 / (s.window[1] - s.window[0]):.0f}: the radii (unit box)"
    return {"bern_base_map": regions(s.base, num_classes, "Base classifier on [0,1]²", point=s.u,
                                     class_names=class_names),
            "bern_smooth_map": regions(s.smoothed, num_classes, f"Bernstein-smoothed, n = {p.n}", lattice_n=p.n,
                                       point=s.u, window=s.window, class_names=class_names),
            "bern_zoom_map": regions(s.zoom, num_classes, zoom, lattice_n=p.n, point=s.u, circles=circles,
                                     class_names=class_names, extent=s.window)}


def pipeline_figure(run, grid_r: np.ndarray, eps: tuple, pgd: np.ndarray) -> go.Figure:
    """Certified accuracy in input space of an ImageRun: the sound certificate, the paper's root-finding radius
    (L_G = 1) and root-finding / L_G, with PGD's upper bound (Figure 5)."""
    curves = {
        "sound certificate / L_G (ours)": (certified_accuracy(run.input_sound_radius, run.correct, grid_r),
                                           theme.GREEN, "solid"),
        "paper: root-finding radius, L_G = 1 (no guarantee)": (
            certified_accuracy(np.nan_to_num(run.root_radius), run.correct & run.on_boundary, grid_r),
            theme.VERMILLION, "dash"),
        "root-finding / L_G (no guarantee)": (
            certified_accuracy(np.nan_to_num(run.input_root_radius), run.correct & run.on_boundary, grid_r),
            theme.ORANGE, "dot"),
    }
    fig = certified_curves(grid_r, curves, "Certified accuracy in input space (l2)", "input radius")
    fig.add_scatter(x=eps, y=pgd, mode="lines+markers", name="PGD upper bound (Figure 5)",
                    line=dict(color=theme.BLACK, dash="dashdot", width=3))
    return fig


def run_rows(run) -> list[dict]:
    """One table row per certified example of an ImageRun."""
    return [{"label": int(run.labels[i]), "base": int(run.base_prediction[i]), "Bernstein": int(run.prediction[i]),
             "root radius (features)": f"{run.root_radius[i]:.4f}", "LM on boundary": bool(run.on_boundary[i]),
             "sound radius (features)": f"{run.sound_radius[i]:.4f}",
             "sound radius (input)": f"{run.input_sound_radius[i]:.4f}"} for i in range(len(run.labels))]
