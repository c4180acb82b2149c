"""Figures of the SRA page: Figure 1 panels, the Appendix B curves and the Figure 2 heatmaps (pure functions)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui import image_map, theme
from ui.images import class_tints, png_uri

PANEL = 330             # px: a Figure 1 panel's width and plot height
PANEL_PRESENTER = 260   # presenter: a column is ~300 px wide at 1280×720; a square plot there fits the first screen


def local_map(labels: np.ndarray, extent: tuple, point, eps: float, cloud: np.ndarray | None, cloud_at,
              title: str, safe: bool, marker=None, size: int = PANEL, font: int = 13) -> image_map.MapPicture:
    """Base classes around the point (labels (R, R) over ``extent``), Omega(x) and an optional noise cloud, as a
    picture without Plotly (``ui.image_map``: the panels are the page's first screen, issue 17)."""
    x0, x1, y0, y1 = extent
    # the classes as one PNG (labels on a grid whose first and last points are the extent's edges, so the image
    # reaches half a pixel past them)
    hx, hy = (x1 - x0) / (labels.shape[1] - 1) / 2, (y1 - y0) / (labels.shape[0] - 1) / 2
    points = []
    if cloud is not None:
        points.append(image_map.Points(tuple(cloud[:, 0] + cloud_at[0]), tuple(cloud[:, 1] + cloud_at[1]),
                                       size=4, colour=theme.GREY, opacity=0.6))
    points.append(image_map.Points((point[0],), (point[1],), size=12))
    if marker is not None:
        points.append(image_map.Points((marker[0],), (marker[1],), "x", 13, theme.VERMILLION))
    return image_map.MapPicture(
        image=png_uri(class_tints(labels, 1.0).astype(np.uint8), upscale=3), image_opacity=0.45,
        image_bounds=(x0 - hx, x1 + hx, y0 - hy, y1 + hy), bounds=(x0, x1, y0, y1),
        title=f"{title}: {'safe' if safe else 'NOT safe'}", xlabel="", ylabel="", points=tuple(points),
        circles=(image_map.Circle(point[0], point[1], eps),) if eps > 0 else (), box=(size, size + 30),
        margin=(45, 10, 45, 30), font=font)


def curves_figure(reports: dict) -> go.Figure:
    """The four Appendix B curves (a)-(d) for several models: reports = {label: RobustnessCurves}."""
    fig = make_subplots(2, 2, subplot_titles=("(a) margin CR survival", "(b) randomized-smoothing CR survival",
                                              "(c) noise accuracy (normalised: dotted)", "(d) linear corruption"),
                        horizontal_spacing=0.1, vertical_spacing=0.24)
    for i, (label, rep) in enumerate(reports.items()):
        color = theme.CIRCLE_STYLES[i % len(theme.CIRCLE_STYLES)][0]
        kw = dict(legendgroup=label, line=dict(color=color, width=2.5), mode="lines")
        fig.add_scatter(x=rep.radius_grid, y=rep.margin_cr, name=label, row=1, col=1, **kw)
        if rep.rs_cr is not None:
            fig.add_scatter(x=rep.rs_radius_grid, y=rep.rs_cr, name=label, showlegend=False, row=1, col=2, **kw)
        fig.add_scatter(x=rep.sigmas, y=rep.noise_acc, name=label, showlegend=False, row=2, col=1, **kw)
        fig.add_scatter(x=rep.sigmas, y=rep.noise_acc_norm, name=f"{label} (normalised)", showlegend=False,
                        row=2, col=1, legendgroup=label, mode="lines", line=dict(color=color, dash="dot"))
        fig.add_scatter(x=rep.alphas, y=rep.corruption_acc, name=label, showlegend=False, row=2, col=2, **kw)
    for (r, c), title in {(1, 1): "radius ε", (1, 2): "radius ε", (2, 1): "noise σ_x", (2, 2): "signal fraction α"}.items():
        fig.update_xaxes(title_text=title, row=r, col=c)
        fig.update_yaxes(title_text="fraction", range=[0, 1.02], row=r, col=c)
    fig.update_layout(height=680, margin=dict(l=70, r=10, t=40, b=10), font=dict(size=14),
                      legend=dict(orientation="h", y=-0.12))
    return fig


def heatmaps(data: dict, metric: str) -> go.Figure:
    """Figure 2: one heatmap per loss over (d, sigma_x), sharing the colour range."""
    losses = list(data["values"])
    z = [np.array(data["values"][loss][metric]) for loss in losses]
    lo, hi = min(float(a.min()) for a in z), max(float(a.max()) for a in z)
    fig = make_subplots(1, len(losses), subplot_titles=[f"{loss.upper()} loss" for loss in losses],
                        horizontal_spacing=0.12)
    for i, a in enumerate(z):
        fig.add_heatmap(z=a, x=[f"{s:g}" for s in data["sigma"]], y=[f"{d:g}" for d in data["d"]], zmin=lo, zmax=hi,
                        colorscale="Viridis", showscale=i == len(z) - 1, row=1, col=i + 1,
                        text=np.round(a, 3), texttemplate="%{text}",
                        hovertemplate="d=%{y}, σ_x=%{x}: %{z:.3f}<extra></extra>")
        fig.update_xaxes(title_text="σ_x", type="category", row=1, col=i + 1)
        fig.update_yaxes(title_text="d", type="category", row=1, col=i + 1)
    fig.update_layout(height=400, margin=dict(l=60, r=10, t=70, b=50), font=dict(size=14), title=metric)
    return fig


def figure1_panels(labels: np.ndarray, extent: tuple, a, p,
                   size: int = PANEL, font: int = 13) -> list[tuple[str, image_map.MapPicture, str]]:
    """Figure 1 at ``p`` (a PointParams) from its analysis ``a``: the average-case, worst-case and smoothed
    panels (``size`` px wide, ``size`` + 30 tall, tick labels ``font`` px), each with its markdown verdict against
    Condition 1's Γ."""
    cloud = np.random.default_rng(0).standard_normal((300, 2)) * p.sigma                    # (300, 2) offsets
    # the formulas in LaTeX (st.markdown renders $…$): as plain text, "E_ρ(x)" printed its underscore
    panels = [("Average case", 0.0, cloud, p.point, a.average, None, r"$\mathbb{E}_{\rho}\, T(x + \rho)$"),
              ("Worst case", p.eps, None, p.point, a.worst, a.worst_point, r"$\max_{x' \in \Omega(x)} T(x')$"),
              ("Smoothed (SRA)", p.eps, cloud, a.smoothed_point, a.smoothed, a.smoothed_point,
               r"$\max_{x' \in \Omega(x)} \mathbb{E}_{\rho}\, T(x' + \rho)$")]
    out = []
    for title, eps, noise, noise_at, value, mark, formula in panels:
        safe = a.safe(value)
        verdict = (f"{formula} = **{value:.3f}** {'<' if safe else '≥'} Γ = {a.gamma:g} → "
                   f"{'safe' if safe else '**not safe**'}")
        out.append((title, local_map(labels, extent, p.point, eps, noise, noise_at, title, safe, mark, size, font),
                    verdict))
    return out


RADIUS_HELP = {"MCR (Eq. 6)": "Guarantee for the base classifier.",
               "MSCR, Monte Carlo (Eq. 5)": "Guarantee (prob. 0.999) for the mean-logit smoothed classifier; for the "
                                            "majority vote only if outputs are symmetric (Prop. 3)."}
ESTIMATE_HELP = "Estimate under the paper's normality assumption: no guarantee."


def radii_gap_note(radii: dict, n: int, alpha: float) -> str:
    """Why the Monte Carlo MSCR can be 0 (or below) beside a positive closed form at the same point; "" if it is not."""
    mc, closed = radii.get("MSCR, Monte Carlo (Eq. 5)"), radii.get("MSCR, closed form (Eq. 7)")
    if mc is None or closed is None or closed <= mc:
        return ""
    return (f"Why the two MSCRs differ here: the Monte Carlo MSCR (Eq. 5) is a certificate, so it uses a lower "
            f"confidence bound (probability {1 - alpha:g}) on the mean margin from n = {n:,} noise samples; near "
            f"the boundary the bound falls below zero and the certified radius is {max(mc, 0):.3f}. The closed form "
            f"(Eq. 7) is a point estimate under a normality assumption, with no confidence bound: its "
            f"{closed:.3f} is not certified (the section below counts where it over-claims).")


def closed_form_figure(a) -> go.Figure:
    """Eq. 7's radius against the Monte Carlo MSCR (bars: its error band) per point; vermillion: over-claims,
    crosses: a positive Eq. 7 radius where c does not win on average."""
    mc, closed, up = (np.asarray(t, dtype=float) for t in (a.mc, a.closed, a.mc_upper))
    over, wrong = np.asarray(a.over_claims), np.asarray(a.wrong_side)
    fig = go.Figure()
    lo, hi = float(min(mc.min(), closed.min(), 0)), float(max(up.max(), closed.max(), 1e-9))
    fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="Eq. 7 = Monte Carlo", hoverinfo="skip",
                    line=dict(color=theme.GREY, dash="dash"))
    for mask, name, color in ((~over, "within the Monte Carlo error", theme.BLUE),
                              (over, "over-claims", theme.VERMILLION)):
        fig.add_scatter(x=mc[mask], y=closed[mask], mode="markers", name=f"{name} ({int(mask.sum())})",
                        error_x=dict(type="data", symmetric=False, array=(up - mc)[mask],
                                     arrayminus=(up - mc)[mask], color=color, thickness=1),
                        marker=dict(size=7, color=color, symbol=np.where(wrong[mask], "x", "circle")))
    fig.update_layout(height=380, margin=dict(l=70, r=10, t=30, b=10), font=dict(size=14),
                      xaxis_title="MSCR, Monte Carlo (Eq. 5): −mean margin / (√2 K)",
                      yaxis_title="MSCR, closed form (Eq. 7)", legend=dict(orientation="h", y=-0.25))
    return fig


def layer_rows(layers) -> list[dict]:
    """The per-layer Lipschitz bounds as table rows."""
    return [{"layer": f"{b.index} {b.name}", "input": str(b.input_shape), "upper bound": f"{b.upper:.5g}",
             "power iteration": f"{b.estimate:.5g}", "how": b.note} for b in layers]


def auc_rows(reports: dict) -> list[dict]:
    """One row per model: the areas under its Appendix B curves."""
    return [{"model": name, **{key: f"{v:.3f}" for key, v in rep.aucs.items()}} for name, rep in reports.items()]
