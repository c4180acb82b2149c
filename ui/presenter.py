"""Presenter mode: the app on a projector in front of a class.

One sidebar toggle, kept in the session and in the URL (``present=1``, written by ``links.sync_url``
beside model/sigma/point, so a bookmarked or shared lecture link opens in presenter mode). When on:

* **larger text** -- Streamlit sizes its text in rem, so one root font size enlarges every page;
  figures have pixel fonts, so pages pass them through ``scale(fig)``;
* **fewer controls** -- tuning knobs a class does not need (grid resolution, α, seeds, optimiser
  steps, batch sizes, ...) are hidden with CSS by their widget key (Streamlit gives each keyed
  element the class ``st-key-<key>``); they keep their values, so every number stays reproducible;
* **a stable view** -- while σ is dragged, Streamlit greys out the elements it is about to redraw and
  Plotly resets zoom when a figure changes; presenter mode keeps elements opaque and gives figures a
  constant ``uirevision`` so a zoomed-in map stays zoomed in. The toolbar, status spinner and figure
  mode bars are hidden: nothing moves on screen except what the lecturer changes.
"""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

KEY = "presenter"                 # session-state key of the toggle
URL_KEY = "present"               # query parameter: present=1
SCALE = 1.3                       # figure fonts and heights in presenter mode
ROOT_FONT_PX = 21                 # Streamlit's default is 16 px
HIDDEN_KEYS = (                   # widget keys a class does not need (values are kept, only hidden)
    "resolution", "alpha", "seed", "n0", "mc_size", "mc_n",                      # decision boundaries
    "ddrs_count", "ddrs_res", "ddrs_steps", "ddrs_lr", "ddrs_n", "ddrs_alpha", "ddrs_seed",   # per-input σ
    "rn_root", "rn_npz", "rn_skip", "rn_device", "rn_batch",                     # certification runs
    "draw_seed",                                                                  # draw your data
    "t_seed", "t_lr",                                     # models: train (the Train button then fits 1280×720)
    "sra_n",                                              # SRA: Monte Carlo samples of Figure 1
)


def active() -> bool:
    return bool(st.session_state.get(KEY, False))


def seed(query_params) -> None:
    """From ``links.init_from_url``: the link says whether the session starts in presenter mode."""
    st.session_state[KEY] = query_params.get(URL_KEY) == "1"


def url_params() -> dict[str, str]:
    """Extra query parameters for ``links.sync_url`` (empty when off, so ordinary links stay short)."""
    return {URL_KEY: "1"} if active() else {}


def toggle() -> None:
    """The sidebar switch."""
    st.toggle("Presenter mode", key=KEY,
              help="For a projector: larger text and figures, tuning controls hidden (their values are kept), "
                   "no greying-out or zoom reset while you drag σ. Saved in the link (present=1).")


def _hidden_columns(hidden_keys) -> tuple[str, str]:
    """Selectors of (a column that holds only hidden widgets, the columns of a row with such a column). Hiding the
    widget alone leaves its empty column as a gap; hiding the column and letting its row's other columns share the
    width closes it. A column that also holds a visible element stays."""
    keys = ", ".join(f".st-key-{k}" for k in hidden_keys)
    others = "".join(f":not(.st-key-{k})" for k in hidden_keys)
    column = f'[data-testid="stColumn"]:has({keys}):not(:has([data-testid="stElementContainer"]{others}))'
    return column, f'[data-testid="stHorizontalBlock"]:has(> {column}) > [data-testid="stColumn"]'


def css(hidden_keys=HIDDEN_KEYS, root_px: int = ROOT_FONT_PX) -> str:
    """The presenter stylesheet (pure, so tests can read it). A narrow sidebar (a fifth of a 1280 px projector,
    its own smaller text) and a compact page head leave the main figure on the first screen."""
    hide = ", ".join(f".st-key-{k}" for k in hidden_keys)
    column, row = _hidden_columns(hidden_keys)
    return f"""<style>
html {{ font-size: {root_px}px; }}
[data-testid="stMainBlockContainer"] {{ max-width: 100%; padding: 1.5rem 1.5rem 2rem 1.5rem; }}
[data-testid="stHeader"] {{ height: 1.5rem; min-height: 0; background: transparent; }}
h1 {{ font-size: 2.1rem !important; padding: 0 0 0.5rem 0 !important; }}
.katex-display {{ font-size: 0.9em; overflow-x: auto; overflow-y: hidden; }}
{row} {{ flex: 1 1 0 !important; min-width: 0 !important; }}
{column} {{ display: none !important; }}
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
[data-testid="stMainMenu"], [data-testid="stAppDeployButton"], .modebar-container {{ display: none !important; }}
[data-stale="true"], .stale-element {{ opacity: 1 !important; transition: none !important; }}
[data-testid="stMetricValue"] {{ font-size: 2.3rem; }}
[data-testid="stCaptionContainer"] {{ font-size: 0.95rem; }}
[data-testid="stSidebar"] {{ width: clamp(230px, 20vw, 360px) !important; min-width: 0 !important; }}
[data-testid="stSidebarContent"] {{ font-size: 15px; padding: 0 0.6rem !important; }}
[data-testid="stSidebarHeader"] {{ height: 2.2rem; min-height: 0; padding: 0.4rem 0 0 0; margin-bottom: 0; }}
.st-key-lesson_card p {{ font-size: 16px; }}
[data-testid="stSidebarNav"] a span, [data-testid="stSidebarNav"] a .stMarkdownEllipsis,
[data-testid="stSidebarNav"] a p, [data-testid="stSidebarContent"] [data-testid="stPageLink-NavLink"] span,
[data-testid="stSidebarContent"] [data-testid="stPageLink-NavLink"] p {{ white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; line-height: 1.25; font-size: 15px; }}
{hide} {{ display: none !important; }}
</style>"""


def apply() -> None:
    """Inject the stylesheet when presenter mode is on (a style-only st.html takes no space)."""
    if active():
        st.html(css())


def folded(label: str):
    """Where a page puts its introduction or its settings: a collapsed expander in presenter mode, so the page's
    main figure starts on the first screen of a 1280×720 projector (one click opens it), a plain container otherwise.
    Widgets inside keep their values either way."""
    return st.expander(label, expanded=False) if active() else st.container()


def scale(fig: go.Figure, factor: float | None = None, resize: bool = True) -> go.Figure:
    """A copy of ``fig`` for the projector: fonts (and, with ``resize``, height/width) × ``factor`` (default
    ``SCALE``) and a constant ``uirevision`` (zoom and legend clicks survive reruns). Unchanged when presenter
    mode is off, so pages can always call ``st.plotly_chart(presenter.scale(fig))``. Square maps whose width
    is set by their column should pass ``resize=False`` (a taller figure would only add white space)."""
    if factor is None:
        if not active():
            return fig
        factor = SCALE
    out = go.Figure(fig)
    layout = out.layout
    base = layout.font.size or 12
    layout.font.size = round(base * factor)
    for part in (layout.title, layout.legend, layout.hoverlabel):
        if part.font.size:
            part.font.size = round(part.font.size * factor)
    out.for_each_xaxis(lambda a: _scale_axis(a, factor))
    out.for_each_yaxis(lambda a: _scale_axis(a, factor))
    for ann in layout.annotations or ():
        if ann.font.size:
            ann.font.size = round(ann.font.size * factor)
    if layout.margin.autoexpand is False:     # fixed margins hold text: they grow with the fonts
        for side in ("l", "r", "t", "b"):
            if getattr(layout.margin, side) is not None:
                setattr(layout.margin, side, round(getattr(layout.margin, side) * factor))
    if resize and layout.height:
        layout.height = round(layout.height * factor)
    if resize and layout.width:
        layout.width = round(layout.width * factor)
    layout.uirevision = "presenter"
    return out


def _scale_axis(axis, factor: float) -> None:
    if axis.tickfont.size:
        axis.tickfont.size = round(axis.tickfont.size * factor)
    if axis.title.font.size:
        axis.title.font.size = round(axis.title.font.size * factor)
