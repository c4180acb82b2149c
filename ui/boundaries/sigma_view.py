"""Everything on the decision-boundaries page that depends on σ, drawn by one fragment that a σ step reruns alone
(``ui.sigma_fragments``; issue 17, "σ step ≤ 0.3 s"): the maps, the headline metrics, the point inspector, the
exact radius map, the Monte Carlo check and the σ scrubber. The page's own controls (layout, points, resolution,
radius r) stay above it and rerun the whole page.

The maps and the radius map show the inspected point and its circles, so the inspector draws them (``draw_maps``,
into the columns and the tab this fragment made) right after its first answer: a click or a typed coordinate is
one run of the inspector's fragment, answer first, then the maps and the address bar.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np
import streamlit as st

from ui import image_map, presenter, sigma_fragments, state
from ui.boundaries import answer, controls, explorer
from ui.boundaries import cache as bc
from ui.boundaries import figures as bf

KEY = "boundaries_at_sigma"      # the fragment's key (st.rerun from the σ slider's callback)


@sigma_fragments.fragment(KEY)
def at_sigma(current, overlay: bool, show: str, resolution: int, radius_r: float, path_chart: Callable) -> None:
    """The page below its controls at the session's σ. The arguments change only with a whole-page run (the
    page's widgets, the model); σ, the point and CERTIFY's n, n₀, α, seed are read from the session.
    ``path_chart``: the sequential path under the inspector's table (``ui.sequential.views.path_chart``)."""
    sigma, cp = state.sigma(), controls.certify_params()
    try:
        m = bc.maps(current, sigma, resolution, cp)
    except ValueError as exc:
        st.error(f"The maps cannot be computed: {exc}")
        return
    points, tc = bc.shown_points(current, show, sigma, cp)
    marks = None if tc is None else (tc.x, explorer.test_status(tc.prediction, tc.y, tc.radius, radius_r))
    if current.dataset is None and show != "none":
        st.info(f"No data points to show: {current.dataset_note}.")
    count = 1 if overlay else 2
    keys = (f"map_a_{count}", f"map_b_{count}")[:count]
    map_columns = st.columns(count)                     # filled by the inspector (draw_maps)

    accuracy = None if tc is None else tc.accuracy_at(radius_r)
    for col, (label, value, about) in zip(st.columns(4), explorer.headline(m.probs, m.radius, m.abstain_p, sigma,
                                                                           cp.n, cp.alpha, radius_r, accuracy)):
        col.metric(label, value, help=about)

    st.subheader("Inspect a point")
    inspector_slot = st.container()                    # above the tabs; the inspector also fills the radius tab
    tab_radius, tab_mc = st.tabs(["Exact radius map", "Check against Monte Carlo"])
    draw = partial(draw_maps, current, m, sigma, overlay, points, marks, tuple(zip(map_columns, keys)), tab_radius)
    with inspector_slot:
        answer.inspector(current, m, sigma, cp, draw, path_chart)
    with tab_mc:
        monte_carlo_tab(current, m, sigma, resolution, cp)
    bc.scrub_smoothed_map(current, m, sigma, overlay, f".st-key-{keys[-1]}")   # last: its frames never delay the page
    answer.start_polling()            # the table's poll for its slow rows, once everything else is sent


def draw_maps(current, m: bc.Maps, sigma: float, overlay: bool, points, marks, slots, radius_tab, point,
              rows) -> None:
    """The maps (f and g, or g alone) into ``slots`` ((column, key) pairs) and the exact radius map into
    ``radius_tab``, with ``point`` and the circles of its fast ``rows`` (none without a point). They are
    ``ui.image_map`` pictures, not Plotly charts: a σ step redraws a picture and a few SVG elements (Plotly's redraw
    of the two charts held the browser for most of a step: bench/RESULTS.md), and a click on any of them selects
    the point."""
    font = image_map.FONT_PRESENTER if presenter.active() else image_map.FONT
    specs = explorer.map_specs(m.view, m.base.crop(), m.probs, m.radius, current.class_names, sigma, m.abstain_p,
                               overlay, points, marks, point, rows, bc.map_images(current, m, sigma, overlay))
    for (col, key), spec in zip(slots, specs):
        with col:
            image_map.draw(key, bf.map_picture(spec, font, overlay), state.set_point)
    with radius_tab:
        image_map.draw("radius_map", bf.radius_picture(m.view, m.radius, sigma, point,
                                                       bc.radius_png(current.key, m.radius, state.VIEW,
                                                                     m.view.resolution, sigma), font),
                       state.set_point)
        st.caption(bf.RADIUS_CAPTION)


def monte_carlo_tab(current, m: bc.Maps, sigma: float, resolution: int, cp) -> None:
    """The Monte Carlo check of the exact map: its settings, and its result once asked for at these settings."""
    ss = st.session_state
    a, b = st.columns([1, 2])
    size = a.slider("Coarse grid (points per axis)", 4, 16, 8, key="mc_size",
                    help="The check samples p_A at size × size points spread over the view.")
    mc_n = a.select_slider("Samples per point", (500, 1000, 2000, 5000), 1000, key="mc_n",
                           help="Monte Carlo samples at each grid point; the error shrinks like 1/√n.")
    request = (current.key, sigma, size, mc_n, resolution, cp.seed)
    if a.button("Run the check", key="mc_run", help="Sample the smoothed classifier and compare with the exact map.",
                type="primary"):
        ss["mc_request"] = request
    if ss.get("mc_request") != request:
        b.info("Press **Run the check** to estimate p_A by sampling and compare it with the convolved map.")
        return
    mc = bc.monte_carlo_check(current.key, current.model, m.base, state.VIEW, resolution, state.SIGMA_MAX,
                              sigma, size, mc_n, cp.seed)
    a.metric("Inside 3 standard errors", f"{mc.within.mean():.0%}", help="Expected ≈ 99.7% if the exact map is right.")
    a.metric("Largest |z|", f"{np.abs(mc.z).max():.2f}",
             help="Largest deviation in binomial standard errors (grid error ignored).")
    b.plotly_chart(bf.monte_carlo_agreement(mc.exact, mc.estimate, mc.se, mc.slack, mc_n),
                   key="mc_fig", theme=None, config={"displaylogo": False})
