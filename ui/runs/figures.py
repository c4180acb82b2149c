"""Pure figure builders for certification runs: certified accuracy against radius (Cohen et al. 2019,
Fig. 6/7 style), overlays of several runs and the envelope over σ, and standalone HTML export."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from ui import theme

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


@dataclass(frozen=True)
class Curve:
    name: str                 # legend entry
    radii: np.ndarray         # (R,)
    accuracy: np.ndarray      # (R,) certified accuracy
    done: int = 0             # examples behind the curve
    total: int = 0            # examples selected


def radius_grid(max_radius: float, steps: int = 201) -> np.ndarray:
    return np.linspace(0.0, max(float(max_radius), 1e-3), steps)


def accuracy_figure(curves: list[Curve], envelope: np.ndarray | None = None, title: str = "") -> go.Figure:
    """Certified accuracy (fraction correct and certified at radius >= r) against the ℓ2 radius r."""
    fig = go.Figure()
    for i, c in enumerate(curves):
        color, dash = theme.CLASS_COLORS[i % len(theme.CLASS_COLORS)], DASHES[(i // len(theme.CLASS_COLORS)) % 6]
        suffix = f" ({c.done}/{c.total})" if c.total and c.done < c.total else ""
        fig.add_trace(go.Scatter(x=c.radii, y=c.accuracy, mode="lines", name=c.name + suffix, line_shape="hv",
                                 line=dict(color=color, width=3, dash=dash),
                                 hovertemplate="r = %{x:.3f}<br>certified accuracy %{y:.3f}<extra>" + c.name + "</extra>"))
    if envelope is not None and curves:
        fig.add_trace(go.Scatter(x=curves[0].radii, y=envelope, mode="lines", name="envelope (best over runs)",
                                 line_shape="hv", line=dict(color=theme.BLACK, width=2, dash="dot"),
                                 hovertemplate="r = %{x:.3f}<br>best %{y:.3f}<extra>envelope</extra>"))
    fig.update_xaxes(title_text="ℓ2 radius r", rangemode="tozero")
    fig.update_yaxes(title_text="certified accuracy", range=[0, 1.02])
    fig.update_layout(**theme.base_layout(title=title or None, height=430,
                                          legend=dict(font_size=14, yanchor="top", y=0.99, xanchor="right", x=0.99)))
    if not curves:
        fig.add_annotation(text="No finished examples yet", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper", font_size=18)
    return fig


def radius_histogram(radii: np.ndarray, correct: np.ndarray) -> go.Figure:
    """Certified radii of correct examples and of wrong/abstained ones (radius 0)."""
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=radii[correct], name="correct", marker_color=theme.BLUE, opacity=0.8))
    fig.add_trace(go.Histogram(x=radii[~correct], name="wrong or abstained", marker_color=theme.VERMILLION,
                               opacity=0.8))
    fig.update_layout(**theme.base_layout(barmode="overlay", height=300, xaxis_title="certified radius",
                                          yaxis_title="examples"))
    return fig


def figure_html(fig: go.Figure) -> str:
    """The figure as one self-contained HTML file (plotly.js inlined: opens offline)."""
    return fig.to_html(full_html=True, include_plotlyjs=True, config={"displaylogo": False})
