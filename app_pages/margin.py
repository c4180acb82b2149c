"""Smoothed robustness (SRA): worst-case, average-case and smoothed analyses side by side, Lipschitz and
margin certificates, and the robustness curves of margin-trained models (Rodrigues Crespo & Teramae)."""
import streamlit as st

from ui import image_map, navigation, presenter, sections, state
from ui.margin import cache as mc
from ui.margin import figures as mf
from ui.margin import views

MC_N, MC_ALPHA = 2000, 0.001          # noise samples and failure probability of the Monte Carlo MSCR at the point

st.title(navigation.MARGIN.title)
with presenter.folded("About this page"):
    st.caption("Smoothed Robustness Analysis (Rodrigues Crespo & Teramae): the worst loss inside a region Ω(x) of "
               "the loss averaged over a noise ρ. Ω = {x} gives the average case, ρ = δ the worst case; with the "
               "margin loss it yields the margin smoothed certified radius (MSCR) of a Lipschitz network.")

current = state.current_model_or_stop()
sigma, shape = state.sigma(), current.loaded.input_shape

# ---------------------------------------------------------------- Lipschitz constant of the current model
lip = mc.lipschitz(current.key, current.model, tuple(shape or ()))
k = lip.k
views.lipschitz_section(current.label, lip)

# ---------------------------------------------------------------- Figure 1, interactive
st.subheader("Figure 1: three analyses at a point")
if current.is_2d:
    point = state.selected_point() or (0.5, 0.25)
    c = st.columns([0.8, 0.8, 1.2, 1.7] if presenter.active() else [1, 1, 1.2, 1.2, 1])   # presenter: n is hidden
    px = c[0].number_input("x₁", -3.0, 3.0, float(point[0]), 0.05, key="sra_x", help="The analysed point.")
    py = c[1].number_input("x₂", -3.0, 3.0, float(point[1]), 0.05, key="sra_y", help="The analysed point.")
    eps = c[2].slider("Region Ω(x): radius ε", 0.0, 1.5, 0.3, 0.01, key="sra_eps",
                      help="Ω(x) is the l2 ball of radius ε around x (the adversary's region).")
    loss = c[3].radio("Loss T", ("margin", "zero_one"), key="sra_loss", horizontal=True,
                      format_func={"margin": "margin (Γ = 0)", "zero_one": "0-1 (Γ = ½)"}.get,
                      help="Condition 1: E T < Γ implies correct on average. 0-1 loss: randomized smoothing; "
                           "margin loss: MSCR (needs symmetric outputs, Prop. 3).")
    n = (c[4] if len(c) > 4 else st.container()).select_slider(
        "Noise samples", (100, 250, 500, 1000), 250, key="sra_n",
        help="Monte Carlo samples of ρ per point of Ω (shared by all points).")
    params = mc.PointParams((float(px), float(py)), float(eps), sigma, loss, int(n))
    a = mc.point_analysis(current.key, current.model, params)
    labels = mc.local_labels(current.key, current.model, mc.extent(params))
    # presenter: Figure 1 on the first screen, its text as large as the other figures' there
    size, font = (mf.PANEL_PRESENTER, round(13 * presenter.SCALE)) if presenter.active() else (mf.PANEL, 13)
    panels = mf.figure1_panels(labels, mc.extent(params), a, params, size, font)
    for col, (title, picture, verdict) in zip(st.columns(3), panels):
        with col:       # pictures, not Plotly charts: no Plotly on the first screen (ui/image_map.py)
            image_map.draw(f"sra_fig_{title[:5]}", picture)
        col.markdown(verdict)
    st.caption(f"Class analysed: {current.class_names[a.label]} (the base prediction at x). Maxima over a lattice "
               "of Ω and expectations by Monte Carlo: a numerical illustration, not a certificate.")
    if k is not None:
        radii = mc.point_radii(current.key, current.model, params.point, sigma, k, MC_N, MC_ALPHA)
        for col, (name, r) in zip(st.columns(len(radii)), radii.items()):
            col.metric(name, f"{r:.3f}", delta=f"covers Ω (ε = {eps:g})" if r > eps else f"smaller than ε = {eps:g}",
                       delta_color="normal" if r > eps else "inverse", delta_arrow="off",
                       help=mf.RADIUS_HELP.get(name, mf.ESTIMATE_HELP))
        if note := mf.radii_gap_note(radii, MC_N, MC_ALPHA):
            st.caption(note)
else:
    state.needs_2d(current, "Figure 1 (a 2D neighbourhood)", "The curves below work for it.")

# ---------------------------------------------------------------- below the fold: computed once opened
if (box := sections.lazy("Is the closed form (Eq. 7) a radius?", "sra_closed_open")) is not None:
    with box:
        views.closed_form_section(current, k, sigma)
if (box := sections.lazy("Robustness curves on the test set (Appendix B)", "sra_curves_open")) is not None:
    with box:
        views.curves_section(current, k, lip.problem)
if (box := sections.lazy("Figure 2: the (d, σ_x) trade-off", "sra_heat_open")) is not None:
    with box:
        views.heatmap_section()
