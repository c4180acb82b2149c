"""Certification runs: start CERTIFY (Cohen et al. 2019), per-input σ (Alfarra et al. 2022, with the memory
of Sec. 3.5) or Bernstein certification of a bottleneck model (Kao, Ko & Lu) over a test set in a background
worker, watch the certified-accuracy curve grow live, cancel / resume, then compare and export runs."""
import json
import time

import numpy as np
import streamlit as st

from cert_core.runs import worker
from cert_core.models.data import DataError, default_data_root
from cert_core.runs.export import summarize
from cert_core.metrics import certified_accuracy
from cert_core.models.bundles import ModelLoadError
from cert_core.runs.store import RunStore
from ui import cache, run_compare, run_figures, run_launch, run_views, state

ss = st.session_state
POLL_SECONDS = 1.0

st.title("Certification runs")
st.caption("CERTIFY (Cohen, Rosenfeld & Kolter 2019) on every selected test example: select the class with n0 "
           "noisy samples, bound its probability with n fresh ones, radius σ Φ⁻¹(p̲_A), abstain when p̲_A < ½ — "
           "at one σ, at a per-input σ\\*ₓ (DDRS), or Bernstein's deterministic certificate instead. "
           "Runs work in a background process and are saved: leaving the page or closing the tab does not stop them.")
METHOD_HELP = ("Cohen et al.: CERTIFY at one σ. Per-input σ (Alfarra et al. 2022): OptimizeSigma (Algorithm 1) "
               "picks σ\\*ₓ per example, CERTIFY at σ\\*ₓ, then the memory of Sec. 3.5 keeps the answers consistent. "
               "Bernstein (Kao, Ko & Lu): a bottleneck model's head smoothed by a Bernstein polynomial, certified "
               "by a sound Lipschitz radius through the computed L_G (Eq. 4).")
SIGMA_LABELS = {
    "cohen": ("σ (one or several)", "Noise levels, comma separated: one run per σ, certified one after another."),
    "ddrs": ("σ₀ (one or several)", "Where OptimizeSigma starts (the paper: the training σ); one DDRS run per σ₀, "
                                    "and the fixed-σ baseline when that box is ticked."),
    "bernstein": ("σ for Cohen runs beside it", "Only with 'Also Cohen runs': one Cohen run per σ on the same "
                                                "bottleneck model, to compare. Bernstein adds no noise.")}
try:
    store = RunStore()
except ValueError as exc:
    st.error(f"The run store cannot be used: {exc}. Set CERT_EXPLORER_RUNS to a writable file.")
    st.stop()

tab_run, tab_compare = st.tabs([":material/play_circle: Run", ":material/compare: Compare & export"])


def _data_choice(current):
    """(data spec, label, number of test examples) for the form's choice; raises ValueError."""
    choice = ss.get("rn_data", run_launch.OWN)
    if choice == run_launch.OWN:
        spec, count = run_launch.own_source(current, store)
        return spec, f"{current.dataset.name} test", count
    if choice == run_launch.NPZ:
        upload = ss.get("rn_npz")
        if upload is None:
            raise ValueError("Upload an .npz with arrays x (N, ...) and y (N,) first.")
        spec, count = run_launch.upload_source(upload.getvalue(), current, store)
        return spec, upload.name, count
    name = run_launch.TORCHVISION[choice]
    spec = {"name": name, "root": ss.get("rn_root") or str(default_data_root())}
    ds = cache.dataset_from_spec(json.dumps(spec, sort_keys=True))
    if current.loaded.input_shape is not None and tuple(current.loaded.input_shape) != tuple(ds.input_shape):
        raise ValueError(f"The model {current.label} takes inputs of shape {tuple(current.loaded.input_shape)}, "
                         f"but {choice} images are {ds.input_shape}. Pick a model trained on {choice}.")
    return spec, f"{choice} test", len(ds.y_test)


def _method_fields(method: str) -> None:
    """The chosen method's own parameters (inside the start form)."""
    if method == "ddrs":
        d = st.columns(4)
        d[0].number_input("K (steps)", 0, 1000, 20, key="rn_steps",
                          help="Gradient-ascent steps of OptimizeSigma (Algorithm 1) on σ/2 (Φ⁻¹(E_A) − Φ⁻¹(E_B)).")
        d[1].number_input("Learning rate", 0.0, 10.0, 0.05, 0.01, key="rn_lr", help="Step size of σ ← σ + α ∇σ R.")
        d[2].number_input("n per step", 1, 100_000, 32, key="rn_nopt",
                          help="Reparameterised Monte Carlo samples per step (Eq. 3).")
        d[3].checkbox("Memory (Sec. 3.5)", True, key="rn_memory",
                      help="Without it, CERTIFY at σ\\*ₓ certifies g with the fixed σ\\*ₓ only: no certificate of the "
                           "data-dependent classifier (Súkeník et al. 2022). Applied in index order when reading.")
        st.checkbox("Also a fixed-σ Cohen run at each σ₀ (the paper's Table 1)", True, key="rn_with_cohen",
                    help="Same model, data, n0, n, α and seed at σ = σ₀: a row per method in the compare table.")
    elif method == "bernstein":
        d = st.columns(3)
        d[0].number_input("Degree n", 1, 200, 8, key="rn_degree",
                          help="Bernstein degree per feature axis: the head is evaluated on (n+1)^d lattice points.")
        d[1].selectbox("Smooth", ("logits", "probabilities"), key="rn_smooth",
                       help="Smooth the head's logits then softmax (the paper), or its probabilities.")
        d[2].checkbox("Root-finding radius (not a certificate)", True, key="rn_root_finding",
                      help="Algorithm 2's LM radius is stored beside the sound one; it is an upper-bound heuristic "
                           "(a boundary point, not the nearest) and costs ~0.1-5 s per example.")
        st.checkbox("Also Cohen runs at the σ values above", False, key="rn_with_cohen",
                    help="Cohen et al. CERTIFY of the same bottleneck model with n0, n, α below, to compare.")


def _params(method: str) -> run_launch.Params:
    if method == "ddrs":
        extra = (("steps", int(ss["rn_steps"])), ("lr", float(ss["rn_lr"])), ("n_opt", int(ss["rn_nopt"])),
                 ("memory", bool(ss["rn_memory"])))
    elif method == "bernstein":
        extra = (("degree", int(ss["rn_degree"])), ("smooth", ss["rn_smooth"]),
                 ("root_finding", bool(ss["rn_root_finding"])))
    else:
        extra = ()
    with_cohen = bool(ss.get("rn_with_cohen")) and method != "cohen"
    sigmas = run_launch.parse_sigmas(ss["rn_sigmas"], allow_empty=method == "bernstein" and not with_cohen)
    return run_launch.Params(sigmas, int(ss["rn_n0"]), int(ss["rn_n"]), float(ss["rn_alpha"]), int(ss["rn_batch"]),
                             int(ss["rn_max"]), int(ss["rn_skip"]), ss["rn_device"], method=method,
                             method_params=extra, with_cohen=with_cohen)


def _start_form(current) -> None:
    method = st.radio("Method", tuple(run_launch.METHOD_LABELS), key="rn_method", horizontal=True,
                      format_func=run_launch.METHOD_LABELS.get, help=METHOD_HELP)
    with st.form("run_form", border=True):
        st.markdown(f"**Model:** {current.label} (choose it in the sidebar)")
        a, b, c = st.columns(3)
        a.selectbox("Data", run_launch.DATA_CHOICES, key="rn_data",
                    help="The model's own test split (2D toy set, digits, ...), MNIST / Fashion-MNIST / CIFAR-10 "
                         "from a local folder (never downloaded), or your own .npz of images x and labels y.")
        a.text_input("Folder with MNIST / Fashion-MNIST / CIFAR-10", key="rn_root", value=str(default_data_root()),
                     help="Used for the torchvision datasets only; the files must already be there.")
        a.file_uploader(".npz upload", type=["npz"], key="rn_npz",
                        help="Arrays x (N, ...) and y (N,) (or images/labels); uint8 images are scaled to [0, 1].")
        label, tip = SIGMA_LABELS[method]
        b.text_input(label, key="rn_sigmas", value=f"{state.sigma():g}", help=tip)
        b.number_input("Examples (at most)", 1, 1_000_000, 100, key="rn_max", help="How many test examples to certify.")
        b.number_input("Every k-th example", 1, 10_000, 1, key="rn_skip", help="Take every k-th test example (Cohen et al. used 20 on ImageNet).")
        b.radio("Device", ("auto", "cpu", "cuda"), key="rn_device", horizontal=True,
                help="auto: the GPU when there is one. Runs on one GPU queue for it; a batch that does not fit is "
                     "halved. Bernstein runs on the CPU (numpy).")
        c.number_input("n0 (selection)", 1, 100_000, 100, key="rn_n0", help="Samples that pick the top class c_A.")
        c.number_input("n (estimation)", 1, 10_000_000, 10_000, key="rn_n",
                       help="Fresh samples that bound p_A from below; the paper uses 100 000.")
        c.number_input("α", 1e-6, 0.5, 0.001, format="%.4f", key="rn_alpha",
                       help="Each certificate is wrong with probability at most α.")
        c.number_input("Batch", 1, 1_000_000, 1000, key="rn_batch", help="Noisy samples per forward pass.")
        _method_fields(method)
        submitted = st.form_submit_button("Start", type="primary", icon=":material/play_arrow:",
                                          help="Create the run(s) and start the background worker.")
    if submitted:
        try:
            spec, label, count = _data_choice(current)
            ids = run_launch.start(store, current, spec, label, count, _params(method))
        except (ValueError, OSError) as exc:
            st.error(str(exc), icon=":material/error:")
            return
        ss["rn_selected"] = next((i for i in ids if store.get(i).spec.method == method), ids[0])
        st.toast(f"Started {len(ids)} run(s): #{', #'.join(map(str, ids))}", icon=":material/play_arrow:")


def _run_label(run) -> str:
    started = time.strftime("%d %b %H:%M", time.localtime(run.created))
    return f"#{run.id} {run.name} · {run.spec.data_label or run.spec.data.get('name', '')} · {started}"


def _controls(run) -> None:
    a, b, c = st.columns(3)
    if run.active and a.button("Cancel", key=f"cancel{run.id}", icon=":material/stop:",
                               help="Stop after the current example; finished examples stay."):
        worker.cancel(store, run.id)
        st.rerun()
    if not run.active and run.done < run.total and run.status != "imported" and a.button(
            "Resume", key=f"resume{run.id}", icon=":material/play_arrow:", help="Continue where the run stopped."):
        try:
            worker.resume(store, run.id)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    if c.button("Delete run", key=f"delete{run.id}", icon=":material/delete:", disabled=run.active,
                help="Remove the run and its examples from the store (cancel it first)."):
        store.delete(run.id)
        ss.pop("rn_selected", None)
        st.rerun()


def _method_panel(v, grid, curves) -> None:
    """What the method adds to the live view: σ*ₓ and the memory (ddrs), the root-finding radius (bernstein)."""
    spec, raw = v.run.spec, v.raw
    if v.problem:
        st.warning(v.problem, icon=":material/warning:")
    if spec.method == "ddrs" and len(raw):
        a, b, c = st.columns(3)
        a.metric("Median σ*ₓ", f"{np.nanmedian(raw.sigma):.3f}",
                 help=f"OptimizeSigma's σ per example, from σ₀ = {spec.sigma:g}.")
        b.metric("σ*ₓ range", f"{np.nanmin(raw.sigma):.2f} – {np.nanmax(raw.sigma):.2f}",
                 help="Smallest and largest σ\\*ₓ.")
        if spec.memory:
            c.metric("Memory changes", f"{int(v.changed.sum())}", help="Answers the memory relabelled (x inside an "
                     "earlier region of another class) or shrank (regions of two classes would intersect).")
            curves.append(run_figures.Curve("CERTIFY at σ*ₓ without memory (not a certificate)", grid,
                                            certified_accuracy(raw.radius, raw.correct, grid), len(raw), v.run.total))
        st.caption("CERTIFY at σ\\*ₓ is a statement about g smoothed with the fixed σ\\*ₓ only, so on its own it does "
                   "not certify the data-dependent classifier (Súkeník et al. 2022). " + (
                       "The memory (Sec. 3.5) queries the finished examples in index order: its answers are "
                       "consistent with each other for exactly this query sequence, and depend on the order."
                       if spec.memory else "**This run has no memory: its radii are not certificates.**"))
    if spec.method == "bernstein" and len(raw):
        if np.isfinite(raw.root_radius).any():
            root = certified_accuracy(raw.root_radius, raw.correct, grid)
            curves.append(run_figures.Curve("root-finding radius (Alg. 2, not a certificate)", grid, root,
                                            len(raw), v.run.total))
        st.caption("Radius: the sound Lipschitz radius of the Bernstein classifier in feature space divided by the "
                   "computed bound L_G of the feature extractor (Eq. 4; see the notes). The root-finding radius finds "
                   "*a* boundary point, so it only bounds the distance to the boundary from above.")


def live_panel(run_id: int, was_active: bool) -> None:
    store.refresh()
    try:
        run = store.get(run_id)
    except ValueError:
        st.info("This run was deleted.")
        return
    v = run_views.view(store, run)
    ex = v.ex
    grid = run_figures.radius_grid(max(4 * run.spec.sigma, float(v.raw.radius.max()) if len(ex) else 0) * 1.05)
    s = summarize(run, ex, grid)
    cols = st.columns(7)
    fmt = lambda v, f: "–" if v is None or np.isnan(v) else f.format(v)  # noqa: E731
    cols[0].metric("Examples done", f"{s.done}/{s.total}", help="Finished and saved in the store.")
    cols[1].metric("Samples / s", fmt(s.samples_per_second, "{:,.0f}"), help="Noisy samples per second: n0 + n (and (K + 1)·n_opt for OptimizeSigma).")
    cols[2].metric("ETA", fmt(s.eta_seconds if run.active else np.nan, "{:.0f} s"), help="At the current rate.")
    cols[3].metric("ACR", fmt(s.acr, "{:.3f}"), help="Average certified radius (0 for wrong or abstained).")
    cols[4].metric("Smoothed acc.", fmt(s.smoothed_accuracy, "{:.3f}"), help="Certified accuracy at radius 0 (g).")
    cols[5].metric("Clean acc.", fmt(s.clean_accuracy, "{:.3f}"), help="The base classifier f on the clean inputs.")
    cols[6].metric("Abstain rate", fmt(s.abstain_rate, "{:.3f}"), help="p̲_A < ½: g refuses to answer.")
    st.progress(s.done / max(1, s.total), text=f"{run.status} on {run.device or run.spec.device}")
    curves = [run_figures.Curve(run.name, grid, s.curve, s.done, s.total)] if s.done else []
    _method_panel(v, grid, curves)
    st.plotly_chart(run_figures.accuracy_figure(curves, title="Certified accuracy (live)"), key="live_curve")
    if run.error:
        st.error(f"The run failed: {run.error}")
    if run.notes:
        st.caption("Notes: " + " · ".join(run.notes.strip().splitlines()[-4:]))
    _controls(run)
    if was_active and not run.active:
        st.rerun()               # the whole page redraws once, without polling


with tab_run:
    try:
        current = state.current_model()
    except (ModelLoadError, FileNotFoundError, ValueError, DataError) as exc:
        current = None
        st.error(f"The sidebar's model cannot be used: {exc}")
    if current is not None:
        _start_form(current)
    runs = store.list_runs()
    if not runs:
        st.info("No runs yet: start one above, or run `python -m cert_core certify ...` in a terminal.")
    else:
        ids = [r.id for r in runs]
        if ss.get("rn_selected") not in ids:
            ss["rn_selected"] = next((r.id for r in runs if r.active), ids[0])
        by_id = {r.id: r for r in runs}
        st.selectbox("Run", ids, key="rn_selected", format_func=lambda i: _run_label(by_id[i]),
                     help="Every run in the store, newest first (including command-line runs).")
        active = by_id[ss["rn_selected"]].active
        st.fragment(live_panel, run_every=POLL_SECONDS if active else None)(ss["rn_selected"], active)

with tab_compare:
    run_compare.render(store)
