"""Decision boundaries: base vs exactly smoothed regions, the point inspector, checks."""
import numpy as np
import streamlit as st

from ui import navigation, presenter, state, theme
from ui.boundaries import cache as bc
from ui.boundaries import answer, charts, controls, explorer
from ui.boundaries import figures as bf
from ui.glossary import link
from ui.sequential import views as sequential_views

RESOLUTIONS = (100, 150, 200, 300, 400)
POINT_CHOICES = ("training data", "test data", "test certificates", "none")
MAP = dict(theme=None, config=theme.CLICK_MAP_CONFIG)
ss = st.session_state

st.title(navigation.BOUNDARIES.title)
current = state.current_model_or_stop()
intro = presenter.folded("About this page and the map settings")   # the maps fit a 1280×720 projector
intro.caption(f"Left: the {link('base classifier f')}. Right: the {link('smoothed classifier g')}, computed *exactly* by "
              "blurring f's regions with the Gaussian N(0, σ²I). Click a map to inspect a point and its "
              f"{link('certified radius')}. Dragging σ previews the exact smoothed maps; releasing it updates the "
              "numbers, circles and read-outs.")

if not current.is_2d:
    state.needs_2d(current, "a decision boundary to draw")
    st.page_link(navigation.MODELS.file, label="Browse the 2D models", icon=navigation.MODELS.icon)
    st.stop()

# ---------------------------------------------------------------- controls
c1, c2, c3, c4 = intro.columns([1.1, 1.6, 1.0, 1.0])
overlay = c1.radio("Layout", ("side by side", "overlay"), key="layout", horizontal=True,
                   help="Show f and g next to each other, or g alone with f's boundary dotted on top.") == "overlay"
show = c2.radio("Points on the map", POINT_CHOICES, key="show_points", horizontal=True,
                help="Which points to draw: the data, or the test set marked certified / abstain / wrong.")
ss.setdefault("resolution", bc.DEFAULT_RESOLUTION)
resolution = c3.select_slider("Grid resolution", RESOLUTIONS, key="resolution",
                              help="Pixels per axis of the exact maps; higher is finer and slower to load.")
radius_r = c4.number_input("Radius r for certified accuracy", 0.0, 3.0, 0.25, 0.05, key="radius_r",
                           help="A test point counts as certified when it is correct with radius ≥ r.")
cp = controls.certify_params()
sigma, point, names = state.sigma(), state.selected_point(), current.class_names

# ---------------------------------------------------------------- exact maps (cached; sigma only blurs)
try:
    m = bc.maps(current, sigma, resolution, cp)
except ValueError as exc:
    st.error(f"The maps cannot be computed: {exc}")
    st.stop()
points, tc = bc.shown_points(current, show, sigma, cp)
marks = None if tc is None else (tc.x, explorer.test_status(tc.prediction, tc.y, tc.radius, radius_r))
if current.dataset is None and show != "none":
    st.info(f"No data points to show: {current.dataset_note}.")
rows, errors, cert, start_slow = bc.inspect_point(current, m, point, sigma, cp) if point else ([], [], None, None)
specs = explorer.map_specs(m.view, m.base.crop(), m.probs, m.radius, names, sigma, m.abstain_p, overlay, points,
                           marks, point, rows, bc.map_images(current, m, sigma, overlay))
keys = (f"map_a_{len(specs)}", f"map_b_{len(specs)}")[:len(specs)]
for col, spec, key in zip(st.columns(len(specs)), specs, keys):
    col.plotly_chart(bc.map_chart(spec), key=key, **MAP)      # a σ step patches a kept figure (ui/boundaries/charts)

accuracy = None if tc is None else tc.accuracy_at(radius_r)
for col, (label, value, about) in zip(st.columns(4), explorer.headline(m.probs, m.radius, m.abstain_p, sigma, cp.n,
                                                                       cp.alpha, radius_r, accuracy)):
    col.metric(label, value, help=about)

# ---------------------------------------------------------------- the inspector
st.subheader("Inspect a point")
answer.inspector(current, m, sigma, cp, point, ", ".join(f".st-key-{key}" for key in keys),   # a fragment
                 sequential_views.path_chart)

# ---------------------------------------------------------------- deeper looks
tab_radius, tab_mc = st.tabs(["Exact radius map", "Check against Monte Carlo"])
tab_radius.plotly_chart(charts.radius_chart(m.view, m.radius, sigma, point,
                                            bc.radius_png(current.key, m.radius, state.VIEW, resolution, sigma)),
                        key="radius_map", theme=None, config={"displaylogo": False})
with tab_mc:
    a, b = st.columns([1, 2])
    size = a.slider("Coarse grid (points per axis)", 4, 16, 8, key="mc_size",
                    help="The check samples p_A at size × size points spread over the view.")
    mc_n = a.select_slider("Samples per point", (500, 1000, 2000, 5000), 1000, key="mc_n",
                           help="Monte Carlo samples at each grid point; the error shrinks like 1/√n.")
    request = (current.key, sigma, size, mc_n, resolution, cp.seed)
    if a.button("Run the check", key="mc_run", help="Sample the smoothed classifier and compare with the exact map.",
                type="primary"):
        ss["mc_request"] = request
    if ss.get("mc_request") == request:
        mc = bc.monte_carlo_check(current.key, current.model, m.base, state.VIEW, resolution, state.SIGMA_MAX,
                                  sigma, size, mc_n, cp.seed)
        a.metric("Inside 3 standard errors", f"{mc.within.mean():.0%}",
                 help="Expected ≈ 99.7% if the exact map is right.")
        a.metric("Largest |z|", f"{np.abs(mc.z).max():.2f}",
                 help="Largest deviation in binomial standard errors (grid error ignored).")
        b.plotly_chart(bf.monte_carlo_agreement(mc.exact, mc.estimate, mc.se, mc.slack, mc_n),
                       key="mc_fig", theme=None, config={"displaylogo": False})
    else:
        b.info("Press **Run the check** to estimate p_A by sampling and compare it with the convolved map.")
bc.scrub_smoothed_map(current, m, sigma, overlay, f".st-key-{keys[-1]}")   # last: its frames never delay the page
