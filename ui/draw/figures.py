"""Pure figure builders of the "Draw your data" page: the canvas and the two maps (numpy in, go.Figure out).

All three share the view's box, equal axis scales and the data's colours (``ui.theme``), so a point sits on
the maps exactly where it was clicked on the canvas.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ui import theme

MARKER = dict(size=11, line=dict(color="white", width=1.5))


def canvas(bounds: tuple, lattice: np.ndarray, points: np.ndarray, labels: np.ndarray, hint: str,
           height: int = theme.MAP_SIZE, legend: bool = True) -> go.Figure:
    """The drawing board: a blank box with a light grid, the drawn points, and an invisible lattice
    (L, 2) of click targets whose hover says what a click does (``hint``, e.g. "add class 1"); with ``legend``,
    each class's colour and count under it."""
    fig = go.Figure(go.Scatter(x=lattice[:, 0], y=lattice[:, 1], mode="markers", name="canvas", showlegend=False,
                               marker=dict(color="rgba(0,0,0,0)", size=9),
                               hovertemplate=f"{hint} at (%{{x:.1f}}, %{{y:.1f}})<extra></extra>",
                               selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0))))
    _add_points(fig, points, labels, clickable=True)
    _frame(fig, bounds, "Your points", height, legend=legend)
    fig.update_layout(clickmode="event+select", dragmode=False, hovermode="closest", hoverdistance=12)
    return fig


def region_map(title: str, image: str, bounds: tuple, points: np.ndarray, labels: np.ndarray,
               height: int = theme.MAP_SIZE) -> go.Figure:
    """A static map: the regions as a PNG (``ui.images.png_uri``) under the drawn points."""
    xmin, xmax, ymin, ymax = bounds
    fig = go.Figure()
    fig.add_layout_image(source=image, xref="x", yref="y", x=xmin, y=ymax, sizex=xmax - xmin, sizey=ymax - ymin,
                         sizing="stretch", layer="below")
    _add_points(fig, points, labels, clickable=False)
    _frame(fig, bounds, title, height, legend=False)          # the canvas beside it has the legend
    fig.update_layout(dragmode=False, hovermode="closest")
    return fig


def _add_points(fig: go.Figure, points: np.ndarray, labels: np.ndarray, clickable: bool) -> None:
    for k in np.unique(labels):
        sel = labels == k
        fig.add_trace(go.Scatter(
            x=points[sel, 0], y=points[sel, 1], mode="markers", name=f"class {k} ({sel.sum()})",
            marker=dict(color=theme.class_color(int(k)), **MARKER),
            hovertemplate=f"class {k} (%{{x:.2f}}, %{{y:.2f}})<extra></extra>" if clickable else None,
            hoverinfo=None if clickable else "skip",
            selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1))))


def _frame(fig: go.Figure, bounds: tuple, title: str, height: int, legend: bool) -> None:
    xmin, xmax, ymin, ymax = bounds
    fig.add_shape(type="rect", x0=xmin, x1=xmax, y0=ymin, y1=ymax, line=dict(color=theme.DARK, width=1.5),
                  layer="above")
    axis = dict(constrain="domain", zeroline=False, ticks="outside", dtick=1, showgrid=True, gridcolor="#E6E6E6")
    fig.update_xaxes(range=[xmin - 0.05, xmax + 0.05], title_text="x₁", title_standoff=4, **axis)
    # constraintoward="top": when the figure is taller than its square plot, the plot stays under its title and the
    # spare height goes below the x axis (centred, a projector's first screen cut the axis off)
    fig.update_yaxes(range=[ymin - 0.05, ymax + 0.05], scaleanchor="x", scaleratio=1, title_text="x₂",
                     constraintoward="top",
                     title_standoff=4, **axis)
    fig.update_layout(**theme.base_layout(
        title=dict(text=title, x=0.5, xanchor="center", font_size=19), height=height, showlegend=legend,
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.0, x=0.5, xanchor="center"),
        margin=dict(l=50, r=10, t=45, b=90, autoexpand=False), uirevision=title))
