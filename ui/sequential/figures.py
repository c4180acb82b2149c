"""The sequential certificate along its sampling path (pure plotly; no Streamlit): the anytime-valid lower bound
p̲_A and the certified radius against the samples drawn, with the fixed-n CERTIFY result as the reference.

Both curves are steps: the bound only moves at a look, and only up (the frontier of a fixed ladder of thresholds,
``cert_core.sequential``). Before the first certified threshold the point abstains (p̲_A shown as 1/2, radius 0).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui import theme

HEIGHT = 300          # px: a small chart under the inspector's table


def path_figure(samples, p_lower, radius, fixed_samples: int, fixed_p_lower: float, fixed_radius: float,
                drawn: int) -> go.Figure:
    """Two panels against samples drawn (log x): p̲_A (left) and the certified radius (right).

    ``samples``, ``p_lower``, ``radius``: (L,) the path, one value per look; ``fixed_*``: fixed-n CERTIFY (n0 + n
    samples and its p̲_A and radius: dashed lines); ``drawn``: where sampling stopped (dotted vertical)."""
    samples = np.asarray(samples)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("lower bound p̲_A (1 − α, anytime)", "certified radius"))
    shown_p = np.maximum(np.asarray(p_lower, dtype=float), 0.5)              # below 1/2: abstain
    for col, values, fixed, fmt in ((1, shown_p, fixed_p_lower, ".4f"), (2, radius, fixed_radius, ".3f")):
        fig.add_trace(go.Scatter(x=samples, y=values, mode="lines", line=dict(color=theme.BLUE, width=3, shape="hv"),
                                 name="sequential", showlegend=col == 1,
                                 hovertemplate=f"%{{x:,}} samples: %{{y:{fmt}}}<extra>sequential</extra>"),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=[samples.min(), max(fixed_samples, samples.max())], y=[fixed, fixed],
                                 mode="lines", line=dict(color=theme.VERMILLION, width=2, dash="dash"),
                                 name=f"fixed n0 + n = {fixed_samples:,}", showlegend=col == 1,
                                 hovertemplate=f"fixed n: %{{y:{fmt}}}<extra></extra>"), row=1, col=col)
        fig.add_trace(go.Scatter(x=[fixed_samples], y=[fixed], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker=dict(color=theme.VERMILLION, size=10, symbol="diamond")), row=1, col=col)
        fig.add_vline(x=drawn, line=dict(color=theme.DARK, dash="dot", width=1.5), row=1, col=col)
        axis = "" if col == 1 else str(col)         # annotations on a log axis take log10 of the value
        fig.add_annotation(x=np.log10(drawn), y=0.02, xref=f"x{axis}", yref=f"y{axis} domain", text="stopped",
                           showarrow=False, xanchor="right", yanchor="bottom", font_size=13)
    fig.update_xaxes(type="log", title_text="samples drawn (n0 + votes)", tickformat="~s")
    fig.update_yaxes(tickformat=".3f", row=1, col=1)
    fig.update_yaxes(tickformat=".2f", rangemode="tozero", row=1, col=2)
    fig.update_layout(**theme.base_layout(height=HEIGHT, margin=dict(l=10, r=10, t=40, b=10),
                                          legend=dict(orientation="h", y=-0.35, x=0.5, xanchor="center",
                                                      font_size=14)))
    fig.update_annotations(font_size=15)
    return fig
