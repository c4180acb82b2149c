"""Per-input σ: data-dependent randomized smoothing (Alfarra et al., 2022) and why certifying it is delicate."""
import numpy as np
import streamlit as st

from cert_core.methods.ddrs import sigma as ddrs
from cert_core.models.bundles import ModelLoadError
from ui import cache, navigation, state
from ui.ddrs import cache as ddrs_cache
from ui.ddrs import figures as ddrs_figures
from ui.images import png_uri, smoothed_image

ss = st.session_state
PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})

st.title(navigation.DDRS.title)
st.caption("Data-dependent smoothing (Alfarra, Bibi, Torr & Ghanem, 2022): pick for each input the σ that "
           "maximises its radius. The sidebar's σ is σ₀, the starting point and the fixed-σ baseline.")


def soundness_section() -> None:
    st.subheader("Is it a certificate?")
    cex = ddrs.stripe_counterexample()
    (far, inn), (s_far, s_in), (r_far, r_in) = cex.points, cex.sigma_star, cex.radius
    left, right = st.columns([1, 1.2])
    left.plotly_chart(ddrs_figures.counterexample_figure(cex), key="cex_fig", **PLOT)
    ff, fi = cex.memory_far_first, cex.memory_in_first
    right.markdown(
        f"**Without memory, no.** CERTIFY at σ*ₓ proves that the classifier smoothed with the *fixed* σ*ₓ is "
        f"constant on a ball; but the data-dependent classifier uses another σ at every other point of that "
        f"ball (Súkeník, Kuvshinov & Günnemann, 2022). Take *f* = class 1 on the thin stripe "
        f"{cex.stripe[0]:g} ≤ x₁ ≤ {cex.stripe[1]:g}, else class 0 (all probabilities exact):\n\n"
        f"- x_far = ({far[0]:g}, 0): the radius grows with σ, σ* = {s_far:.2f}, class 0, claimed R = {r_far:.2f};\n"
        f"- x_in = ({inn[0]:g}, 0), on the stripe: σ* = {s_in:.2f}, class **1**, at distance {cex.distance:.2f} "
        f"< {r_far:.2f} from x_far — inside its \u201ccertified\u201d ball.\n\n"
        f"**The memory (Sec. 3.5) restores consistency, but only for the queries it has seen, in their order:**")
    right.dataframe([
        {"order": "x_far first", "answer at x_far": f"class {ff[0].prediction}, R = {ff[0].radius:.2f}",
         "answer at x_in": f"class {ff[1].prediction} ({ff[1].case}), R = {ff[1].radius:.2f}"},
        {"order": "x_in first", "answer at x_far": f"class {fi[1].prediction} ({fi[1].case}), R = {fi[1].radius:.2f}",
         "answer at x_in": f"class {fi[0].prediction}, R = {fi[0].radius:.2f}"}], hide_index=True, key="cex_table")
    right.caption("Same two inputs, same σ*, different answers at x_in: the memory-enhanced classifier is a "
                  "function of the query history, so its radii certify that history, not a fixed classifier.")


try:
    current = state.current_model()
except (ModelLoadError, FileNotFoundError, ValueError) as exc:
    st.error(f"The current model cannot be loaded: {exc}")
    soundness_section()
    st.stop()
if not current.is_2d:
    st.warning(f"**{current.label}** takes inputs of shape {current.loaded.input_shape}; the σ*(x) maps need a 2D "
               "model (pick one in the sidebar). The counterexample below does not depend on the model.",
               icon=":material/warning:")
    soundness_section()
    st.stop()

# ---------------------------------------------------------------- controls
sigma0, names = state.sigma(), current.class_names
c = st.columns([1.6, 1, 1, 1, 1])
s_range = c[0].slider("σ searched for σ*(x)", state.SIGMA_MIN, state.SIGMA_MAX, (0.05, state.SIGMA_MAX), 0.01,
                      key="ddrs_range", help="The exact maps try every σ of a geometric grid in this range.")
count = c[1].select_slider("σ values", (8, 16, 24, 32, 48), 24, key="ddrs_count",
                           help="Grid points in the σ range: one exact Gaussian convolution each.")
resolution = c[2].select_slider("Resolution", (100, 150, 200, 300), 150, key="ddrs_res",
                                help="Pixels per axis of the exact maps.")
steps = c[3].number_input("K (steps)", 0, 200, 20, key="ddrs_steps",
                          help="Gradient-ascent steps of OptimizeSigma (Algorithm 1).")
lr = c[4].number_input("Learning rate α", 0.0, 5.0, 0.05, 0.01, key="ddrs_lr",
                       help="Step size of σ ← σ + α ∇σ R in Algorithm 1.")
c = st.columns([1, 1, 1, 1, 1])
n_opt = c[0].number_input("n per step", 1, 4096, 32, key="ddrs_n",
                          help="Monte Carlo samples per step of Algorithm 1 (the paper uses 1 on CIFAR-10).")
n_cert = c[1].select_slider("CERTIFY samples n", (500, 1000, 2000, 5000, 10000), 1000, key="ddrs_ncert",
                            help="Estimation samples of CERTIFY at σ*ₓ for each test point.")
alpha = c[2].number_input("α", 1e-6, 0.5, 0.001, format="%g", key="ddrs_alpha",
                          help="Failure probability of each CERTIFY.")
order_how = c[3].radio("Query order", ("test order", "reversed", "shuffled"), key="ddrs_order", horizontal=True,
                       help="The order in which the memory sees the test points; its answers depend on it.")
seed = c[4].number_input("seed", 0, 1_000_000, 0, key="ddrs_seed", help="Seeds the optimiser and CERTIFY.")
if s_range[0] >= s_range[1]:
    st.error("The σ range must not be empty: move the right handle above the left one.")
    st.stop()
config = (sigma0, int(steps), float(lr), int(n_opt), 0.01, ddrs.CLAMP)

# ---------------------------------------------------------------- the three maps
try:   # seconds the first time (cached after: the same inputs rerun instantly), so say what is happening
    with st.spinner(f"Computing the exact maps: the model on a {resolution}×{resolution} grid, then one Gaussian "
                    f"blur per σ ({count} values of σ)…", show_time=True):
        base = cache.base_map(current.key, current.model, state.VIEW, resolution, state.SIGMA_MAX)
        mp = ddrs_cache.maps(current.key, base, state.VIEW, resolution, state.SIGMA_MAX, sigma0, s_range, count)
except ValueError as exc:
    st.error(f"The maps cannot be computed: {exc}")
    st.stop()
view, point = base.view, state.selected_point()


def _clicked(key: str) -> None:
    hits = ((ss.get(key) or {}).get("selection") or {}).get("points") or []
    if hits:
        state.set_point(hits[0]["x"], hits[0]["y"])


zmax = float(np.nanmax(mp.radius_star)) or 1.0
figs = {"ddrs_fixed": ddrs_figures.heat_map(view, mp.radius0, f"Fixed σ₀ = {sigma0:g}: exact radius", "radius",
                                            zmax, point),
        "ddrs_sigma": ddrs_figures.heat_map(view, mp.sigma_star, "σ*(x): the radius-maximising σ", "σ*",
                                            s_range[1], point, colorscale="Viridis", log=True),
        "ddrs_rstar": ddrs_figures.heat_map(view, mp.radius_star, "R*(x) = max over σ of R(x; σ)", "radius",
                                            zmax, point, violation=mp.violation)}
for col, (key, fig) in zip(st.columns(3), figs.items()):
    col.plotly_chart(fig, key=key, on_select=lambda k=key: _clicked(k), selection_mode="points", **PLOT)
st.caption("Click any map to inspect a point. Outlined in vermillion on the R* map: pixels whose R* ball reaches a "
           "point the same data-dependent classifier labels differently — there R* is not a certificate.")
m = st.columns(4)
m[0].metric("Mean radius, fixed σ₀", f"{mp.radius0.clip(0).mean():.3f}", help="Over the pixels of the view.")
m[1].metric("Mean R*", f"{mp.radius_star.clip(0).mean():.3f}", help="The same, with the best σ per pixel.")
m[2].metric("Median σ*", f"{np.median(mp.sigma_star):.3f}", help="σ* varies over the plane: large far from "
            "the boundary, small next to it.")
m[3].metric("View where R* is false", f"{mp.violation_fraction:.1%}",
            help="Pixels whose R* ball contains a point of another class of the same data-dependent classifier "
                 "(its prediction equals the σ₀-smoothed one, Eq. 2): outlined in vermillion on the R* map.")

# ---------------------------------------------------------------- a point
st.subheader("At a point")
if point is None:
    st.info("Click a map to see the exact R(σ) curve there and the path of OptimizeSigma on it.",
            icon=":material/ads_click:")
else:
    cls, sig_grid, rcurve = ddrs_cache.curve(current.key, base, resolution, point, sigma0, s_range)
    search = ddrs_cache.search_at(current.key, current.model, point, config, int(seed))
    exact = ddrs_cache.exact_at(current.key, base, resolution, point, cls, tuple(search.sigmas[0]))
    left, right = st.columns([1.4, 1])
    left.plotly_chart(ddrs_figures.curve_figure(sig_grid, rcurve, search.sigmas[0], exact, search.radii[0], sigma0,
                                                names[cls]), key="ddrs_curve", **PLOT)
    i, j = np.rint((point[1] - view.bounds[2]) / view.spacing[1]), np.rint((point[0] - view.bounds[0]) / view.spacing[0])
    dist = float(mp.distance[int(i), int(j)])
    right.markdown(f"**Point** ({point[0]:.3f}, {point[1]:.3f}) · class at σ₀: **{names[cls]}**")
    right.dataframe([
        {"what": "exact radius at σ₀", "σ": f"{sigma0:g}", "radius": f"{exact[0]:.3f}"},
        {"what": "OptimizeSigma σ* (exact radius there)", "σ": f"{search.sigma[0]:.3f}", "radius": f"{exact[-1]:.3f}"},
        {"what": "best σ on the grid", "σ": f"{sig_grid[int(np.argmax(rcurve))]:.3f}", "radius": f"{rcurve.max():.3f}"},
        {"what": "distance to the σ₀-smoothed boundary", "σ": "—", "radius": f"{dist:.3f}"}],
        hide_index=True, key="ddrs_point_table")
    if max(exact[-1], rcurve.max()) > dist + max(view.spacing):
        right.error("Here the per-input σ radius is larger than the distance to a point the same data-dependent "
                    "classifier labels differently: it is not a certificate.", icon=":material/gpp_bad:")
    right.caption("The Decision boundaries page's inspector also draws the σ* circle next to the fixed-σ ones.")

# ---------------------------------------------------------------- the memory on the test set
st.subheader("Memory-based certification of the test set")
data = current.dataset
if data is None:
    st.info(f"No test set: {current.dataset_note}.")
else:
    dd = ddrs_cache.dd_test_set(current.key, current.model, current.num_classes, current.dataset_key, data.x_test,
                                config, 100, int(n_cert), float(alpha), int(seed))
    fixed = cache.certify_test_set(current.key, current.model, current.num_classes, current.dataset_key,
                                   data.x_test, data.y_test, sigma0, 100, int(n_cert), float(alpha), int(seed))
    order = ddrs_cache.query_order(len(data.x_test), order_how, int(seed))
    answers, memory = ddrs.memory_certify(data.x_test, dd.prediction, dd.radius, order)
    mem_pred = np.array([a.prediction for a in answers])
    mem_rad = np.array([a.radius for a in answers])
    left, right = st.columns([1.2, 1], vertical_alignment="center")
    image = png_uri(smoothed_image(cache.smoothed(current.key, base, state.VIEW, resolution, state.SIGMA_MAX, sigma0)))
    left.plotly_chart(ddrs_figures.memory_figure(view, image, data.x_test, answers, names), key="ddrs_memory", **PLOT)
    relabelled = sum(a.case == "relabelled" for a in answers)
    k = right.columns(3)
    k[0].metric("Conflicts", memory.conflicts, help="Queries the memory changed (relabelled or shrunk).")
    k[1].metric("Relabelled", relabelled, help="Inside an earlier region of another class: answer taken from it.")
    k[2].metric("Shrunk", memory.conflicts - relabelled, help="Region cut back to stay disjoint from other classes.")
    right.markdown("Each query is certified at its own σ*ₓ; the memory then keeps the certified regions of all "
                   "classes disjoint, in the order the queries arrive (Alfarra et al., Sec. 3.5).")
    y = data.y_test
    # full width below the figure: the paper's Table 1 has a column per radius, too many for half the page
    st.dataframe(ddrs_cache.comparison({
        f"Cohen, fixed σ = {sigma0:g}": (fixed.radius, fixed.prediction == y),
        "per-input σ*, no memory (not sound)": (dd.radius, dd.prediction == y),
        f"per-input σ* + memory ({order_how})": (mem_rad, mem_pred == y)}), hide_index=True, key="ddrs_table",
        width="stretch", column_config=ddrs_cache.TABLE_COLUMNS)
    st.caption(f"Certified accuracy (%) at each radius and ACR, {len(y)} test points, n = {n_cert:,}, α = {alpha:g} "
                  f"(like the paper's Table 1). Change the query order to see the memory's answers move.")

soundness_section()
