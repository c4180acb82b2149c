"""Smoothed robustness (SRA): worst-case, average-case and smoothed analyses side by side, Lipschitz and
margin certificates, and the robustness curves of margin-trained models (Rodrigues Crespo & Teramae)."""
import numpy as np
import streamlit as st

from cert_core.methods.margin.train import LOSS_LABELS, LOSSES
from cert_core.models.zoo import ZOO
from ui.margin import cache as mc
from ui.margin import figures as mf
from ui import cache, navigation, state

PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})
ss = st.session_state

st.title(navigation.MARGIN.title)
st.caption("Smoothed Robustness Analysis (Rodrigues Crespo & Teramae): the worst loss inside a region Ω(x) of "
           "the loss averaged over a noise ρ. Ω = {x} gives the average case, ρ = δ the worst case; with the "
           "margin loss it yields the margin smoothed certified radius (MSCR) of a Lipschitz network.")

current = state.current_model_or_stop()
sigma, shape = state.sigma(), current.loaded.input_shape

# ---------------------------------------------------------------- Lipschitz constant of the current model
layers, problem = mc.lipschitz_layers(current.key, current.model, tuple(shape or ()))
k = float(np.prod([b.upper for b in layers])) if layers else None
if k is None:
    st.warning(f"**No Lipschitz bound for {current.label}**: {problem} Margin certificates (MCR, MSCR) need a "
               "Lipschitz constant K: without one, a margin says nothing about how far the boundary is.",
               icon=":material/warning:")
else:
    top = st.columns([1, 3])
    top[0].metric("Lipschitz bound K", f"{k:.4g}", help="Guaranteed l2 upper bound of the logit map: product of "
                  "per-layer spectral norms (power iteration, certified by a Gram-iteration bound).")
    if k > 1.01:
        top[1].info(f"**{current.label} is not Lipschitz-constrained**: K ≤ {k:.3g} is a product of layer norms, "
                    "far above its real local slope, so MCR = −margin/(√2 K) is a valid but tiny radius. Pick an "
                    "`*-ortho-*` model (Björck-orthogonal, K ≈ 1) to see margin certificates at work.",
                    icon=":material/info:")
    else:
        top[1].success("1-Lipschitz network (Björck-orthonormal weights): margins are distances up to √2.",
                       icon=":material/check_circle:")
    with top[1].expander("Per-layer bounds"):
        st.dataframe([{"layer": f"{b.index} {b.name}", "input": str(b.input_shape), "upper bound": f"{b.upper:.5g}",
                       "power iteration": f"{b.estimate:.5g}", "how": b.note} for b in layers],
                     hide_index=True, key="sra_layers")

# ---------------------------------------------------------------- Figure 1, interactive
st.subheader("Figure 1: three analyses at a point")
if current.is_2d:
    point = state.selected_point() or (0.5, 0.25)
    c = st.columns([1, 1, 1.2, 1.2, 1])
    px = c[0].number_input("x₁", -3.0, 3.0, float(point[0]), 0.05, key="sra_x", help="The analysed point.")
    py = c[1].number_input("x₂", -3.0, 3.0, float(point[1]), 0.05, key="sra_y", help="The analysed point.")
    eps = c[2].slider("Region Ω(x): radius ε", 0.0, 1.5, 0.3, 0.01, key="sra_eps",
                      help="Ω(x) is the l2 ball of radius ε around x (the adversary's region).")
    loss = c[3].radio("Loss T", ("margin", "zero_one"), key="sra_loss", horizontal=True,
                      format_func={"margin": "margin (Γ = 0)", "zero_one": "0-1 (Γ = ½)"}.get,
                      help="Condition 1: E T < Γ implies correct on average. 0-1 loss: randomized smoothing; "
                           "margin loss: MSCR (needs symmetric outputs, Prop. 3).")
    n = c[4].select_slider("Noise samples", (100, 250, 500, 1000), 250, key="sra_n",
                           help="Monte Carlo samples of ρ per point of Ω (shared by all points).")
    point = (float(px), float(py))
    a = mc.point_analysis(current.key, current.model, point, float(eps), sigma, loss, int(n))
    half = eps + 3 * sigma + 0.2
    extent = (point[0] - half, point[0] + half, point[1] - half, point[1] + half)
    labels = mc.local_labels(current.key, current.model, extent)
    cloud = np.random.default_rng(0).standard_normal((300, 2)) * sigma
    panels = [("Average case", 0.0, cloud, point, a.average, None, "E_ρ(x) T"),
              ("Worst case", eps, None, point, a.worst, a.worst_point, "max_Ω T"),
              ("Smoothed (SRA)", eps, cloud, a.smoothed_point, a.smoothed, a.smoothed_point, "max_Ω E_ρ T")]
    for col, (title, e, cl, at, value, mark, formula) in zip(st.columns(3), panels):
        col.plotly_chart(mf.local_map(labels, extent, point, e, cl, at, title, a.safe(value), mark),
                         key=f"sra_fig_{title[:5]}", **PLOT)
        col.markdown(f"{formula} = **{value:.3f}** {'<' if a.safe(value) else '≥'} Γ = {a.gamma:g} → "
                     f"{'safe' if a.safe(value) else '**not safe**'}")
    st.caption(f"Class analysed: {current.class_names[a.label]} (the base prediction at x). Maxima over a lattice "
               "of Ω and expectations by Monte Carlo: a numerical illustration, not a certificate.")
    if k is not None:
        radii = mc.point_radii(current.key, current.model, point, sigma, k, 2000, 0.001)
        cols = st.columns(len(radii))
        for col, (name, r) in zip(cols, radii.items()):
            col.metric(name, f"{r:.3f}", delta=f"covers Ω (ε = {eps:g})" if r > eps else f"smaller than ε = {eps:g}",
                       delta_color="normal" if r > eps else "inverse", delta_arrow="off",
                       help={"MCR (Eq. 6)": "Guarantee for the base classifier.",
                             "MSCR, Monte Carlo (Eq. 5)": "Guarantee (prob. 0.999) for the mean-logit smoothed "
                             "classifier; for the majority vote only if outputs are symmetric (Prop. 3).",
                             }.get(name, "Estimate under the paper's normality assumption: no guarantee."))
else:
    st.info(f"Figure 1 draws a 2D neighbourhood; **{current.label}** takes inputs of shape {shape}. The curves "
            "below work for it.", icon=":material/info:")

# ---------------------------------------------------------------- Appendix B curves
st.subheader("Robustness curves on the test set (Appendix B)")
data = current.dataset
if data is None or k is None:
    st.info("The curves need the model's test set and a Lipschitz bound: "
            f"{current.dataset_note or problem}.", icon=":material/info:")
else:
    c = st.columns([2.2, 1, 1, 1])
    chosen = c[0].multiselect("Train one orthogonal MLP per loss (Table 1)", [LOSS_LABELS[x] for x in LOSSES],
                              [], key="sra_losses", help="Short cached trainings (Björck MLP 32×2) on this "
                              "dataset with the d and σ_x on the right; a few seconds each on a CPU.")
    d = c[1].number_input("d", 0.0, 3.0, 0.3, 0.05, key="sra_d", help="Hinge target radius of MSCR/MCR/Zhen "
                          "(margin of MH).")
    s_x = c[2].number_input("σ_x", 0.0, 1.0, 0.2, 0.05, key="sra_sx", help="Noise std of the smoothed losses.")
    epochs = c[3].select_slider("Epochs", (10, 20, 30, 60), 20, key="sra_epochs", help="Training epochs.")
    reports = {current.label: mc.report(current.key, current.model, current.dataset_key, data.x_test, data.y_test,
                                        current.num_classes, k, 0.25)}
    for e in ZOO:
        if e.margin is not None and e.dataset_spec == data.spec and f"zoo:{e.name}" != current.key:
            loaded = cache.zoo_model(e.name)
            bounds, _ = mc.lipschitz_layers(f"zoo:{e.name}", loaded.model, loaded.input_shape)
            reports[e.name] = mc.report(f"zoo:{e.name}", loaded.model, current.dataset_key, data.x_test,
                                        data.y_test, current.num_classes, float(np.prod([b.upper for b in bounds])),
                                        0.25)
    names = {LOSS_LABELS[x]: x for x in LOSSES}
    for label in chosen:
        try:
            model = mc.trained_per_loss(current.dataset_key, data, names[label], float(d), float(s_x), int(epochs))
        except ValueError as exc:
            st.warning(f"{label} training failed: {exc}", icon=":material/warning:")
            continue
        key = f"loss:{label}:{d}:{s_x}:{epochs}:{current.dataset_key}"
        bounds, _ = mc.lipschitz_layers(key, model, tuple(data.input_shape))
        reports[f"{label} d={d:g} σ_x={s_x:g}"] = mc.report(key, model, current.dataset_key, data.x_test,
                                                             data.y_test, current.num_classes,
                                                             float(np.prod([b.upper for b in bounds])), 0.25)
    st.plotly_chart(mf.curves_figure(reports), key="sra_curves", **PLOT)
    st.dataframe([{"model": name, **{key: f"{v:.3f}" for key, v in rep.aucs.items()}}
                  for name, rep in reports.items()], hide_index=True, key="sra_aucs")
    st.caption("(a) margin CR = −margin/(√2K) of the base model; (b) Cohen CERTIFY at σ = 0.25, n = 1000, "
               "α = 0.001; (c) accuracy under N(0, σ_x²I) (dotted: normalised so the floor 1/|C| maps to 0); (d) "
               "accuracy on αx + (1−α)·gray. Each CR curve has its own radius axis, from 0 to just past the largest "
               "radius its certificate can give, so AUC_CR is the average certified radius.")

# ---------------------------------------------------------------- Figure 2 heatmap
st.subheader("Figure 2: the (d, σ_x) trade-off")
heat = mc.heatmap_data()
if heat is None:
    st.info("The precomputed heatmap is missing; build it with `python -m cert_core.methods.margin.heatmap`.")
else:
    metric = st.radio("Metric", heat["metrics"], key="sra_metric", horizontal=True,
                      help="Clean accuracy, margin AUC_CR (worst case), AUC_GN (noise), RS AUC_CR (smoothed).")
    st.plotly_chart(mf.heatmaps(heat, metric), key="sra_heat", **PLOT)
    st.caption(f"Precomputed short trainings ({heat['epochs']} epochs, {heat['architecture']}) on "
               f"{heat['dataset']['name']}. The paper (Figure 2, MNIST) finds that larger d buys margin robustness "
               "at some clean accuracy and larger σ_x noise robustness; on this small 2D set the d trend is clear "
               "(AUC_CR margin), the σ_x trend is weak.")
