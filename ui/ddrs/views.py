"""The per-input σ page's self-contained sections (st.* over the slice's cached calls and figures): the current 2D
model or a stop, the memory-based certification of the test set, and the soundness counterexample, which needs no
model."""
from __future__ import annotations

import streamlit as st

from cert_core.methods.ddrs import memory as ddrs_memory
from cert_core.methods.ddrs import sigma as ddrs
from cert_core.models.bundles import ModelLoadError
from cert_core import grid
from ui import cache, state
from ui.ddrs import cache as ddrs_cache
from ui.ddrs import figures as ddrs_figures
from ui.images import png_uri, smoothed_image

PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})


def current_2d_or_stop() -> state.CurrentModel:
    """The current model if it is 2D; otherwise why not, the counterexample, and st.stop()."""
    try:
        current = state.current_model()
    except (ModelLoadError, FileNotFoundError, ValueError) as exc:
        st.error(f"The current model cannot be loaded: {exc}")
    else:
        if current.is_2d:
            return current
        state.needs_2d(current, "the σ*(x) maps", "The counterexample below does not depend on the model.")
    st.subheader("Is it a certificate?")
    soundness_section()
    st.stop()


def memory_section(current: state.CurrentModel, p: ddrs_cache.PageParams, base: grid.BaseMap) -> None:
    """Per-input σ* + CERTIFY on the test set, answered through the memory (Alfarra et al., Sec. 3.5), next to
    Cohen's fixed σ₀: the answers on the plane, the memory's conflicts and the paper's Table 1."""
    data, names = current.dataset, current.class_names
    if data is None:
        st.info(f"No test set: {current.dataset_note}.")
        return
    mem = ddrs_cache.memory_study(current, p)
    left, right = st.columns([1.2, 1], vertical_alignment="center")
    image = png_uri(smoothed_image(cache.smoothed(current.key, base, state.VIEW, p.resolution, state.SIGMA_MAX,
                                                  p.sigma0)))
    left.plotly_chart(ddrs_figures.memory_figure(base.view, image, data.x_test, mem.answers, names),
                      key="ddrs_memory", **PLOT)
    k = right.columns(3)
    k[0].metric("Conflicts", mem.memory.conflicts, help="Queries the memory changed (relabelled or shrunk).")
    k[1].metric("Relabelled", mem.relabelled, help="Inside an earlier region of another class: answer taken from it.")
    k[2].metric("Shrunk", mem.memory.conflicts - mem.relabelled,
                help="Region cut back to stay disjoint from other classes.")
    right.markdown("Each query is certified at its own σ*ₓ; the memory then keeps the certified regions of all "
                   "classes disjoint, in the order the queries arrive (Alfarra et al., Sec. 3.5).")
    # full width below the figure: the paper's Table 1 has a column per radius, too many for half the page
    st.dataframe(mem.table, hide_index=True, key="ddrs_table", width="stretch", column_config=ddrs_cache.TABLE_COLUMNS)
    st.caption(f"Certified accuracy (%) at each radius and ACR, {len(data.y_test)} test points, n = {p.n_cert:,}, "
               f"α = {p.alpha:g} (like the paper's Table 1); σ* from {p.sigma_config.describe()}; the memory row uses "
               f"{ddrs_cache.MEMORY_RULE_NAMES[p.memory_rule]}. Change the query order to see the memory's answers "
               "move.")


def soundness_section() -> None:
    """Without memory per-input σ certifies nothing (Súkeník et al.); the memory's answers depend on the order."""
    cex = ddrs_memory.stripe_counterexample()
    (far, inn), (s_far, s_in), r_far = cex.points, cex.sigma_star, cex.radius[0]
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


def optimiser_controls(preset: str) -> tuple[int, float, int, str]:
    """(K, α, n per step, rule) of OptimizeSigma: the inputs below the presets under "custom", else the explorer
    preset's values (the chosen preset's own settings come from ``SigmaConfig.preset`` in the page's params)."""
    if preset != "custom":
        return 20, 0.05, 32, "paper"
    c = st.columns(4)
    steps = c[0].number_input("K (steps)", 0, 2000, 20, key="ddrs_steps", help="Gradient-ascent steps of Algorithm 1.")
    lr = c[1].number_input("Learning rate α", 0.0, 5.0, 0.05, 0.01, format="%g", key="ddrs_lr",
                           help="Step size of σ ← σ + α ∇σ R in Algorithm 1.")
    n_opt = c[2].number_input("n per step", 1, 4096, 32, key="ddrs_n", help="Monte Carlo samples per step.")
    rule = c[3].radio("Rule", ddrs.SIGMA_RULES, key="ddrs_rule", horizontal=True,
                      help="paper: top two classes re-picked each step, no floor. fixed-top-class: c_A fixed at σ₀.")
    return steps, lr, n_opt, rule
