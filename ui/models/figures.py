"""Pure figure builders for the Models page: zoo thumbnails, training curves and accuracy under noise."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cert_core.grid_view import GridView
from ui import theme
from ui.images import base_image, png_uri


def loss_curve(losses, epochs: int) -> go.Figure:
    fig = go.Figure(go.Scatter(x=np.arange(1, len(losses) + 1), y=list(losses), mode="lines",
                               line=dict(color=theme.BLUE, width=3), hovertemplate="epoch %{x}: %{y:.4f}<extra></extra>"))
    fig.update_xaxes(range=[0, max(epochs, 1)], title_text="epoch")
    fig.update_yaxes(title_text="training loss (noisy inputs)", rangemode="tozero")
    fig.update_layout(**theme.base_layout(height=300, title=dict(text="Loss", font_size=18)))
    return fig


def noise_accuracy(sigmas, acc, sigma_train: float | None, sigma_now: float) -> go.Figure:
    """Accuracy of the base classifier on Gaussian-noised test points as sigma grows."""
    fig = go.Figure(go.Scatter(x=list(sigmas), y=list(acc), mode="lines+markers", name="accuracy under noise",
                               line=dict(color=theme.BLUE, width=3), marker=dict(size=8),
                               hovertemplate="σ = %{x:.2f}: %{y:.1%}<extra></extra>"))
    fig.add_vline(x=sigma_now, line=dict(color=theme.VERMILLION, width=2, dash="dash"),
                  annotation_text=f"σ = {sigma_now:g} (sidebar)", annotation_font_size=15)
    if sigma_train:
        fig.add_vline(x=sigma_train, line=dict(color=theme.GREEN, width=2, dash="dot"),
                      annotation_text=f"σ_train = {sigma_train:g}", annotation_position="bottom right",
                      annotation_font_size=15)
    fig.update_xaxes(title_text="noise level σ")
    fig.update_yaxes(title_text="accuracy of f(x + ε)", tickformat=".0%", range=[0, 1.05])
    fig.update_layout(**theme.base_layout(height=360, showlegend=False,
                                          title=dict(text="Clean accuracy and accuracy under Gaussian noise",
                                                     font_size=18)))
    return fig


def thumbnail(labels: np.ndarray | None, view: GridView, data=None) -> go.Figure:
    """A small static picture of a model's base decision regions (and its data)."""
    xmin, xmax, ymin, ymax = view.bounds
    fig = go.Figure()
    if labels is not None:
        fig.add_layout_image(source=png_uri(base_image(labels), upscale=2), xref="x", yref="y", x=xmin, y=ymax,
                             sizex=xmax - xmin, sizey=ymax - ymin, sizing="stretch", layer="below")
    if data is not None:
        x, y = data
        fig.add_trace(go.Scatter(x=x[:, 0], y=x[:, 1], mode="markers", hoverinfo="skip",
                                 marker=dict(size=4, color=[theme.class_color(int(k)) for k in y],
                                             line=dict(color="white", width=0.5))))
    fig.update_xaxes(range=[xmin, xmax], visible=False, constrain="domain")
    fig.update_yaxes(range=[ymin, ymax], visible=False, scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(**theme.base_layout(height=190, margin=dict(l=0, r=0, t=0, b=0), showlegend=False))
    return fig


def digit_thumbnail(image: np.ndarray, sigma: float) -> go.Figure:
    """An 8x8 digit with the noise the model was trained on."""
    fig = go.Figure(go.Heatmap(z=image[::-1], colorscale="Greys", showscale=False, hoverinfo="skip"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(**theme.base_layout(height=190, margin=dict(l=0, r=0, t=0, b=0)))
    return fig
