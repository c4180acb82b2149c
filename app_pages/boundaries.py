"""Decision boundaries: base vs exactly smoothed regions, the point inspector, checks."""
import numpy as np
import streamlit as st

from ui import cache, navigation, presenter, state
from ui.boundaries import cache as bcache
from ui.boundaries import explorer
from ui.boundaries import figures
from ui.boundaries.figures import map_figure, radius_figure
from ui.glossary import link
from ui.inspector import InspectorContext, audit

RESOLUTIONS = (100, 150, 200, 300, 400)
POINT_CHOICES = ("training data", "test data", "test certificates", "none")
ss = st.session_state

st.title(navigation.BOUNDARIES.title)
st.caption(f"Left: the {link('base classifier f')}. Right: the {link('smoothed classifier g')}, computed *exactly* by "
           "blurring f's regions with the Gaussian N(0, σ²I). Click anywhere to inspect a point and its "
           f"{link('certified radius')}.")

current = state.current_model_or_stop()
if not current.is_2d:
    st.error(f"**{current.label}** takes inputs of shape {current.loaded.input_shape}, not 2D points, so it "
             "has no decision boundary to draw here. Pick a 2D model (e.g. moons-mlp-s0.25) in the sidebar.",
             icon=":material/error:")
    st.page_link(navigation.MODELS.file, label="Browse the 2D models", icon=navigation.MODELS.icon)
    st.stop()

# ---------------------------------------------------------------- controls
c1, c2, c3, c4 = st.columns([1.1, 1.6, 1.0, 1.0])
overlay = c1.radio("Layout", ("side by side", "overlay"), key="layout", horizontal=True,
                   help="Show f and g next to each other, or g alone with f's boundary dotted on top.") == "overlay"
show = c2.radio("Points on the map", POINT_CHOICES, key="show_points", horizontal=True,
                help="Which points to draw: the data, or the test set marked certified / abstain / wrong.")
ss.setdefault("resolution", 300)
resolution = c3.select_slider("Grid resolution", RESOLUTIONS, key="resolution",
                              help="Pixels per axis of the exact maps; higher is finer and slower to load.")
radius_r = c4.number_input("Radius r for certified accuracy", 0.0, 3.0, 0.25, 0.05, key="radius_r",
                           help="A test point counts as certified when it is correct with radius ≥ r.")
n0, n = int(ss.get("n0", 100)), int(ss.get("n", 10_000))
alpha, seed = float(ss.get("alpha", 0.001)), int(ss.get("seed", 0))
sigma, view_bounds = state.sigma(), state.VIEW

# ---------------------------------------------------------------- exact maps (cached; sigma only blurs)
try:
    base = cache.base_map(current.key, current.model, view_bounds, resolution, state.SIGMA_MAX)
    probs = cache.smoothed(current.key, base, view_bounds, resolution, state.SIGMA_MAX, sigma)
except ValueError as exc:
    st.error(f"The maps cannot be computed: {exc}")
    st.stop()
view, base_labels = base.view, base.crop()
radius = bcache.radius_map(current.key, probs, view_bounds, resolution, sigma)
abstain_p = bcache.abstain_threshold(n, alpha)
names = current.class_names

points = marks = None
data = current.dataset
if data is not None and show == "training data":
    points = (data.x_train, data.y_train)
elif data is not None and show == "test data":
    points = (data.x_test, data.y_test)
elif data is not None and show == "test certificates":
    tc = cache.certify_test_set(current.key, current.model, current.num_classes, current.dataset_key,
                                data.x_test, data.y_test, sigma, n0, 1000, alpha, seed)
    marks = (tc.x, explorer.test_status(tc.prediction, tc.y, tc.radius, radius_r))
elif data is None and show != "none":
    st.info(f"No data points to show: {current.dataset_note}.")

# ---------------------------------------------------------------- inspector rows (need the point first)
point = state.selected_point()
rows, errors, cert = [], [], None
if point is not None:
    ctx = InspectorContext(current.model, current.num_classes, point, sigma, base, probs, n0, n, alpha, seed)
    rows, errors, cert = bcache.inspect(current.key, ctx, point, sigma, resolution, n0, n, alpha, seed)


def _clicked(key: str) -> None:
    event = ss.get(key) or {}
    hits = (event.get("selection") or {}).get("points") or []
    if hits:
        state.set_point(hits[0]["x"], hits[0]["y"])


specs = explorer.map_specs(view, base_labels, probs, radius, names, sigma, abstain_p, overlay, points,
                           marks, point, rows)
cols = st.columns(len(specs))
for col, spec, key in zip(cols, specs, ("map_a", "map_b")):
    col.plotly_chart(presenter.scale(map_figure(spec), resize=False), key=f"{key}_{len(specs)}", on_select=lambda k=f"{key}_{len(specs)}": _clicked(k),
                     selection_mode="points", theme=None, config={"displaylogo": False, "scrollZoom": False})

no_answer, abstains = explorer.region_shares(probs, abstain_p)
m = st.columns(4)
m[0].metric("σ", f"{sigma:g}", help="The smoothing noise level (sidebar).")
m[1].metric("View where CERTIFY abstains", f"{abstains:.1%}",
            help=f"Share of the view with exact p_A < {abstain_p:.3f}: with n = {n:,} and α = {alpha:g} the "
                 "lower confidence bound cannot clear 1/2 there.")
m[2].metric("View with no majority (p_A < ½)", f"{no_answer:.1%}",
            help="Where no class wins half of the noisy votes; only possible with 3 or more classes.")
if marks is not None:
    m[3].metric(f"Certified accuracy at r = {radius_r:g}", f"{tc.accuracy_at(radius_r):.1%}",
                help=f"Test points correct with certified radius ≥ r (n = 1,000 samples each, α = {alpha:g}).")
else:
    m[3].metric("Largest exact radius", f"{float(radius.max()):.2f}",
                help="Radii are capped at 4σ, the reach of the Gaussian kernel.")

# ---------------------------------------------------------------- the inspector
st.subheader("Inspect a point")
if point is not None and "px" not in ss:
    ss["px"], ss["py"] = point


def _typed() -> None:
    """Typed coordinates: select the point; an emptied box clears the selection; a value outside the
    view is refused with a message and the box goes back to the inspected point."""
    x, y = ss.get("px"), ss.get("py")
    for name, key, v, (lo, hi) in (("x₁", "px", x, state.VIEW[:2]), ("x₂", "py", y, state.VIEW[2:])):
        if v is not None and not lo <= v <= hi:
            ss["_typed_msg"] = f"{name} = {v:g} is outside the view [{lo:g}, {hi:g}]; type a value in that range."
            old = state.selected_point()
            ss[key] = None if old is None else old[0 if key == "px" else 1]
            return
    if x is None or y is None:
        if state.selected_point() is not None:     # an emptied box: nothing is inspected any more
            ss.pop("point", None)
            ss["px"] = ss["py"] = None
        return
    state.set_point(x, y)


# x₁ and x₂ get wide boxes (in presenter mode the root font is larger); n₀, α and the seed are
# hidden by presenter mode, so they move to a row of their own there instead of leaving gaps
wide = presenter.active()
i = st.columns([1.3, 1.3, 1.2] if wide else [1.3, 1.3, 1, 1, 1, 1])
tuning = st.columns(3) if wide else i[3:]
for col, label, key, lo, hi in ((i[0], "x₁", "px", *view.bounds[:2]), (i[1], "x₂", "py", *view.bounds[2:])):
    col.number_input(label, None, None, None, 0.05, format="%.3f", key=key, on_change=_typed,
                     placeholder="click map", help=f"Coordinate of the point to inspect, in [{lo:g}, {hi:g}]. "
                                                   "Empty it to clear the selection.")
i[2].number_input("n (estimation)", 100, 200_000, 10_000, 1000, key="n",
                  help="Fresh noise samples CERTIFY uses to bound p_A; more samples give a larger radius.")
tuning[0].number_input("n₀ (selection)", 10, 10_000, 100, 10, key="n0",
                       help="Noise samples CERTIFY uses to guess the top class.")
tuning[1].number_input("α", 1e-6, 0.5, 0.001, format="%g", key="alpha",
                       help="Failure probability: the certificate holds with probability at least 1 − α.")
tuning[2].number_input("seed", 0, 1_000_000, 0, key="seed",
                       help="Seeds the noise, so a link reproduces the numbers.")
if "_typed_msg" in ss:
    st.warning(ss.pop("_typed_msg"), icon=":material/error:")

if point is None:
    st.info("Click a point on either map, or type its coordinates, to see its noise cloud, votes and radii.",
            icon=":material/ads_click:")
else:
    left, right = st.columns([1.1, 1])
    local = explorer.local_bounds(point, sigma, rows, view)
    from cert_core.grid import make_view, predict_points
    samples = bcache.noise_samples(point, sigma, 600, seed)
    with left:
        show_all = st.toggle(f"Show all {len(rows)} circles", key="all_circles",
                             help="Off: the Monte Carlo certificate, its exact version and the two true distances. "
                                  "On: one circle per table row (the table's 'circle' column names each style).")
        st.plotly_chart(figures.noise_cloud(point, samples, predict_points(current.model, samples),
                                           bcache.local_base(current.key, current.model, local, 240),
                                           make_view(local, 240), explorer.cloud_circles(rows, show_all),
                                           names, sigma),
                        key="cloud", theme=None, config={"displayModeBar": False})
    with right:
        st.plotly_chart(figures.vote_histogram(cert.counts, names, n, cert.p_lower, cert.prediction, cert.counts0),
                        key="votes", theme=None, config={"displayModeBar": False})
    st.dataframe(explorer.table(rows), hide_index=True, width="stretch", height="content", key="radii",
                 column_config={"note": st.column_config.TextColumn("note", width="large")})
    for msg in audit(rows):
        st.error(f"Soundness violation: {msg}", icon=":material/gpp_bad:")
    if rows and not audit(rows):
        st.success("Every certificate lies inside the exact distance to the smoothed boundary.",
                   icon=":material/verified:")
    for msg in errors:
        st.warning(f"A certificate provider failed: {msg}")

# ---------------------------------------------------------------- deeper looks
tab_radius, tab_mc = st.tabs(["Exact radius map", "Check against Monte Carlo"])
with tab_radius:
    st.plotly_chart(radius_figure(view, radius, sigma, point), key="radius_map", theme=None, config={"displaylogo": False})
with tab_mc:
    a, b = st.columns([1, 2])
    size = a.slider("Coarse grid (points per axis)", 4, 16, 8, key="mc_size",
                    help="The check samples p_A at size × size points spread over the view.")
    mc_n = a.select_slider("Samples per point", (500, 1000, 2000, 5000), 1000, key="mc_n",
                           help="Monte Carlo samples at each grid point; the error shrinks like 1/√n.")
    if a.button("Run the check", key="mc_run", help="Sample the smoothed classifier and compare with the exact map.",
                type="primary"):
        ss["mc_request"] = (current.key, sigma, size, mc_n, resolution, seed)
    if ss.get("mc_request") == (current.key, sigma, size, mc_n, resolution, seed):
        mc = bcache.monte_carlo_check(current.key, current.model, base, view_bounds, resolution, state.SIGMA_MAX,
                                     sigma, size, mc_n, seed)
        inside = mc.within.mean()
        a.metric("Inside 3 standard errors", f"{inside:.0%}", help="Expected ≈ 99.7% if the exact map is right.")
        a.metric("Largest |z|", f"{np.abs(mc.z).max():.2f}",
                 help="Largest deviation in binomial standard errors (grid error ignored).")
        b.plotly_chart(figures.monte_carlo_agreement(mc.exact, mc.estimate, mc.se, mc.slack, mc_n),
                       key="mc_fig", theme=None, config={"displaylogo": False})
    else:
        b.info("Press **Run the check** to estimate p_A by sampling and compare it with the convolved map.")
