"""The activation-paths page's self-contained sections (st.* over the slice's cached calls and figures): the
current network or a stop, the constructed counterexamples (SC-RFP; floating-point rounding, Voráček & Hein),
which need no model, and the audit's results."""
from __future__ import annotations

import streamlit as st

from cert_core.methods.float_soundness.counterexample import FloatCounterexampleParams
from cert_core.methods.paths import network, scrfp
from cert_core.models.bundles import ModelLoadError
from ui import state
from ui.paths import cache as pc
from ui.paths import figures as pf

PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})


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
    left.plotly_chart(pf.audit_figure(k.bounds, k.labels, k.x, c.radius, s.radius, s.counterexample, k.eta,
                                      "A 2-neuron ReLU net, σ = 0.25"), key="paths_constructed", **PLOT)
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
            right.plotly_chart(pf.audit_figure(b, pc.labels(current.key, current.model, b, 101), x0,
                                               cohen.points[worst.index].radius, worst.radius,
                                               worst.counterexample, eta, "The counterexample (shading: f)"),
                               key="paths_cex", **PLOT)
    if cohen.violations:
        st.error("Cohen et al.'s certificate failed the audit on some point: this happens with probability ≤ α "
                 "per point; rerun with another seed.", icon=":material/warning:")
