"""The activation-paths page's self-contained sections (st.* over the slice's cached calls and figures): the
current network or a stop, the constructed counterexamples (SC-RFP; floating-point rounding, Voráček & Hein),
which need no model, and the audit's results."""
from __future__ import annotations

import numpy as np
import streamlit as st

from cert_core.methods.float_soundness.counterexample import FloatCounterexampleParams
from cert_core.methods.paths import network, scrfp
from cert_core.models.bundles import ModelLoadError
from ui import image_map, presenter, sections, state
from ui.paths import cache as pc
from ui.paths import figures as pf

PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})
SIGMAS = (0.0, 0.05, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0)    # Figure 2's noise levels


POOL_LABELS = {"paper": "Algorithm 1 (paper): ReLU masks only",
               "repress-max-pool": "variant: also repress moved max-pool windows"}


def scrfp_controls(net: network.Network):
    """SC-RFP's η and its masks (``pool``) in a left column, the choice of masks offered only when the network
    max-pools, and which SC-RFP runs in the column beside them; returns (η, pool, a slot above that line, for the
    centre x). Side by side, not stacked: the tabs' figures then start on a 1280×720 projector's first screen."""
    left, beside = st.columns([1, 3])
    point_slot = beside.container()
    eta = left.slider("Repression η (SC-RFP)", 0.0, 1.0, 0.25, 0.05, key="paths_eta",
                      help="Algorithm 1 multiplies the pre-activation of every float neuron of x + ε by (1 − η). "
                           "η = 0 is plain smoothing; the paper's best value is 0.25 (Table 5).")
    if not any(isinstance(s, network.MaxPool) for s in net.steps):
        beside.caption("SC-RFP as Algorithm 1 prints it: ReLU float masks (no max-pool here).")
        return eta, "paper", point_slot
    pool = left.radio("SC-RFP masks", scrfp.POOLS, format_func=POOL_LABELS.get, key="paths_pool", horizontal=True,
                      help="Algorithm 1 (and the authors' APCT code) represses the float units of the ReLU "
                           "pre-activations only; max-pool windows pass through. The variant also scales a window "
                           "whose arg-max moved by (1 − η): it changes the votes and p_A on CNNs.")
    beside.caption("Running SC-RFP as Algorithm 1 prints it (ReLU masks; max-pool untouched)." if pool == "paper" else
                   "Running a variant, not the paper: a max-pool window whose arg-max differs from x is also scaled "
                   "by (1 − η), which moves votes and p_A.")
    return eta, pool, point_slot


def _font() -> float:
    """The pictures' tick-label size: larger on a projector (presenter mode), as the page's text."""
    return image_map.FONT_PRESENTER if presenter.active() else image_map.FONT


def network_or_stop() -> tuple[state.CurrentModel, network.Network]:
    """The current model and its piecewise-linear form; otherwise why not, the counterexample, and st.stop()."""
    try:
        current = state.current_model()
        return current, network.as_network(current.model)
    except (ModelLoadError, FileNotFoundError) as exc:
        st.error(f"The current model cannot be loaded: {exc}")
    except ValueError as exc:
        st.error(f"Activation paths need a piecewise-linear network: {exc}", icon=":material/block:")
    constructed_section()
    st.stop()


def constructed_section() -> None:
    """Why the SC-RFP radius is not a certificate, on a 2-neuron net (exact, for any current model)."""
    st.subheader("Why the SC-RFP radius is not a certificate")
    k = pc.constructed()
    c, s = k.cohen, k.scrfp
    left, right = st.columns([1, 1.1])
    with left:          # a picture, not a Plotly chart: the page's first screen (ui/image_map.py, issue 17)
        image_map.draw("paths_constructed", pf.audit_picture(k.bounds, k.labels, k.x, c.radius, s.radius,
                                                             s.counterexample, k.eta, "A 2-neuron ReLU net, σ = 0.25",
                                                             _font()))
    right.markdown(
        "f = [0, −ReLU(x₁) + ReLU(−x₁) − 0.05]: class 1 exactly when x₁ < −0.05 (shaded). SC-RFP's base function "
        "**depends on the input**: around x = (0.3, 0) the neuron that switches on for x₁ < 0 is float and is removed "
        f"(η = 1), so f_x says class 0 everywhere and CERTIFY claims **R = {s.radius:.2f}**. But SC-RFP at "
        f"x' = ({s.counterexample[0]:.2f}, {s.counterexample[1]:.2f}), at distance **{s.distance:.2f}**, uses its "
        f"own f_x' and predicts class **{s.counter_prediction}** (exact probabilities, margin {s.margin:.2f}).\n\n"
        "Theorem 3 reuses Cohen et al.'s Neyman–Pearson argument, which needs **one** base function for every "
        "point of the ball; SC-RFP has a different one at each point, so its radius certifies smooth(f_x) at x "
        f"only. Cohen et al.'s radius here, **{c.radius:.2f}**, passes the same exact audit "
        f"({c.checked} points searched, no violation).")
    float_section()


def float_section() -> None:
    """Voráček & Hein (ICLR 2023): standard smoothing is not sound in floating point; the sound sampler is."""
    with st.expander("Floating point: a false certificate from rounding alone (Voráček & Hein, ICLR 2023)"):
        st.markdown(
            "Every implementation (and this app's default sampler) evaluates f(fl(x + σ·randn)) and applies Cohen's "
            "theorem as if that were x + N(0, σ²I). At x = 0 every noisy coordinate is fl(σ·ε) for a float ε, and "
            "for σ = 0.7 that product **never produces some floats** (about one in six of those a noisy input lands on). A base classifier that says class 0 only when "
            "all 8 coordinates are values fl(σ·ε) can take reads **nothing but rounding**, yet standard CERTIFY "
            "gives it the largest radius n samples allow at x = 0, while at x' = 72/255 in every coordinate "
            "(distance 0.80) most noisy copies fall on a skipped float. The **sound sampler** "
            "(`Smooth(..., sound_float=True)`) feeds f with fl((k + η)/255) for integer noise η drawn from fair "
            "coins: f sees the same kind of values near x and x', and nothing about x leaks. The construction is "
            "ours, in the paper's setting (the paper: radius 1.26 claimed, another class at 0.8). Certification "
            "runs can use the sound sampler too (Certification runs: 'Sound floating point').")
        if not st.button("Certify x with both samplers", key="paths_float_run",
                         help="Standard and sound CERTIFY at x, PREDICT at x' (n = 4,000, seeded; a few seconds)."):
            return
        r = pc.float_counterexample(FloatCounterexampleParams())
        c, off = st.columns(3), dict(delta_arrow="off", delta_color="off")
        c[0].metric("Standard radius at x", f"{r.standard_radius:.2f}", f"class {r.standard_prediction}", **off,
                    help="Cohen et al.'s CERTIFY with the standard sampler fl(x + σ·randn).")
        c[1].metric("Distance to x'", f"{r.distance:.2f}", f"standard predicts class {r.flip_prediction}",
                    delta_arrow="off", delta_color="inverse", help="‖x' − x‖₂ and standard PREDICT at x'.")
        c[2].metric("Sound radius at x", f"{r.sound_radius:.2f}",
                    f"class {r.sound_prediction}; at x': {r.sound_flip_prediction}", **off,
                    help="CERTIFY at x and PREDICT at x' with the sound sampler (sound_float=True).")
        verdict = st.error if r.standard_broken else st.info
        verdict(f"Standard smoothing certifies R = {r.standard_radius:.2f} around x, yet at distance "
                f"{r.distance:.2f} it votes class 1 {r.flip_share:.0%} of the time (P(class 0) ≤ "
                f"{r.flip_p_upper:.2f} with 1 − α confidence): a false certificate. The sound sampler's answer is "
                f"{'consistent' if r.sound_consistent else 'INCONSISTENT'} (its p̲_A already subtracts the "
                f"sampler's total-variation slack, {r.sound_slack:.1e}).")


def audit_results(current, audit: pc.Audit) -> None:
    """Both methods' certified accuracy, the audit table, SC-RFP's worst counterexample (drawn in 2D)."""
    cohen, scrfp, eta = audit.cohen, audit.scrfp, audit.params.eta
    left, right = st.columns(2)
    left.plotly_chart(pf.audit_accuracy_figure(audit.both), key="paths_acc", **PLOT)
    right.dataframe(pf.audit_rows(cohen, scrfp, audit.both), hide_index=True, key="paths_audit_table")
    worst = scrfp.worst()
    if worst is None:
        right.success(f"No counterexample found for {scrfp.method} on these points — not a proof of "
                      "soundness (try a larger η or more points).", icon=":material/search_off:")
    else:
        right.error(f"SC-RFP claims radius {worst.radius:.3f} at test point {worst.index}, yet predicts class "
                    f"{worst.counter_prediction} at distance {worst.distance:.3f}.", icon=":material/gpp_bad:")
        if current.is_2d:
            x0 = current.dataset.x_test[worst.index]
            b = pf.window(x0, worst.radius)
            with right:
                image_map.draw("paths_cex", pf.audit_picture(b, pc.labels(current.key, current.model, b, 101), x0,
                                                             cohen.points[worst.index].radius, worst.radius,
                                                             worst.counterexample, eta,
                                                             "The counterexample (shading: f)", _font()))
    if cohen.violations:
        st.error("Cohen et al.'s certificate failed the audit on some point: this happens with probability ≤ α "
                 "per point; rerun with another seed.", icon=":material/warning:")


# ---------------------------------------------------------------- the page's four tabs, one section each
# Each takes (current, net, center, eta, pool): the current model, its piecewise-linear form, the centre x and
# SC-RFP's η and masks. The page runs only the open tab's section (st.tabs with on_change="rerun").

def float_neurons_section(current, net: network.Network, center: np.ndarray, eta: float, pool: str) -> None:
    """Figure 2 (fixed-neuron ratio per layer against σ), the float-ratio map of the plane (2D), both without
    Plotly, and in a folded section (small MLPs) the network diagram of the neurons that float in a ball around x."""
    data, sigma = current.dataset, state.sigma()
    sample = data.x_test[:64] if data is not None else center[None]
    layer_names, table = pc.ratio_curve(current.key, current.model, current.dataset_key, sample, SIGMAS, 16, 0)
    left, right = st.columns(2)
    with left:          # pictures, not Plotly charts: the page's first screen (ui/image_map.py, issue 17)
        image_map.draw("paths_ratio", pf.ratio_chart(SIGMAS, table, layer_names, sigma, _font()))
    left.caption(f"Mean over {len(sample)} test inputs × 16 draws of ε. At σ = 0 every neuron is fixed; noise "
                 "flips the patterns of more neurons in some layers than in others.")
    if current.is_2d:
        heat = pc.float_map(current.key, current.model, state.VIEW, 60, sigma, 16, 0)
        with right:
            image_map.draw("paths_heat", pf.float_map(state.VIEW, heat, sigma, center,
                                                      (data.x_test, data.y_test) if data is not None else None,
                                                      _font()))
        right.caption("Bright: many neurons change pattern under noise — near the decision boundaries and the "
                      "hyperplanes of the first layer.")
    widths = pc.diagram_widths(net)
    box = None if widths is None else sections.lazy("Network diagram: the neurons that float around x "
                                                    "(Figures 1, 5)", "paths_net_open")
    if box is not None:     # drawn (with Plotly) only when opened: no Plotly on the first screen
        r = box.slider("Radius r of the region B(x, r)", 0.01, 1.0, 0.1, 0.01, key="paths_ball",
                       help="The network diagram marks the neurons that float somewhere in this ball "
                            "(x and 256 points drawn uniformly in it).")
        floating = pc.floating_in_ball(current.model, center, r)
        box.plotly_chart(pf.network_figure(widths, floating, current.class_names), key="paths_net", **PLOT)
        box.caption(f"Region R = B(x, {r:g}): {sum(int(f.sum()) for f in floating)} of "
                    f"{sum(len(f) for f in floating)} hidden neurons float. Every path through a vermillion neuron is "
                    "a float path; the grey ones form Z_fixed.")


def surfaces_section(current, net: network.Network, center: np.ndarray, eta: float, pool: str) -> None:
    """Figure 6 on a 2D slice through x: f over Z_fixed, Z_float, SC-RFP over Z_fixed (Theorem 1's split)."""
    c = presenter.folded("The slice: half-width, resolution, region R, logit").columns(4)   # the surfaces on screen
    half = c[0].slider("Half-width of the slice", 0.05, 3.0, 0.4 if current.is_2d else 1.0, 0.05, key="paths_half",
                       help="The slice spans x + s·u + t·v with |s|, |t| ≤ this (input units).")
    res = c[1].select_slider("Resolution", (21, 31, 41, 61), 41, key="paths_res", help="Grid points per axis.")
    region = c[2].radio("Region R", ("the whole slice", "each pair {x, x'}"), key="paths_region",
                        help="Whole slice: one float set for all points, so Z_fixed is one affine map (Lemma 3). "
                             "Pairwise: the float set of x and x' only, as in Algorithm 1 and Table 1.")
    names = current.class_names
    cls = c[3].selectbox("Logit", range(current.num_classes), format_func=lambda k: names[k], key="paths_cls",
                         help="Which output coordinate f_k to draw.")
    how = "plane" if current.is_2d else st.radio("Directions", ("random orthogonal", "gradient and random"),
                                                 key="paths_dirs", horizontal=True,
                                                 help="u, v spanning the slice through the image x.")
    sf = pc.surfaces(current.key, current.model, pc.SurfaceParams.at(
        center, how, float(half), int(res), int(cls), "set" if region.startswith("the whole") else "pairwise",
        float(eta), pool))
    axes = ("x₁ − x₁(x)", "x₂ − x₂(x)") if current.is_2d else ("s along u", "t along v")
    height = pf.SURFACES_PRESENTER if presenter.active() else pf.SURFACES_HEIGHT
    st.plotly_chart(pf.surfaces_figure(sf, eta, f"f_{cls}", axes, height), key="paths_surf", **PLOT)
    st.caption(f"{sf.float_ratio:.1%} of the neurons float over this region. f = Z_fixed + Z_float holds to "
               f"{np.abs(sf.fixed + sf.float - sf.f).max():.1e} (float64 path sums). SC-RFP keeps the fixed "
               "paths and scales the float ones, so (c) hugs Z_fixed as η → 1.")


def audit_section(current, net: network.Network, center: np.ndarray, eta: float, pool: str) -> None:
    """SC-RFP against Cohen et al. on test points, every claimed ball searched for a counterexample (on a click)."""
    c = st.columns(4)
    count = c[0].slider("Test points", 2, 40, 8, key="paths_count", help="Audited and certified test points.")
    n = c[1].select_slider("CERTIFY samples n", (500, 1000, 2000, 5000), 1000, key="paths_n",
                           help="Estimation samples of each CERTIFY (n0 = 100).")
    alpha = c[2].number_input("α", 1e-6, 0.5, 0.001, format="%g", key="paths_alpha",
                              help="Failure probability of each certificate.")
    if c[3].button("Run the audit", type="primary", key="paths_run",
                   help="Certify with both methods, then search inside every claimed ball (2D: exact grid "
                        "search; images: PGD on the smoothed classifier, verified with PREDICT)."):
        st.session_state["paths_audit"] = True
    if current.dataset is None or not st.session_state.get("paths_audit"):
        st.info("Press **Run the audit** to certify the test points with Cohen et al. and SC-RFP and search every "
                "claimed ball for a point where the same classifier changes its answer.", icon=":material/search:")
    else:
        params = pc.AuditParams(int(count), state.sigma(), float(eta), int(n), float(alpha), pool)
        audit_results(current, pc.audit_test_points(current, params))


def vulnerability_section(current, net: network.Network, center: np.ndarray, eta: float, pool: str) -> None:
    """Table 1: float-neuron vs Lipschitz vulnerability of adversarial examples, over the zoo's σ_train variants."""
    c = st.columns(4)
    attack = c[0].radio("Attack", ("fgsm", "pgd"), key="paths_attack", horizontal=True,
                        help="FGSM (one step) or 10-step PGD, as in Section 4.2.")
    norm = c[1].radio("Norm", ("linf", "l2"), key="paths_norm", horizontal=True, help="The attack's threat model.")
    eps = c[2].number_input("ε", 0.001, 5.0, 0.1 if not current.is_2d else 0.2, 0.01, key="paths_eps",
                            help="Attack budget in input units (the paper: 8/255 in L∞ on CIFAR-10).")
    if c[3].button("Build the table", key="paths_vuln", help="Attacks every σ_train variant of this zoo model."):
        st.session_state["paths_vuln_on"] = True
    sibs = pc.siblings(current.label)
    if not sibs:
        st.info("Table 1 compares the zoo's σ_train variants of one model; pick a zoo model in the sidebar.")
    elif st.session_state.get("paths_vuln_on"):
        rows = pc.vulnerability_table(tuple(sibs), float(eps), attack, norm, 200, state.sigma())
        st.dataframe(rows, hide_index=True, key="paths_vuln_table")
        st.caption("gap η: mean ‖Z_fixed(x') + (1 − η) Z_float(x') − f(x)‖₁ over x' = x + ε (σ from the sidebar). "
                   "An adversarial example is float-neuron vulnerable when Z_fixed(x_adv) still gives the label "
                   "(removing the float paths between x and x_adv repairs it), else Lipschitz vulnerable.")
