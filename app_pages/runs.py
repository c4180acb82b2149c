"""Certification runs: start CERTIFY (Cohen et al. 2019), per-input σ (Alfarra et al. 2022, with the memory
of Sec. 3.5) or Bernstein certification of a bottleneck model (Kao, Ko & Lu) over a test set in a background
worker, watch the certified-accuracy curve grow live, cancel / resume, then compare and export runs."""
import json
import time

import numpy as np
import streamlit as st

from dataclasses import fields

from cert_core.metrics import certified_accuracy
from cert_core.models.bundles import ModelLoadError
from cert_core.models.data import DataError, default_data_root
from cert_core.runs import worker
from cert_core.runs.engine import RUN_METHODS, run_method
from cert_core.runs.export import summarize
from cert_core.runs.store import RunSpec, RunStore
from ui import cache, state
from ui.runs import compare as run_compare
from ui.runs import figures as run_figures
from ui.runs import launch as run_launch
from ui.runs import views as run_views

ss = st.session_state
POLL_SECONDS = 1.0

st.title("Certification runs")
st.caption("CERTIFY (Cohen, Rosenfeld & Kolter 2019) on every selected test example: select the class with n0 "
           "noisy samples, bound its probability with n fresh ones, radius σ Φ⁻¹(p̲_A), abstain when p̲_A < ½ — "
           "at one σ, at a per-input σ\\*ₓ (DDRS), or Bernstein's deterministic certificate instead. "
           "Runs work in a background process and are saved: leaving the page or closing the tab does not stop them.")
METHOD_HELP = " ".join(m.summary for m in RUN_METHODS.values())
SPEC_DEFAULTS = {f.name: f.default for f in fields(RunSpec)}
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
    """The chosen method's own parameters (inside the start form), drawn from its FormFields."""
    m = run_method(method)
    if m.fields:
        for column, f in zip(st.columns(len(m.fields)), m.fields):
            default, key = SPEC_DEFAULTS[f.name], f"rn_{f.name}"
            if f.choices:
                column.selectbox(f.label, f.choices, index=f.choices.index(default), key=key, help=f.help)
            elif isinstance(default, bool):
                column.checkbox(f.label, default, key=key, help=f.help)
            elif isinstance(default, int):
                column.number_input(f.label, int(f.low), int(f.high), default, key=key, help=f.help)
            else:
                column.number_input(f.label, float(f.low), float(f.high), default, f.step, key=key, help=f.help)
    if m.companion:
        st.checkbox(m.companion.label, m.companion.default, key="rn_with_cohen", help=m.companion.help)


def _params(method: str) -> run_launch.Params:
    m = run_method(method)
    extra = tuple((f.name, type(SPEC_DEFAULTS[f.name])(ss[f"rn_{f.name}"])) for f in m.fields)
    with_cohen = bool(ss.get("rn_with_cohen")) and m.companion is not None
    sigmas = run_launch.parse_sigmas(ss["rn_sigmas"], allow_empty=not m.noisy and not with_cohen)
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
        label, tip = run_method(method).sigma_field
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
    """What the method adds to the live view (ddrs: σ*ₓ and the memory; bernstein: the root-finding radius)."""
    spec, raw, m = v.run.spec, v.raw, run_method(v.run.spec.method)
    if v.problem:
        st.warning(v.problem, icon=":material/warning:")
    if not len(raw):
        return
    metrics = m.live_metrics(spec, raw, v.ex)
    for column, metric in zip(st.columns(3) if metrics else (), metrics):
        column.metric(metric.label, metric.value, help=metric.help)
    for label, radii, correct in m.extra_curves(spec, raw, v.ex):
        curves.append(run_figures.Curve(label, grid, certified_accuracy(radii, correct, grid), len(raw), v.run.total))
    if m.caption(spec):
        st.caption(m.caption(spec))


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
