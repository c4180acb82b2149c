"""Colours and fonts chosen for a projector and for colour-blind viewers (Okabe & Ito, 2008)."""
from __future__ import annotations

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, PURPLE = "#0072B2", "#E69F00", "#009E73", "#CC79A7"
SKY, VERMILLION, YELLOW, BLACK = "#56B4E9", "#D55E00", "#F0E442", "#000000"
GREY, DARK = "#8C8C8C", "#222222"

CLASS_COLORS = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, YELLOW, "#7F7F7F", "#8C564B", "#17BECF")

# Inspector circles: row i gets colour i mod 7 and dash i mod 6. 7 and 6 are coprime, so the first
# 42 rows all get different (colour, dash) pairs, and rows with the same colour differ in dash (and
# vice versa) -- a legend stays unambiguous in greyscale and for colour-blind viewers.
CIRCLE_COLORS = (BLACK, VERMILLION, GREEN, PURPLE, SKY, BLUE, ORANGE)
CIRCLE_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
COLOR_NAMES = {BLACK: "black", VERMILLION: "vermillion", GREEN: "green", PURPLE: "purple", SKY: "sky blue",
               BLUE: "blue", ORANGE: "orange", YELLOW: "yellow", GREY: "grey"}
CIRCLE_STYLES = tuple((CIRCLE_COLORS[i % len(CIRCLE_COLORS)], CIRCLE_DASHES[i % len(CIRCLE_DASHES)])
                      for i in range(len(CIRCLE_COLORS) * len(CIRCLE_DASHES)))     # all 42, in row order

# The font Streamlit itself bundles and loads ("Source Sans", its variable font in static/media),
# so charts match the app's text; fallbacks for a figure exported outside the app.
FONT = dict(family='"Source Sans", "Source Sans Pro", Helvetica, Arial, sans-serif', size=17, color=DARK)
MAP_SIZE = 560          # px: a square map that stays readable from the back row
# Plotly config of a map the class clicks on: after a click the pointer rests on the map, and Plotly's toolbar
# would then sit on the title; drag pans and a double click resets the view, so the maps need no toolbar.
CLICK_MAP_CONFIG = {"displaylogo": False, "scrollZoom": False, "displayModeBar": False}


def class_color(k: int) -> str:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def circle_style(i: int) -> tuple[str, str]:
    """(colour, dash) of inspector row ``i``; distinct for i < 42."""
    return CIRCLE_STYLES[i % len(CIRCLE_STYLES)]


def describe_style(color: str, dash: str) -> str:
    """Words for a circle's style, e.g. 'green dot' (the table column that matches the legend)."""
    return f"{COLOR_NAMES.get(color, color)} {dash}"


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def base_layout(**overrides) -> dict:
    """Common Plotly layout: large fonts, white background, no clutter."""
    layout = dict(font=FONT, template="plotly_white", margin=dict(l=10, r=10, t=50, b=10),
                  hoverlabel=dict(font_size=16), legend=dict(font_size=15))
    layout.update(overrides)
    return layout
