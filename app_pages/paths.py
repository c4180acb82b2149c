"""Activation paths: float neurons, fixed and float path surfaces, SC-RFP and its soundness audit (Jiang)."""
import numpy as np
import streamlit as st

from ui import navigation, presenter, state
from ui.paths import cache as pc
from ui.paths import views


st.title(navigation.PATHS.title)
with presenter.folded("About this page"):
    st.caption("Jiang, *On explaining neural network robustness with activation path*: neurons whose activation "
               "pattern changes between x and x + ε are **float** (Definition 3); f splits exactly into the paths "
               "through fixed neurons only (Z_fixed, affine over the region) and the rest (Z_float, Theorem 1). "
               "SC-RFP represses float pre-activations by (1 − η) inside smoothing (Algorithm 1) — and its "
               "claimed radius is not sound.")

current, net = views.network_or_stop()
sigma, data = state.sigma(), current.dataset
eta, pool, beside = views.scrfp_controls(net)     # beside η: the centre x

# ---------------------------------------------------------------- the centre x
if current.is_2d:
    center, where = pc.plane_center(state.selected_point(), data)
elif data is not None:
    idx = beside.number_input("Test image", 0, len(data.x_test) - 1, 0, key="paths_index",
                              help="The image x at the centre of the slice, the float-neuron region and the audit.")
    center, where = data.x_test[int(idx)].astype(np.float32), f"test image {int(idx)}"
else:
    st.info(f"No test data: {current.dataset_note}. The constructed counterexample does not need any.")
    views.constructed_section()
    st.stop()
beside.markdown(f"**x** = {where}" + (f" ({center[0]:.3f}, {center[1]:.3f})" if current.is_2d else "") +
                f" · σ = {sigma:g} (sidebar) · model **{current.label}**")
# only the open tab's section runs (on_change="rerun"): a first load draws Figure 2 alone, not Figure 6's three
# WebGL scenes nor the audit's controls
tabs = st.tabs(["Float neurons", "Path surfaces", "SC-RFP audit", "Vulnerability (Table 1)"], key="paths_tab",
               on_change="rerun")
sections = (views.float_neurons_section, views.surfaces_section, views.audit_section, views.vulnerability_section)
for tab, section in zip(tabs, sections):
    with tab:
        if tab.open:
            section(current, net, center, eta, pool)

views.constructed_section()
