"""Per-input σ: data-dependent randomized smoothing (Alfarra et al., 2022) and why certifying it is delicate."""
from dataclasses import replace

import numpy as np
import streamlit as st

from cert_core.methods.ddrs import memory as ddrs_memory
from cert_core.methods.ddrs import sigma as ddrs
from ui import cache, image_map, navigation, presenter, sections, state
from ui.ddrs import cache as ddrs_cache
from ui.ddrs import figures as ddrs_figures
from ui.ddrs import views

PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})

st.title(navigation.DDRS.title)
with presenter.folded("About this page"):
    st.caption("Data-dependent smoothing (Alfarra, Bibi, Torr & Ghanem, 2022): pick for each input the σ that "
               "maximises its radius. The sidebar's σ is σ₀, the starting point and the fixed-σ baseline.")

current = views.current_2d_or_stop()

# ---------------------------------------------------------------- controls
sigma0, names = round(state.sigma(), 6), current.class_names   # rounded: a slider step hits the warmed cache keys
with presenter.folded("Settings: σ range, OptimizeSigma, memory rule, CERTIFY, query order"):
    c = st.columns([1.6, 1, 1, 1.4, 1.4])
    s_range = c[0].slider("σ searched for σ*(x)", state.SIGMA_MIN, state.SIGMA_MAX, (0.05, state.SIGMA_MAX), 0.01,
                          key="ddrs_range", help="The exact maps try every σ of a geometric grid in this range.")
    count = c[1].select_slider("σ values", (8, 16, 24, 32, 48), 24, key="ddrs_count",
                               help="Grid points in the σ range: one exact Gaussian convolution each.")
    resolution = c[2].select_slider("Resolution", (100, 150, 200, 300), 150, key="ddrs_res",
                                    help="Pixels per axis of the exact maps.")
    preset = c[3].selectbox("OptimizeSigma settings", ddrs_cache.PRESET_CHOICES, key="ddrs_preset",
                            format_func=lambda k: ddrs.PRESET_LABELS.get(k, "custom"),
                            help="paper: Algorithm 1 with α = 10⁻⁴, n = 1 (K = 900; a minute on the test set). "
                                 "authors' code: α = 0.04, n = 100, K = 900 (minutes). explorer: the paper's rule, "
                                 "K = 20, α = 0.05, n = 32. ours: c_A fixed at σ₀, σ ≥ 0.01.")
    memory_rule = c[4].radio("Memory rule", ddrs_memory.MEMORY_RULES, key="ddrs_memory_rule", horizontal=True,
                             format_func=ddrs_cache.MEMORY_RULE_LABELS.get,
                             help="How a query inside another class's region is kept (Sec. 3.5 vs the authors' code).")
    steps, lr, n_opt, rule = views.optimiser_controls(preset)
    c = st.columns([1, 1, 1, 1])
    n_cert = c[0].select_slider("CERTIFY samples n", (500, 1000, 2000, 5000, 10000), 1000, key="ddrs_ncert",
                                help="Estimation samples of CERTIFY at σ*ₓ for each test point.")
    alpha = c[1].number_input("α", 1e-6, 0.5, 0.001, format="%g", key="ddrs_alpha",
                              help="Failure probability of each CERTIFY.")
    order_how = c[2].radio("Query order", ("test order", "reversed", "shuffled"), key="ddrs_order", horizontal=True,
                           help="The order in which the memory sees the test points; its answers depend on it.")
    seed = c[3].number_input("seed", 0, 1_000_000, 0, key="ddrs_seed", help="Seeds the optimiser and CERTIFY.")
if s_range[0] >= s_range[1]:
    st.error("The σ range must not be empty: move the right handle above the left one.")
    st.stop()
p = ddrs_cache.PageParams(sigma0, tuple(s_range), count, resolution, int(steps), float(lr), int(n_opt), int(n_cert),
                          float(alpha), order_how, int(seed), preset, rule, memory_rule)
st.info(f"**Running** OptimizeSigma with {p.sigma_config.describe()}; memory: "
        f"{ddrs_cache.MEMORY_RULE_NAMES[memory_rule]}.", icon=":material/tune:")

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

maps = ddrs_cache.map_figures(current.key, mp, view, resolution, sigma0, tuple(s_range), count, point)
for col, (key, picture) in zip(st.columns(3), maps.items()):
    with col:       # no Plotly on the first screen (ui/image_map.py): a click selects the point, as on the others
        # on a projector the pictures' labels grow with the page's text (the cached pictures are shared: a copy)
        image_map.draw(key, replace(picture, font=image_map.FONT_PRESENTER) if presenter.active() else picture,
                       state.set_point)
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
    at = ddrs_cache.point_study(current.key, current.model, base, mp, p, point)
    left, right = st.columns([1.4, 1])
    left.plotly_chart(ddrs_figures.curve_figure(at.sigmas, at.curve, at.search.sigmas[0], at.exact,
                                                at.search.radii[0], sigma0, names[at.cls]), key="ddrs_curve", **PLOT)
    right.markdown(f"**Point** ({point[0]:.3f}, {point[1]:.3f}) · class at σ₀: **{names[at.cls]}**")
    right.dataframe(ddrs_figures.point_rows(at, sigma0), hide_index=True, key="ddrs_point_table")
    if at.claimed > at.distance + max(view.spacing):
        right.error("Here the per-input σ radius is larger than the distance to a point the same data-dependent "
                    "classifier labels differently: it is not a certificate.", icon=":material/gpp_bad:")
    st.dataframe(ddrs_cache.one_sample_rules(current.key, current.model, base, resolution, point, p.config, p.seed),
                 hide_index=True, key="ddrs_rules_table")
    st.caption("The paper's 1-sample setting (these K and α, n = 1, the same noise) under both rules: re-picking the "
               "top two each step (the paper, the authors' code) keeps R ≥ 0, so σ only drifts up; fixing c_A (ours) "
               "pulls σ back whenever the one sample lands in another class. They disagree at almost every input.")

# ---------------------------------------------------------------- below the fold: computed once opened
if (box := sections.lazy("Memory-based certification of the test set (Table 1)", "ddrs_memory_open")) is not None:
    with box:
        views.memory_section(current, p, base)
if (box := sections.lazy("Is it a certificate? The stripe counterexample", "ddrs_cex_open")) is not None:
    with box:
        views.soundness_section()
