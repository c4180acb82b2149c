"""Bernstein-polynomial smoothing (Kao, Ko & Lu): deterministic smoothed boundaries (Figure 3), the
root-finding radius next to the exact distance and a sound certificate, the image pipeline (Algorithm 2,
Eq. 4), the ablations (Table 1, Figure 6) and the regression demo (Figure 7)."""
import streamlit as st

from cert_core.methods.bernstein.plane import regression_demo
from ui import cache, navigation, presenter, state
from ui.bernstein import cache as bc
from ui.bernstein import figures as bf
from ui.inspector import describe

PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})

st.title(navigation.BERNSTEIN.title)
with presenter.folded("About this page"):
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
        state.needs_2d(current, "Figure 3", "The image pipeline is in the next tab.")
    else:
        c = st.columns([2, 1.4, 1, 1])
        n = c[0].slider("Degree n", 1, 60, 10, key="bern_n", help="Bernstein degree per axis: the head is sampled "
                        "on the (n+1)² lattice k/n. Small n: smooth, shifted boundary; large n: close to the model.")
        smooth = c[1].radio("Smooth", ["logits", "probabilities"], key="bern_smooth", horizontal=True,
                            help="Bernstein polynomial of the logits (the paper) or of the softmax probabilities.")
        point = state.selected_point() or (0.3, 0.5)
        px = c[2].number_input("x₁", -3.0, 3.0, float(point[0]), 0.05, key="bern_x", help="Point to certify.")
        py = c[3].number_input("x₂", -3.0, 3.0, float(point[1]), 0.05, key="bern_y", help="Point to certify.")
        p = bc.PlaneParams(n, smooth, (px, py))
        study = bc.plane_study(current, p)
        for col, (key, fig) in zip(st.columns(3), bf.plane_maps(study, p, current.num_classes,
                                                                current.class_names).items()):
            col.plotly_chart(fig, key=key, **PLOT)
        st.caption("The view (−3, 3)² is mapped onto [0, 1]² by u = (x + 3) / 6, one scale for both axes, so every "
                   "radius in the table is in the plane's units (unit-box radius × 6).")
        radii = study.radii
        if radii.root_overestimates:
            st.warning(f"**Root-finding overestimated the distance**: it reports {radii.root_radius:.3f}, but the "
                       f"Bernstein boundary is only {radii.exact_radius:.3f} ± {radii.exact_error:.3f} away. LM finds "
                       "*a* boundary point, not the nearest one — its radius is not a certificate.",
                       icon=":material/warning:")
        elif not radii.root.on_boundary:
            st.warning("**Root-finding did not reach the boundary**: LM stopped at a least-squares minimum that is "
                       "not a root of Eq. 9, so its radius means nothing.", icon=":material/warning:")
        st.table([describe(r) for r in study.rows], hide_index=True)      # a static table wraps the long notes

# ---------------------------------------------------------------- Images: Algorithm 2 + Eq. 4
def image_pipeline() -> None:
    """Algorithm 2 + the sound certificate on a test subset; every problem is a message, never a stop."""
    options, default = bc.bottlenecks(current)
    c = st.columns([2, 1, 1])
    key = c[0].selectbox("Bottleneck model", options, index=default, format_func=state.model_label, key="bern_model",
                         help="A model whose feature extractor G ends in d sigmoid features, followed by a head.")
    deg = c[1].number_input("Degree n", 1, 200, 4, key="bern_img_n", help="Bernstein degree per feature axis; the "
                            "lattice has (n+1)^d points, each evaluated once by the head.")
    size = c[2].slider("Test examples", 10, 200, 30, 10, key="bern_size", help="How many test images to certify "
                       "(the first ones of the test split).")
    loaded, dataset = bc.model_and_data(key, current)
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
    grid_r, eps = bc.radius_grid(run)
    pgd = bc.pgd_curve(key, loaded.model, x, y, size, int(deg), eps)
    st.plotly_chart(bf.pipeline_figure(run, grid_r, eps, pgd), key="bern_curves", **PLOT)
    st.dataframe(bf.run_rows(run), hide_index=True, key="bern_table", height=260)
    with st.expander("Ablations: degree n (Table 1) and feature dimension d (Figure 6, right)"):
        models = tuple(cache.zoo_model(b).model for b in bc.BOTTLENECKS)
        rows = bc.ablation(bc.BOTTLENECKS, models, x, y, size, (1, 2, 4, 8), (0.0, 0.05, 0.1))
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
