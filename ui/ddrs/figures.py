"""Pure figure builders for the per-input σ page (numpy in, ``go.Figure`` out; no Streamlit)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cert_core.methods.ddrs.memory import Counterexample, MemoryAnswer
from cert_core.grid_view import GridView
from ui import image_map, theme
from ui.images import colour_stops, lattice_values, png_uri, value_image


LOG_TICKS = (0.02, 0.05, 0.1, 0.2, 0.5, 1, 1.5)   # σ ticks of the log axes (plotly's own print "5 6 7 8 9 0.1 2 3")
# the σ* colour bar is short (a third of the page): every other tick, none at its left end, where plotly puts the
# title of a horizontal bar (0.02 touched "σ*" and 0.05 ran into 0.1 there)
BAR_TICKS = (0.05, 0.2, 0.5, 1)


def _square_axes(fig: go.Figure, bounds) -> None:
    xmin, xmax, ymin, ymax = bounds
    fig.update_xaxes(range=[xmin, xmax], constrain="domain", title_text="x₁", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[ymin, ymax], scaleanchor="x", scaleratio=1, constrain="domain", title_text="x₂",
                     showgrid=False, zeroline=False)


def _legend_below(fig: go.Figure, rows: int, height: int) -> None:
    """The legend pinned to the bottom of the figure (container coordinates) with room reserved above it
    for the x-axis title, so the two can never overlap whatever the plot's size."""
    fig.update_layout(height=height, margin=dict(l=55, r=15, t=55, b=70 + 26 * rows),
                      legend=dict(orientation="h", yref="container", y=0.0, yanchor="bottom", x=0.5,
                                  xanchor="center", font_size=15))


READOUT_LATTICE = 61     # hover read-out points per axis (ui.images.lattice_values), as on Decision boundaries


def _outline(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """The inner edge of a pixel set, ``width`` pixels wide: its pixels within ``width`` 4-neighbour steps of a
    pixel outside it (the view's border is not an edge)."""  # (R, R) bool
    inside = mask
    for _ in range(width):
        pad = np.pad(inside, 1, mode="edge")
        inside = inside & pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    return mask & ~inside


def heat_map(view: GridView, z: np.ndarray, title: str, label: str, zmax: float, selected=None,
             violation: np.ndarray | None = None, colorscale: str = "Cividis", log: bool = False,
             lattice: int = READOUT_LATTICE) -> image_map.MapPicture:
    """A clickable map of a per-pixel quantity ``z`` (R, R); ``violation`` pixels are outlined in vermillion.

    Every pixel of the exact map is drawn, as one PNG (half a pixel past the grid on each side, so pixels sit on
    their grid points) in the colour scale over [0, zmax] (log: [0.02, zmax] on a log scale), under SVG axes and a
    colour bar (``ui.image_map``: no Plotly on the page's first screen). The hover read-out is a ``lattice`` ×
    ``lattice`` grid of values, each read from the exact map's pixel under its lattice point (no interpolation);
    clicks give the exact data coordinates under the pointer."""
    lo, hi = (np.log10(0.02), np.log10(zmax)) if log else (0.0, zmax)
    with np.errstate(divide="ignore", invalid="ignore"):
        shown = np.log10(z) if log else z                                         # (R, R)
    rgb = value_image(shown, lo, hi, colorscale)
    if violation is not None and violation.any():
        # ~2.5 screen px wide at the page's sizes, like the contour line it replaces
        rgb[_outline(violation, max(1, round(250 / view.resolution)))] = theme.hex_rgb(theme.VERMILLION)
    steps, values = lattice_values(view, z, lattice)                                # (L, L) row i: y, column j: x
    bar_ticks = [float(np.log10(t)) for t in BAR_TICKS] if log else image_map.nice_ticks(lo, hi)
    labels = [f"{t:g}" for t in BAR_TICKS] if log else [f"{t:g}" for t in bar_ticks]
    bar = image_map.ColourBar(colours=tuple(colour_stops(colorscale)), label=label,
                              ticks=tuple((float((t - lo) / (hi - lo)), text) for t, text in zip(bar_ticks, labels)
                                          if hi > lo and lo <= t <= hi))
    xmin, xmax, ymin, ymax = view.bounds
    hx, hy = 0.5 * np.asarray(view.spacing)
    return image_map.MapPicture(
        image=png_uri(rgb, upscale=max(1, 450 // view.resolution)), bounds=view.bounds, title=title,
        image_bounds=(xmin - hx, xmax + hx, ymin - hy, ymax + hy), colour_bar=bar, scale_top=float(zmax),
        readout=image_map.Readout(*steps, values.astype(np.float32), label),
        points=() if selected is None else (image_map.Points((selected[0],), (selected[1],), "star", 24, theme.YELLOW),))


def curve_figure(sigmas: np.ndarray, curve: np.ndarray, traj_sigma: np.ndarray, traj_exact: np.ndarray,
                 traj_proxy: np.ndarray, sigma0: float, class_name: str) -> go.Figure:
    """The exact R(σ) at a point and the path of OptimizeSigma drawn on it."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=sigmas, y=curve, mode="lines", name=f"exact R(σ) for {class_name}",
                             line=dict(color=theme.BLUE, width=3),
                             hovertemplate="σ %{x:.3f}<br>exact R %{y:.3f}<extra></extra>"))
    best = int(np.argmax(curve))
    fig.add_trace(go.Scatter(x=[sigmas[best]], y=[curve[best]], mode="markers", name="best σ on the grid",
                             marker=dict(symbol="diamond", size=14, color=theme.BLUE, line=dict(color="white", width=1))))
    steps = np.arange(len(traj_sigma))
    fig.add_trace(go.Scatter(x=traj_sigma, y=traj_exact, mode="lines+markers", name="Algorithm 1: σ_k (exact R)",
                             line=dict(color=theme.VERMILLION, width=1.5, dash="dot"),
                             marker=dict(size=9, color=steps, colorscale="Oranges", line=dict(color=theme.DARK, width=1)),
                             customdata=steps, hovertemplate="step %{customdata}<br>σ %{x:.3f}<br>exact R %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=traj_sigma, y=traj_proxy, mode="markers", name="its Monte Carlo proxy R̂_k",
                             marker=dict(symbol="circle-open", size=8, color=theme.GREY),
                             customdata=steps, hovertemplate="step %{customdata}<br>σ %{x:.3f}<br>proxy %{y:.3f}<extra></extra>"))
    # vertical guides as traces (vline annotations misplace on log axes); they also label the legend
    top = float(np.nanmax(np.concatenate([curve, traj_exact, traj_proxy]))) * 1.05
    for x, name, color in ((sigma0, f"σ₀ = {sigma0:g}", theme.DARK),
                           (float(traj_sigma[-1]), f"σ* = {traj_sigma[-1]:.3f}", theme.VERMILLION)):
        fig.add_trace(go.Scatter(x=[x, x], y=[0, top], mode="lines", name=name, hoverinfo="skip",
                                 line=dict(color=color, dash="dash", width=1.5)))
    lo, hi = min(sigmas.min(), traj_sigma.min(), sigma0), max(sigmas.max(), traj_sigma.max(), sigma0)
    shown = [t for t in LOG_TICKS if lo * 0.9 <= t <= hi * 1.1]
    ticks = dict(tickvals=shown, ticktext=[f"{t:g}" for t in shown]) if len(shown) >= 3 else dict(dtick="D2")
    fig.update_xaxes(title_text="σ", type="log", **ticks)
    fig.update_yaxes(title_text="radius", zeroline=True)
    fig.update_layout(**theme.base_layout(title=dict(text="Radius as a function of σ at the point", x=0.5,
                                                     xanchor="center", font_size=18)))
    _legend_below(fig, rows=3, height=480)
    return fig


def _circle(fig, center, r, color, dash="solid", fill=True, width=1.5) -> None:
    cx, cy = center
    fig.add_shape(type="circle", x0=cx - r, x1=cx + r, y0=cy - r, y1=cy + r, layer="below",
                  line=dict(color=color, width=width, dash=dash),
                  fillcolor=f"rgba{(*theme.hex_rgb(color), 0.10)}" if fill else None)


def _circles_trace(centers: np.ndarray, radii: np.ndarray, color: str, points: int = 33) -> go.Scatter:
    """Many filled circles as ONE trace (polygons separated by NaN): one add_shape per circle costs
    O(shapes) each in plotly.py, seconds for a test set. 32-gons in float32: a third of the bytes of 48-gons in
    float64, and within 0.5% of the radius (1 − cos(π/32)) — under a pixel at the figure's size."""
    t = np.append(np.linspace(0, 2 * np.pi, points), np.nan)                           # (P+1,)
    xs = (centers[:, :1] + radii[:, None] * np.cos(t)).astype(np.float32)             # (C, P+1)
    ys = (centers[:, 1:2] + radii[:, None] * np.sin(t)).astype(np.float32)
    return go.Scatter(x=xs.ravel(), y=ys.ravel(), mode="lines", fill="toself", showlegend=False, hoverinfo="skip",
                      line=dict(color=color, width=1.5), fillcolor=f"rgba{(*theme.hex_rgb(color), 0.10)}")


def memory_figure(view: GridView, image: str, x: np.ndarray, answers: list[MemoryAnswer],
                  class_names, max_circles: int = 400) -> go.Figure:
    """The memory's regions as circles coloured by class; conflicting queries marked."""
    xmin, xmax, ymin, ymax = view.bounds
    fig = go.Figure()
    fig.add_layout_image(source=image, xref="x", yref="y", x=xmin, y=ymax, sizex=xmax - xmin, sizey=ymax - ymin,
                         sizing="stretch", layer="below", opacity=0.45)
    pred = np.array([a.prediction for a in answers])
    radius = np.array([a.radius for a in answers], dtype=float)
    drawn = np.zeros(len(answers), bool)
    drawn[:max_circles] = (radius[:max_circles] > 0) & np.isfinite(radius[:max_circles])
    for k in np.unique(pred[drawn]):
        sel = drawn & (pred == k)
        fig.add_trace(_circles_trace(x[sel], np.minimum(radius[sel], 2 * (xmax - xmin)), theme.class_color(int(k))))
    for k, name in enumerate(class_names):
        sel = pred == k
        if sel.any():
            fig.add_trace(go.Scatter(x=x[sel, 0], y=x[sel, 1], mode="markers", name=f"answered {name} ({sel.sum()})",
                                     marker=dict(size=7, color=theme.class_color(k), line=dict(color="white", width=1)),
                                     customdata=np.flatnonzero(sel),
                                     hovertemplate="query #%{customdata}<br>(%{x:.2f}, %{y:.2f})<extra></extra>"))
    for case, symbol, label in (("relabelled", "x-thin-open", "relabelled (inside another class's region)"),
                                ("shrunk", "circle-open", "region shrunk (would overlap another class)")):
        sel = np.array([a.case == case for a in answers])
        if sel.any():
            fig.add_trace(go.Scatter(x=x[sel, 0], y=x[sel, 1], mode="markers", name=f"{label}: {sel.sum()}",
                                     marker=dict(symbol=symbol, size=16, color=theme.VERMILLION,
                                                 line=dict(color=theme.VERMILLION, width=3)),
                                     customdata=np.flatnonzero(sel),
                                     hovertemplate=f"query #%{{customdata}} {case}<extra></extra>"))
    if (pred == -1).any():
        sel = pred == -1
        fig.add_trace(go.Scatter(x=x[sel, 0], y=x[sel, 1], mode="markers", name=f"abstains ({sel.sum()})",
                                 marker=dict(symbol="diamond-open", size=9, color=theme.GREY)))
    _square_axes(fig, view.bounds)
    fig.update_layout(**theme.base_layout(
        title=dict(text="Memory regions of the test set (query order matters)", x=0.5, xanchor="center",
                   font_size=18)))
    _legend_below(fig, rows=sum(t.showlegend is not False for t in fig.data), height=theme.MAP_SIZE + 60)
    return fig


def counterexample_figure(cex: Counterexample) -> go.Figure:
    """The stripe classifier, the two points and their claimed balls (no memory)."""
    a, b = cex.stripe
    far, inn = cex.points
    half = max(cex.radius[0] + 0.3, 1.5)
    bounds = (far[0] - half, far[0] + half, -half, half)
    fig = go.Figure()
    fig.add_shape(type="rect", x0=a, x1=b, y0=-half, y1=half, fillcolor=theme.ORANGE, opacity=0.6, line_width=0,
                  layer="below")
    _circle(fig, far, cex.radius[0], theme.BLUE, width=3)
    _circle(fig, inn, cex.radius[1], theme.ORANGE, width=3)
    for p, k, s, r, name in ((far, 0, cex.sigma_star[0], cex.radius[0], "x_far"),
                             (inn, 1, cex.sigma_star[1], cex.radius[1], "x_in")):
        # labels on the outer sides: the two points are close at this scale
        fig.add_trace(go.Scatter(x=[p[0]], y=[p[1]], mode="markers+text", text=[name], textfont_size=16,
                                 textposition="middle left" if k == 0 else "middle right",
                                 name=f"{name}: class {k} at σ* = {s:.2f}, claims R = {r:.2f}",
                                 marker=dict(size=13, color=theme.class_color(k), line=dict(color=theme.DARK, width=2))))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"f = class 1 on {a:g} ≤ x₁ ≤ {b:g}",
                             marker=dict(symbol="square", size=14, color=theme.ORANGE)))
    _square_axes(fig, bounds)
    fig.update_layout(**theme.base_layout(title=dict(text="x_in lies inside x_far's “certified” ball",
                                                     x=0.5, xanchor="center", font_size=18)))
    _legend_below(fig, rows=3, height=540)
    return fig


def three_maps(view: GridView, mp, sigma0: float, sigma_max: float, point=None) -> dict[str, image_map.MapPicture]:
    """The fixed-σ₀ radius, σ*(x) and R*(x) maps (``mp``: SigmaStarMaps), keyed by their chart keys."""
    zmax = float(np.nanmax(mp.radius_star)) or 1.0
    zmax0 = float(np.nanmax(mp.radius0)) or 1.0     # its own scale: on R*'s it is one flat colour (radius ≤ 4σ₀)
    return {"ddrs_fixed": heat_map(view, mp.radius0, f"Fixed σ₀ = {sigma0:g}: exact radius", "radius", zmax0, point),
            "ddrs_sigma": heat_map(view, mp.sigma_star, "σ*(x): the radius-maximising σ", "σ*", sigma_max, point,
                                   colorscale="Viridis", log=True),
            "ddrs_rstar": heat_map(view, mp.radius_star, "R*(x) = max over σ of R(x; σ)", "radius", zmax, point,
                                   violation=mp.violation)}


def point_rows(study, sigma0: float) -> list[dict]:
    """The point's radii (``study``: PointStudy): at σ₀, at OptimizeSigma's σ*, the grid's best, the distance."""
    best = int(np.argmax(study.curve))
    return [{"what": "exact radius at σ₀", "σ": f"{sigma0:g}", "radius": f"{study.exact[0]:.3f}"},
            {"what": "OptimizeSigma σ* (exact radius there)", "σ": f"{study.search.sigma[0]:.3f}",
             "radius": f"{study.exact[-1]:.3f}"},
            {"what": "best σ on the grid", "σ": f"{study.sigmas[best]:.3f}", "radius": f"{study.curve.max():.3f}"},
            {"what": "distance to the σ₀-smoothed boundary", "σ": "—", "radius": f"{study.distance:.3f}"}]
