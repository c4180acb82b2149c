"""The runs page's live view of one run: progress and headline numbers, the certified-accuracy curve (plus what
the run's method adds: ``RunMethod.live_metrics``, ``extra_curves``, ``caption``), notes and the controls."""
from __future__ import annotations

import time
from pathlib import PurePath

import numpy as np
import streamlit as st

from cert_core.metrics import certified_accuracy
from cert_core.runs import worker
from cert_core.runs.engine import run_method
from cert_core.runs.export import summarize
from cert_core.runs.store import RunStore
from ui import presenter
from ui.runs import figures as run_figures
from ui.runs import views as run_views

ss = st.session_state


def compact(value: float | None) -> str:
    """A rate short enough for a metric in a seventh of the page: 950, 12.3 k, 1.28 M ("–" when unknown)."""
    if value is None or not np.isfinite(value):
        return "–"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3g} M"
    return f"{value / 1e3:.1f} k" if abs(value) >= 1e4 else f"{value:,.0f}"


def model_name(spec) -> str:
    """The model's name: the zoo entry, or the file's stem for a model given by its path (CLI runs)."""
    if "zoo" in spec.model:
        return str(spec.model["zoo"])
    label = spec.model_label or str(spec.model.get("path", "model"))
    return PurePath(label).stem if "/" in label or "\\" in label or PurePath(label).suffix else label


def run_label(run) -> str:
    """'#id model method · data · started': a run named after its model's file path shows the model's name."""
    started = time.strftime("%d %b %H:%M", time.localtime(run.created))
    name, label = run.name, run.spec.model_label
    if label and name.startswith(label):
        name = model_name(run.spec) + name[len(label):]
    return f"#{run.id} {name} · {run.spec.data_label or run.spec.data.get('name', '')} · {started}"


def progress_text(run) -> str:
    """The progress bar's words; a queued run says what it waits for."""
    device = run.device or run.spec.device
    if run.status != "queued":
        return f"{run.status} on {device}"
    if device in ("cpu", "auto"):
        held = f"this machine certifies {worker.cpu_slots()} CPU run(s) at a time"
    else:
        held = f"{device} certifies one run at a time"
    where = "CPU" if device in ("cpu", "auto") else device
    return (f"queued: waiting for a free {where} slot ({held}; other runs, from any tab or the command line, "
            "hold them). It starts by itself when one finishes.")


def _controls(store: RunStore, run) -> None:
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


def live_panel(store: RunStore, run_id: int, was_active: bool) -> None:
    """The selected run, redrawn by the page's fragment every second while it is active."""
    store.refresh()
    try:
        run = store.get(run_id)
    except ValueError:
        st.info("This run was deleted.")
        return
    v = run_views.view(store, run)
    ex = v.ex
    # up to the largest radius certified so far (not 4σ: the curve is 0 long before that on most runs)
    grid = run_figures.radius_grid(max(0.25 * run.spec.sigma, float(v.raw.radius.max()) if len(ex) else 0) * 1.1)
    s = summarize(run, ex, grid)
    cols = st.columns(7)
    fmt = lambda v, f: "–" if v is None or np.isnan(v) else f.format(v)  # noqa: E731
    cols[0].metric("Examples done", f"{s.done}/{s.total}", help="Finished and saved in the store.")
    cols[1].metric("Samples / s", compact(s.samples_per_second),
                   help="Noisy samples per second: n0 + n (and (K + 1)·n_opt for OptimizeSigma).")
    cols[2].metric("ETA", fmt(s.eta_seconds if run.active else np.nan, "{:.0f} s"), help="At the current rate.")
    cols[3].metric("ACR", fmt(s.acr, "{:.3f}"), help="Average certified radius (0 for wrong or abstained).")
    cols[4].metric("Smoothed acc.", fmt(s.smoothed_accuracy, "{:.3f}"), help="Certified accuracy at radius 0 (g).")
    cols[5].metric("Clean acc.", fmt(s.clean_accuracy, "{:.3f}"), help="The base classifier f on the clean inputs.")
    cols[6].metric("Abstain rate", fmt(s.abstain_rate, "{:.3f}"), help="p̲_A < ½: g refuses to answer.")
    st.progress(s.done / max(1, s.total), text=progress_text(run))
    curves = [run_figures.Curve(run.name, grid, s.curve, s.done, s.total)] if s.done else []
    _method_panel(v, grid, curves)
    st.plotly_chart(presenter.scale(run_figures.accuracy_figure(curves, title="Certified accuracy (live)")),
                    key="live_curve", theme=None)      # theme=None: the figure's own large dark fonts, not Streamlit's
    if run.error:
        st.error(f"The run failed: {run.error}")
    if run.notes:
        st.caption("Notes: " + " · ".join(run.notes.strip().splitlines()[-4:]))
    _controls(store, run)
    if was_active and not run.active:
        st.rerun()               # the whole page redraws once, without polling
