"""The SRA page's self-contained sections (st.* over the slice's cached calls and figures)."""
from __future__ import annotations

import streamlit as st

from cert_core.methods.margin.train import LOSS_LABELS, LOSSES
from ui import presenter
from ui.margin import cache as mc
from ui.margin import figures as mf

PLOT = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})


def lipschitz_section(label: str, lip: mc.Lipschitz) -> None:
    """The current model's Lipschitz bound K (``lip``) and what it means for the margin certificates (MCR, MSCR
    need K). In presenter mode the metric and its explanation fold under one line that says K and the verdict, so
    Figure 1 starts on a 1280×720 projector's first screen."""
    k = lip.k
    if k is None:
        st.warning(f"**No Lipschitz bound for {label}**: {lip.problem} Margin certificates (MCR, MSCR) need a "
                   "Lipschitz constant K: without one, a margin says nothing about how far the boundary is.",
                   icon=":material/warning:")
        return
    verdict = "not Lipschitz-constrained: its margin radii are tiny" if k > 1.01 else "a 1-Lipschitz network"
    with presenter.folded(f"Lipschitz bound K = {k:.4g}: {verdict}"):
        top = st.columns([1, 3])
        top[0].metric("Lipschitz bound K", f"{k:.4g}", help="Guaranteed l2 upper bound of the logit map: product of "
                      "per-layer spectral norms (power iteration, certified by a Gram-iteration bound).")
        if k > 1.01:
            top[1].info(f"**{label} is not Lipschitz-constrained**: K ≤ {k:.3g} is a product of layer norms, "
                        "far above its real local slope, so MCR = −margin/(√2 K) is a valid but tiny radius. Pick an "
                        "`*-ortho-*` model (Björck-orthogonal, K ≈ 1) to see margin certificates at work.",
                        icon=":material/info:")
        else:
            top[1].success("1-Lipschitz network (Björck-orthonormal weights): margins are distances up to √2.",
                           icon=":material/check_circle:")
        # already folded in presenter mode, where an expander could not nest in it; elsewhere the table (a data
        # grid the browser builds even inside a closed expander) is drawn only once the expander is opened
        if presenter.active():
            top[1].dataframe(mf.layer_rows(lip.layers), hide_index=True, key="sra_layers")
        else:
            layers = top[1].expander("Per-layer bounds", key="sra_layers_open", on_change="rerun")
            if layers.open:
                layers.dataframe(mf.layer_rows(lip.layers), hide_index=True, key="sra_layers")


def closed_form_section(current, k: float | None, sigma: float) -> None:
    """How often Eq. 7's closed-form MSCR over-claims against the Monte Carlo MSCR on the test points."""
    if current.dataset is None or k is None:
        st.info("The check needs the model's test set and a Lipschitz bound.", icon=":material/info:")
        return
    a = mc.closed_form_audit(current.key, current.model, current.dataset_key, current.dataset.x_test, k,
                             mc.ClosedFormParams(sigma))
    if isinstance(a, str):
        st.info(f"Eq. 7 needs the moment propagation of App. C.2: {a}", icon=":material/info:")
        return
    total, wrong = len(a.closed), int(a.wrong_side.sum())
    left, right = st.columns([1, 2])
    left.metric("Eq. 7, an estimate, over-claims on", f"{a.over_claim_rate:.0%} of points",
                delta=f"by a median {a.median_excess:.0%} of the Monte Carlo radius", delta_color="off",
                delta_arrow="off",
                help=f"Eq. 7's radius exceeds the Monte Carlo MSCR (n = {a.n} per point) by more than its error "
                     f"band (Φ⁻¹(1 − {a.alpha:g}) standard errors) on {int(a.over_claims.sum())} of {total} points.")
    left.metric("Eq. 7 > 0 where c loses on average", f"{wrong} of {total}",
                help="Points where Eq. 7 gives a positive radius though the Monte Carlo smoothed margin "
                     "o_m − o_c is ≥ 0 beyond its error (c does not win on average: the true MSCR is 0).")
    left.caption(f"The first {total} test points, class c = the base prediction, σ = {sigma:g}, "
                 f"{a.num_classes} classes. Eq. 7 keeps only the two largest incorrect outputs, so with more than "
                 "two classes it under-estimates E max o_m and over-claims; with two it is off only through the "
                 "moment propagation. It is an estimate, never a certificate: the page's certificate is Eq. 5 by "
                 "Monte Carlo.")
    right.plotly_chart(mf.closed_form_figure(a), key="sra_closed_form", **PLOT)


def curve_reports_with_progress(current, k: float, chosen: list) -> tuple[dict, list[str]]:
    """``mc.curve_reports`` under a progress bar that names the model being certified and how many remain; the bar
    goes once all are done (nothing shows for long when they come from the cache)."""
    slot = st.empty()

    def show(done: int, total: int, label: str) -> None:
        if done < total:
            slot.progress(done / total, text=f"Robustness curves: certifying the test set with **{label}** "
                                             f"({done + 1} of {total}; Cohen CERTIFY, n = 1000 per point)…")
    reports = mc.curve_reports(current, k, chosen, show)
    slot.empty()
    return reports


def curves_section(current, k: float | None, problem: str | None) -> None:
    """Appendix B's robustness curves of the current model and of the margin-trained MLPs the visitor picks, with
    their AUCs (Table 1); ``problem``: why there is no Lipschitz bound, if none."""
    data = current.dataset
    if data is None or k is None:
        st.info("The curves need the model's test set and a Lipschitz bound: "
                f"{current.dataset_note or problem}.", icon=":material/info:")
        return
    c = st.columns([2.2, 1, 1, 1])
    chosen = c[0].multiselect("Train one orthogonal MLP per loss (Table 1)", [LOSS_LABELS[x] for x in LOSSES],
                              [], key="sra_losses", help="Short cached trainings (Björck MLP 32×2) on this "
                              "dataset with the d and σ_x on the right; a few seconds each on a CPU.")
    d = c[1].number_input("d", 0.0, 3.0, 0.3, 0.05, key="sra_d", help="Hinge target radius of MSCR/MCR/Zhen "
                          "(margin of MH).")
    s_x = c[2].number_input("σ_x", 0.0, 1.0, 0.2, 0.05, key="sra_sx", help="Noise std of the smoothed losses.")
    epochs = c[3].select_slider("Epochs", (10, 20, 30, 60), 20, key="sra_epochs", help="Training epochs.")
    loss_of = {LOSS_LABELS[x]: x for x in LOSSES}
    trainings = [mc.TrainParams(loss_of[label], float(d), float(s_x), int(epochs)) for label in chosen]
    reports, problems = curve_reports_with_progress(current, k, trainings)
    for message in problems:
        st.warning(message, icon=":material/warning:")
    st.plotly_chart(mf.curves_figure(reports), key="sra_curves", **PLOT)
    st.dataframe(mf.auc_rows(reports), hide_index=True, key="sra_aucs")
    st.caption("(a) margin CR = −margin/(√2K) of the base model; (b) Cohen CERTIFY at σ = 0.25, n = 1000, "
               "α = 0.001; (c) accuracy under N(0, σ_x²I) (dotted: normalised so the floor 1/|C| maps to 0); (d) "
               "accuracy on αx + (1−α)·gray. Each CR curve has its own radius axis, from 0 to just past the largest "
               "radius its certificate can give, so AUC_CR is the average certified radius.")


def heatmap_section() -> None:
    """Figure 2: the precomputed (d, σ_x) trade-off of margin training on the 2D set."""
    heat = mc.heatmap_data()
    if heat is None:
        st.info("The precomputed heatmap is missing; build it with `python -m cert_core.methods.margin.heatmap`.")
        return
    metric = st.radio("Metric", heat["metrics"], key="sra_metric", horizontal=True,
                      help="Clean accuracy, margin AUC_CR (worst case), AUC_GN (noise), RS AUC_CR (smoothed).")
    st.plotly_chart(mf.heatmaps(heat, metric), key="sra_heat", **PLOT)
    st.caption(f"Precomputed short trainings ({heat['epochs']} epochs, {heat['architecture']}) on "
               f"{heat['dataset']['name']}. The paper (Figure 2, MNIST) finds that larger d buys margin robustness "
               "at some clean accuracy and larger σ_x noise robustness; on this small 2D set the d trend is clear "
               "(AUC_CR margin), the σ_x trend is weak.")
