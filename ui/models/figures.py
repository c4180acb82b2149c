"""Pure figure builders for the smaller charts: the inspector's noise cloud and votes, training
curves, accuracy under noise, the Monte Carlo check and zoo thumbnails."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from cert_core.grid import GridView
from ui import theme
from ui.boundaries.figures import Circle, base_image, png_uri


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
    fig = go.Figure(go.Bar(x=list(class_names), y=counts, marker_color=colors, text=[f"{c:,}" for c in counts],
                           textposition="outside", textfont_size=16,
                           hovertemplate="%{x}: %{y:,} votes<extra></extra>"))
    fig.add_hline(y=n / 2, line=dict(color=theme.DARK, dash="dash", width=2),
                  annotation_text="n/2", annotation_position="top left", annotation_font_size=15)
    verdict = "abstains" if prediction < 0 else f"predicts {class_names[prediction]}"
    picked = ""
    if counts0 is not None and len(counts0):
        c_a = int(np.argmax(counts0))
        picked = (f"<br><sup>c_A = {class_names[c_a]}, picked by the n₀ = {int(np.sum(counts0)):,} selection "
                  f"samples ({int(counts0[c_a]):,} votes)</sup>")
    fig.update_yaxes(range=[0, n * 1.15], title_text="votes", tickformat=",")
    fig.update_layout(**theme.base_layout(
        title=dict(text=f"Votes of f on n = {n:,} noisy copies<br><sup>p̲_A = {p_lower:.4f} → CERTIFY {verdict}"
                        f"</sup>{picked}", x=0.5, xanchor="center", font_size=19),
        margin=dict(l=10, r=10, b=10, t=105 if picked else 60), height=theme.MAP_SIZE - 120, showlegend=False,
        bargap=0.35))
    return fig


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
    fig.update_xaxes(range=[lo, 1.01], title_text="p_A from the convolution (exact)")
    fig.update_yaxes(range=[lo, 1.01], title_text=f"p_A from {n:,} samples", scaleanchor="x", scaleratio=1)
    fig.update_layout(**theme.base_layout(height=480, title=dict(text="Monte Carlo vs exact", font_size=18),
                                          legend=dict(orientation="h", y=-0.18, x=0.5, xanchor="center")))
    return fig


def certified_accuracy_curve(radii: np.ndarray, accuracy: np.ndarray, r_now: float) -> go.Figure:
    fig = go.Figure(go.Scatter(x=radii, y=accuracy, mode="lines", line=dict(color=theme.BLUE, width=3, shape="hv"),
                               hovertemplate="r = %{x:.3f}: %{y:.1%}<extra></extra>"))
    fig.add_vline(x=r_now, line=dict(color=theme.VERMILLION, width=2, dash="dash"),
                  annotation_text=f"r = {r_now:g}", annotation_font_size=15)
    fig.update_xaxes(title_text="radius r", rangemode="tozero")
    fig.update_yaxes(title_text="certified accuracy", tickformat=".0%", range=[0, 1.05])
    fig.update_layout(**theme.base_layout(height=360, showlegend=False,
                                          title=dict(text="Certified accuracy of the test set", font_size=18)))
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
