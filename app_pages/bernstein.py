"""Bernstein-polynomial smoothing (Kao, Ko & Lu): deterministic smoothed boundaries (Figure 3), the
root-finding radius next to the exact distance and a sound certificate, the image pipeline (Algorithm 2,
Eq. 4), the ablations (Table 1, Figure 6) and the regression demo (Figure 7)."""
import json

import numpy as np
import streamlit as st

from cert_core.methods.bernstein.plane import regression_demo
from cert_core.models.data import BOX_2D
from cert_core.metrics import certified_accuracy
from cert_core.models.zoo import ZOO
from ui.bernstein import cache as bc
from ui.bernstein import figures as bf
from ui import cache, navigation, state, theme
from ui.inspector import describe
from ui.bernstein.provider import rows as bernstein_rows

PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})
BOTTLENECKS = tuple(e.name for e in ZOO if e.config.arch == "bottleneck")
STYLES = {"upper bound": (theme.VERMILLION, "dash"), "estimate": (theme.VERMILLION, "dash"),
          "exact": (theme.BLACK, "solid"), "certificate": (theme.GREEN, "dot")}

st.title(navigation.BERNSTEIN.title)
st.caption("Kao, Ko & Lu: replace a classifier head f on [0,1]^d by its Bernstein polynomial, the expectation of "
           "f at the binomial lattice — deterministic smoothing, no sampling. The paper's radius comes from "
           "root-finding; we show what it really is and add a sound certificate.")
st.latex(r"B_n(f;x)=\sum_{k\in\{0..n\}^d} f\!\left(\tfrac{k}{n}\right)\prod_{j=1}^d \binom{n}{k_j}x_j^{k_j}"
         r"(1-x_j)^{n-k_j},\qquad R_{\rm sound}=\min_{c\neq a}\frac{B_n(f_a-f_c;x_0)}{\big\|\,n\max_k|\Delta_j"
         r"(f_a-f_c)(k)|\,\big\|_2}")
current = state.current_model_or_stop()

tab2d, tabimg, tabreg = st.tabs(["2D: smoothed regions and radii", "Images: the paper's pipeline",
                                 "Regression (Figure 7)"])

# ---------------------------------------------------------------- 2D: Figure 3 + the three radii
with tab2d:
    if not current.is_2d:
        st.info(f"**{current.label}** is not a 2D model. Pick a 2D model (e.g. moons-mlp-s0) in the sidebar to "
                "see Figure 3; the image pipeline is in the next tab.", icon=":material/info:")
    else:
        c = st.columns([2, 1.4, 1, 1])
        n = c[0].slider("Degree n", 1, 60, 10, key="bern_n", help="Bernstein degree per axis: the head is sampled "
                        "on the (n+1)² lattice k/n. Small n: smooth, shifted boundary; large n: close to the model.")
        smooth = c[1].radio("Smooth", ["logits", "probabilities"], key="bern_smooth", horizontal=True,
                            help="Bernstein polynomial of the logits (the paper) or of the softmax probabilities.")
        point = state.selected_point() or (0.3, 0.5)
        px = c[2].number_input("x₁", -3.0, 3.0, float(point[0]), 0.05, key="bern_x", help="Point to certify.")
        py = c[3].number_input("x₂", -3.0, 3.0, float(point[1]), 0.05, key="bern_y", help="Point to certify.")
        st.caption("The view (−3, 3)² is mapped onto [0, 1]² by u = (x + 3) / 6, one scale for both axes, so every "
                   "radius in the table is in the plane's units (unit-box radius × 6).")
        poly = bc.plane_poly(current.key, current.model, BOX_2D, n, smooth)
        radii = bc.point_radii(current.key, poly, BOX_2D, n, smooth, (px, py))
        rows = bernstein_rows(n, radii)
        u = ((px + 3) / 6, (py + 3) / 6)
        circles = [(r.radius / 6, r.method, *STYLES[r.kind]) for r in rows]
        window = bf.zoom_window(u, [c[0] for c in circles])
        m = st.columns(3)
        m[0].plotly_chart(bf.regions(bc.base_labels(current.key, current.model, BOX_2D), current.num_classes,
                                     "Base classifier on [0,1]²", point=u, class_names=current.class_names),
                          key="bern_base_map", **PLOT)
        m[1].plotly_chart(bf.regions(bc.bernstein_labels(current.key, poly, BOX_2D, n, smooth), current.num_classes,
                                     f"Bernstein-smoothed, n = {n}", lattice_n=n, point=u, window=window,
                                     class_names=current.class_names), key="bern_smooth_map", **PLOT)
        # the radii are a few hundredths of the unit box: drawn on the whole box they hide under the marker
        m[2].plotly_chart(bf.regions(bc.zoom_labels(current.key, poly, BOX_2D, n, smooth, window), current.num_classes,
                                     f"Zoom ×{1 / (window[1] - window[0]):.0f}: the radii (unit box)", lattice_n=n,
                                     point=u, circles=circles, class_names=current.class_names, extent=window),
                          key="bern_zoom_map", **PLOT)
        if radii.root_overestimates:
            st.warning(f"**Root-finding overestimated the distance**: it reports {radii.root_radius:.3f}, but the "
                       f"Bernstein boundary is only {radii.exact_radius:.3f} ± {radii.exact_error:.3f} away. LM finds "
                       "*a* boundary point, not the nearest one — its radius is not a certificate.",
                       icon=":material/warning:")
        elif not radii.root.on_boundary:
            st.warning("**Root-finding did not reach the boundary**: LM stopped at a least-squares minimum that is "
                       "not a root of Eq. 9, so its radius means nothing.", icon=":material/warning:")
        st.table([describe(r) for r in rows], hide_index=True)      # a static table wraps the long notes

# ---------------------------------------------------------------- Images: Algorithm 2 + Eq. 4
def image_pipeline() -> None:
    """Algorithm 2 + the sound certificate on a test subset; every problem is a message, never a stop."""
    options = ([current.key] if current.key not in {f"zoo:{b}" for b in BOTTLENECKS} else []) + \
        [f"zoo:{b}" for b in BOTTLENECKS]
    default = options.index(current.key) if current.key in options and current.key.startswith("zoo:digits-bottle") \
        else options.index(f"zoo:{BOTTLENECKS[0]}")
    c = st.columns([2, 1, 1])
    key = c[0].selectbox("Bottleneck model", options, index=default, format_func=state.model_label, key="bern_model",
                         help="A model whose feature extractor G ends in d sigmoid features, followed by a head.")
    deg = c[1].number_input("Degree n", 1, 200, 4, key="bern_img_n", help="Bernstein degree per feature axis; the "
                            "lattice has (n+1)^d points, each evaluated once by the head.")
    size = c[2].slider("Test examples", 10, 200, 30, 10, key="bern_size", help="How many test images to certify "
                       "(the first ones of the test split).")
    loaded = cache.zoo_model(key[4:]) if key.startswith("zoo:") else current.loaded
    spec = loaded.metadata.get("dataset")
    dataset = cache.dataset_from_spec(json.dumps(spec, sort_keys=True)) if key.startswith("zoo:") and spec \
        else current.dataset
    if dataset is None:
        st.error("This model has no dataset attached, so there is no test set to certify.")
        return
    x, y = dataset.x_test[:size], dataset.y_test[:size]
    if st.button("Certify the subset", key="bern_go", type="primary", help="Run Algorithm 2 (LM root-finding), the "
                 "sound certificate and PGD on the chosen examples; results are cached."):
        st.session_state["bern_started"] = True
    if not st.session_state.get("bern_started"):
        st.info("Press **Certify the subset** to run the pipeline (a few seconds for 30 examples).")
        return
    try:
        run = bc.image_run(key, loaded.model, x, y, size, int(deg))
    except ValueError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    m = st.columns(4)
    m[0].metric("Base accuracy", f"{(run.base_prediction == run.labels).mean():.1%}",
                help="Natural accuracy of the unsmoothed model on the subset.")
    m[1].metric("Bernstein accuracy", f"{run.correct.mean():.1%}", help="Natural accuracy of argmax B_n(head)(G(I)).")
    m[2].metric("L_G (guaranteed)", f"{run.lipschitz_g:.4f}", help="Upper bound on G's l2 Lipschitz constant "
                "(cert_core.methods.lipschitz.bounds): spectral norms with a Gram-iteration certificate × the sigmoid's 1/4.")
    m[3].metric("Per example", f"{run.seconds_per_example * 1000:.0f} ms", help="LM root-finding + certificate.")
    st.caption(f"The paper assumes L_G = 1 for spectral-normalised layers (Eq. 4). Here the power-iteration "
               f"product is {run.lipschitz_g_estimate:.4f} and the guaranteed bound {run.lipschitz_g:.4f} — input "
               "radii use the guaranteed bound.")
    top = float(np.nanmax(np.r_[run.input_sound_radius[np.isfinite(run.input_sound_radius)], run.root_radius, 0.1]))
    grid_r = np.linspace(0, min(top * 1.05, 4.0), 60)
    eps = tuple(float(e) for e in np.linspace(0, grid_r[-1], 7))
    pgd = bc.pgd_curve(key, loaded.model, x, y, size, int(deg), eps)
    curves = {
        "sound certificate / L_G (ours)": (certified_accuracy(run.input_sound_radius, run.correct, grid_r),
                                           theme.GREEN, "solid"),
        "paper: root-finding radius, L_G = 1 (no guarantee)": (
            certified_accuracy(np.nan_to_num(run.root_radius), run.correct & run.on_boundary, grid_r),
            theme.VERMILLION, "dash"),
        "root-finding / L_G (no guarantee)": (
            certified_accuracy(np.nan_to_num(run.input_root_radius), run.correct & run.on_boundary, grid_r),
            theme.ORANGE, "dot"),
    }
    fig = bf.certified_curves(grid_r, curves, "Certified accuracy in input space (l2)", "input radius")
    fig.add_scatter(x=eps, y=pgd, mode="lines+markers", name="PGD upper bound (Figure 5)",
                    line=dict(color=theme.BLACK, dash="dashdot", width=3))
    st.plotly_chart(fig, key="bern_curves", **PLOT)
    st.dataframe([{"label": int(run.labels[i]), "base": int(run.base_prediction[i]), "Bernstein": int(run.prediction[i]),
                   "root radius (features)": f"{run.root_radius[i]:.4f}", "LM on boundary": bool(run.on_boundary[i]),
                   "sound radius (features)": f"{run.sound_radius[i]:.4f}",
                   "sound radius (input)": f"{run.input_sound_radius[i]:.4f}"} for i in range(len(run.labels))],
                 hide_index=True, key="bern_table", height=260)
    with st.expander("Ablations: degree n (Table 1) and feature dimension d (Figure 6, right)"):
        models = tuple(cache.zoo_model(b).model for b in BOTTLENECKS)
        rows = bc.ablation(BOTTLENECKS, models, x, y, size, (1, 2, 4, 8), (0.0, 0.05, 0.1))
        st.dataframe(rows, hide_index=True, key="bern_ablation")
        st.caption("Sound certificate only (root-finding is ~1000× slower). Small n keeps the head's large-scale "
                   "shape but moves its boundary: accuracy drops, as in the paper's MNIST Table 4.")



with tabimg:
    image_pipeline()

# ---------------------------------------------------------------- Regression: Figure 7
with tabreg:
    degrees = st.multiselect("Degrees", [2, 5, 10, 20, 40, 80, 160], [5, 20, 80], key="bern_reg_n",
                             help="Bernstein degrees used to smooth the over-fitted model.")
    if not degrees:
        st.warning("Pick at least one degree.")
    else:
        demo = regression_demo(tuple(sorted(degrees)))
        st.plotly_chart(bf.regression(demo, sorted(degrees)), key="bern_reg", **PLOT)
        best = min(sorted(degrees), key=lambda d: demo.errors[d])
        st.caption(f"The piecewise-linear model interpolates every noisy point and outlier (RMSE to the truth "
                   f"{demo.errors['fitted']:.3f}); B_{best} keeps the shape and averages the spikes away "
                   f"(RMSE {demo.errors[best]:.3f}). Too small n flattens the curve; too large n follows the noise.")
