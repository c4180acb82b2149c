"""The sequential path under the point inspector's table: the sentence and the small chart."""
from __future__ import annotations

import streamlit as st

from cert_core.smoothing import Certificate
from ui import presenter
from ui.sequential import cache, figures


def path_chart(current, point, sigma: float, n0: int, n: int, alpha: float, seed: int, fixed: Certificate) -> None:
    """How the anytime bound tightened as samples arrived, against fixed-n CERTIFY (``fixed``)."""
    params = cache.path_params(point, sigma, n0, n, alpha, seed)
    path = cache.cached_path(current.key, current.model, current.num_classes, params)
    with st.expander(f"Sequential certification: {cache.summary(path, fixed)}", expanded=True,
                     icon=":material/timeline:"):
        st.plotly_chart(presenter.scale(figures.path_figure(path.samples, path.p_lower, path.radius,
                                                            fixed.n0 + fixed.n, fixed.p_lower, fixed.radius,
                                                            path.drawn)),
                        key="sequential_path", theme=None, config={"displayModeBar": False})
        st.caption("The blue steps are the bound after each look (growing batches of ~25%): with probability "
                   f"≥ 1 − α = {1 - alpha:g} it holds at every look at once, so stopping early costs nothing in "
                   "validity. The dashed line is fixed-n CERTIFY, which must draw all n samples first.")
