"""Activation paths: float neurons, fixed and float path surfaces, SC-RFP and its soundness audit (Jiang)."""
import numpy as np
import streamlit as st

from ui import navigation, presenter, state
from ui.paths import cache as pc
from ui.paths import figures as pf
from ui.paths import views

PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})
SIGMAS = (0.0, 0.05, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0)
ss = st.session_state

st.title(navigation.PATHS.title)
with presenter.folded("About this page"):
    st.caption("Jiang, *On explaining neural network robustness with activation path*: neurons whose activation "
               "pattern changes between x and x + ε are **float** (Definition 3); f splits exactly into the paths "
               "through fixed neurons only (Z_fixed, affine over the region) and the rest (Z_float, Theorem 1). "
               "SC-RFP represses float pre-activations by (1 − η) inside smoothing (Algorithm 1) — and its "
               "claimed radius is not sound.")

current, net = views.network_or_stop()
model, sigma, data, names = current.model, state.sigma(), current.dataset, current.class_names
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
tabs = st.tabs(["Float neurons", "Path surfaces", "SC-RFP audit", "Vulnerability (Table 1)"])

# ---------------------------------------------------------------- float neurons (Figure 2, heat map, diagram)
with tabs[0]:
    sample = data.x_test[:64] if data is not None else center[None]
    layer_names, table = pc.ratio_curve(current.key, model, current.dataset_key, sample, SIGMAS, 16, 0)
    left, right = st.columns(2)
    left.plotly_chart(pf.ratio_figure(SIGMAS, table, layer_names, sigma), key="paths_ratio", **PLOT)
    left.caption(f"Mean over {len(sample)} test inputs × 16 draws of ε. At σ = 0 every neuron is fixed; noise "
                 "flips the patterns of more neurons in some layers than in others.")
    if current.is_2d:
        heat = pc.float_map(current.key, model, state.VIEW, 60, sigma, 16, 0)
        right.plotly_chart(pf.float_heatmap(state.VIEW, heat, sigma, center,
                                            (data.x_test, data.y_test) if data is not None else None),
                           key="paths_heat", **PLOT)
        right.caption("Bright: many neurons change pattern under noise — near the decision boundaries and the "
                      "hyperplanes of the first layer.")
    widths = pc.diagram_widths(net)
    if widths is not None:
        r = st.slider("Radius r of the region B(x, r)", 0.01, 1.0, 0.1, 0.01, key="paths_ball",
                      help="The network diagram marks the neurons that float somewhere in this ball "
                           "(x and 256 points drawn uniformly in it).")
        floating = pc.floating_in_ball(model, center, r)
        st.plotly_chart(pf.network_figure(widths, floating, names), key="paths_net", **PLOT)
        st.caption(f"Region R = B(x, {r:g}): {sum(int(f.sum()) for f in floating)} of "
                   f"{sum(len(f) for f in floating)} hidden neurons float. Every path through a vermillion neuron is a "
                   "float path; the grey ones form Z_fixed.")

# ---------------------------------------------------------------- path surfaces (Figure 6)
with tabs[1]:
    c = presenter.folded("The slice: half-width, resolution, region R, logit").columns(4)   # the surfaces on screen
    half = c[0].slider("Half-width of the slice", 0.05, 3.0, 0.4 if current.is_2d else 1.0, 0.05, key="paths_half",
                       help="The slice spans x + s·u + t·v with |s|, |t| ≤ this (input units).")
    res = c[1].select_slider("Resolution", (21, 31, 41, 61), 41, key="paths_res", help="Grid points per axis.")
    region = c[2].radio("Region R", ("the whole slice", "each pair {x, x'}"), key="paths_region",
                        help="Whole slice: one float set for all points, so Z_fixed is one affine map (Lemma 3). "
                             "Pairwise: the float set of x and x' only, as in Algorithm 1 and Table 1.")
    cls = c[3].selectbox("Logit", range(current.num_classes), format_func=lambda k: names[k], key="paths_cls",
                         help="Which output coordinate f_k to draw.")
    how = "plane" if current.is_2d else st.radio("Directions", ("random orthogonal", "gradient and random"),
                                                 key="paths_dirs", horizontal=True,
                                                 help="u, v spanning the slice through the image x.")
    sf = pc.surfaces(current.key, model, pc.SurfaceParams.at(center, how, float(half), int(res), int(cls),
                     "set" if region.startswith("the whole") else "pairwise", float(eta), pool))
    axes = ("x₁ − x₁(x)", "x₂ − x₂(x)") if current.is_2d else ("s along u", "t along v")
    height = pf.SURFACES_PRESENTER if presenter.active() else pf.SURFACES_HEIGHT
    st.plotly_chart(pf.surfaces_figure(sf, eta, f"f_{cls}", axes, height), key="paths_surf", **PLOT)
    st.caption(f"{sf.float_ratio:.1%} of the neurons float over this region. f = Z_fixed + Z_float holds to "
               f"{np.abs(sf.fixed + sf.float - sf.f).max():.1e} (float64 path sums). SC-RFP keeps the fixed "
               "paths and scales the float ones, so (c) hugs Z_fixed as η → 1.")

# ---------------------------------------------------------------- SC-RFP vs Cohen, audit
with tabs[2]:
    c = st.columns(4)
    count = c[0].slider("Test points", 2, 40, 8, key="paths_count", help="Audited and certified test points.")
    n = c[1].select_slider("CERTIFY samples n", (500, 1000, 2000, 5000), 1000, key="paths_n",
                           help="Estimation samples of each CERTIFY (n0 = 100).")
    alpha = c[2].number_input("α", 1e-6, 0.5, 0.001, format="%g", key="paths_alpha",
                              help="Failure probability of each certificate.")
    if c[3].button("Run the audit", type="primary", key="paths_run",
                   help="Certify with both methods, then search inside every claimed ball (2D: exact grid "
                        "search; images: PGD on the smoothed classifier, verified with PREDICT)."):
        ss["paths_audit"] = True
    if data is None or not ss.get("paths_audit"):
        st.info("Press **Run the audit** to certify the test points with Cohen et al. and SC-RFP and search every "
                "claimed ball for a point where the same classifier changes its answer.", icon=":material/search:")
    else:
        audit = pc.audit_test_points(current, pc.AuditParams(int(count), sigma, float(eta), int(n), float(alpha), pool))
        views.audit_results(current, audit)

# ---------------------------------------------------------------- vulnerability (Table 1)
with tabs[3]:
    c = st.columns(4)
    attack = c[0].radio("Attack", ("fgsm", "pgd"), key="paths_attack", horizontal=True,
                        help="FGSM (one step) or 10-step PGD, as in Section 4.2.")
    norm = c[1].radio("Norm", ("linf", "l2"), key="paths_norm", horizontal=True, help="The attack's threat model.")
    eps = c[2].number_input("ε", 0.001, 5.0, 0.1 if not current.is_2d else 0.2, 0.01, key="paths_eps",
                            help="Attack budget in input units (the paper: 8/255 in L∞ on CIFAR-10).")
    if c[3].button("Build the table", key="paths_vuln", help="Attacks every σ_train variant of this zoo model."):
        ss["paths_vuln_on"] = True
    sibs = pc.siblings(current.label)
    if not sibs:
        st.info("Table 1 compares the zoo's σ_train variants of one model; pick a zoo model in the sidebar.")
    elif ss.get("paths_vuln_on"):
        rows = pc.vulnerability_table(tuple(sibs), float(eps), attack, norm, 200, sigma)
        st.dataframe(rows, hide_index=True, key="paths_vuln_table")
        st.caption("gap η: mean ‖Z_fixed(x') + (1 − η) Z_float(x') − f(x)‖₁ over x' = x + ε (σ from the sidebar). "
                   "An adversarial example is float-neuron vulnerable when Z_fixed(x_adv) still gives the label "
                   "(removing the float paths between x and x_adv repairs it), else Lipschitz vulnerable.")

views.constructed_section()
