"""Colours and fonts chosen for a projector and for colour-blind viewers (Okabe & Ito, 2008)."""
from __future__ import annotations

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, PURPLE = "#0072B2", "#E69F00", "#009E73", "#CC79A7"
SKY, VERMILLION, YELLOW, BLACK = "#56B4E9", "#D55E00", "#F0E442", "#000000"
GREY, DARK = "#8C8C8C", "#222222"

CLASS_COLORS = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, YELLOW, "#7F7F7F", "#8C564B", "#17BECF")

# one style per inspector row, in provider order: (colour, dash)
CIRCLE_STYLES = ((BLACK, "solid"), (VERMILLION, "dash"), (GREEN, "dot"), (PURPLE, "dashdot"),
                 (SKY, "longdash"), (YELLOW, "longdashdot"), (GREY, "solid"))

FONT = dict(family="Source Sans Pro, Helvetica, Arial, sans-serif", size=17, color=DARK)
MAP_SIZE = 560          # px: a square map that stays readable from the back row


def class_color(k: int) -> str:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def circle_style(i: int) -> tuple[str, str]:
    return CIRCLE_STYLES[i % len(CIRCLE_STYLES)]


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def base_layout(**overrides) -> dict:
    """Common Plotly layout: large fonts, white background, no clutter."""
    layout = dict(font=FONT, template="plotly_white", margin=dict(l=10, r=10, t=50, b=10),
                  hoverlabel=dict(font_size=16), legend=dict(font_size=15))
    layout.update(overrides)
    return layout
