"""The runs page's compare & export view: overlay, envelope over σ (Cohen et al. 2019, Fig. 7), a table
like the papers' (a row per run with its method: Cohen vs DDRS vs Bernstein, like Table 1 of Alfarra et al.),
the per-example table with filters, downloads, TSV import and deletion. A ddrs run is shown after its memory."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from cert_core.runs.export import import_tsv, paper_table, summarize, to_cohen_tsv, to_csv
from cert_core.metrics import envelope
from cert_core.runs.engine import run_method
from cert_core.runs.store import RunStore
from ui import presenter
from ui.runs import figures as run_figures
from ui.runs import report
from ui.runs import views as run_views
from ui.runs.launch import parse_radii

ss = st.session_state


def render(store: RunStore) -> None:
    runs = [r for r in store.list_runs() if r.done > 0]
    if not runs:
        st.info("Nothing to compare yet: finished examples of any run appear here.")
        _import(store)
        return
    by_id = {r.id: r for r in runs}
    shown = by_id.get(ss.get("rn_selected"), runs[0])       # the run the Run tab shows, else the newest
    default = [r.id for r in runs if r.group and r.group == shown.group] or [shown.id]
    if ss.get("cmp_default") != default:      # a new group (or a run's first example) is shown at once
        ss["cmp_default"], ss["cmp_runs"] = default, default
    ss["cmp_runs"] = [i for i in ss["cmp_runs"] if i in by_id]                 # a deleted run drops out
    chosen = st.multiselect("Runs", list(by_id), key="cmp_runs",
                            format_func=lambda i: f"#{i} {by_id[i].name} ({by_id[i].done}/{by_id[i].total})",
                            help="Runs to overlay; the runs started together (several σ) with the one the Run tab "
                                 "shows, or else the newest, are chosen by default.")
    chosen = [i for i in chosen if i in by_id]
    if not chosen:
        st.warning("Choose at least one run.")
        _import(store)
        return
    views = {i: run_views.view(store, by_id[i]) for i in chosen}
    for v in views.values():
        if v.problem:
            st.warning(f"#{v.run.id}: {v.problem}", icon=":material/warning:")
    data = [(v.run, v.ex) for v in views.values()]
    a, b = st.columns([3, 1])
    top = max(max(float(ex.radius.max()), 2 * r.spec.sigma) for r, ex in data)
    max_r = b.number_input("Largest radius", 0.05, 100.0, round(top * 1.05, 2), key="cmp_max_r",
                           help="Right end of the radius axis.")
    show_env = b.checkbox("Envelope over the runs", value=len(chosen) > 1, key="cmp_env",
                          help="The best certified accuracy of the chosen runs at each radius (over σ: Cohen et al. Fig. 7).")
    grid = run_figures.radius_grid(max_r)
    curves = [run_figures.Curve(r.name, grid, summarize(r, ex, grid).curve, len(ex), r.total) for r, ex in data]
    env = envelope([c.accuracy for c in curves]) if show_env else None
    fig = run_figures.accuracy_figure(curves, env, title="Certified accuracy against radius")
    a.plotly_chart(presenter.scale(fig), key="cmp_fig", theme=None)   # the figure's own large dark fonts
    b.download_button("Figure (HTML)", run_figures.figure_html(fig), "certified_accuracy.html", "text/html",
                      icon=":material/download:", help="A standalone HTML file with the interactive figure.")
    report.export_button(b, data, ss.get("cmp_radii"), max_r, show_env)
    _paper_table(data)
    _examples(store, data, views)
    _import(store)


def _paper_table(data) -> None:
    st.subheader("Table")
    st.caption("A row per run, a column per radius, and the ACR (Table 1 of Cohen et al. and of Alfarra et al.). "
               "DDRS rows are after the memory; Bernstein rows are its sound radius (no α: deterministic).")
    text = st.text_input("Radii", "0, 0.25, 0.5, 0.75, 1.0", key="cmp_radii",
                         help="Certified accuracy is reported at these ℓ2 radii, like the papers' tables.")
    try:
        radii = parse_radii(text)
    except ValueError as exc:
        st.error(str(exc))
        return
    table = pd.DataFrame(paper_table(data, radii)).set_index("run")
    st.dataframe(table.style.format(precision=3), key="cmp_table")


def _method_columns(df: pd.DataFrame, v: run_views.RunView) -> pd.DataFrame:
    """The method's own columns (ddrs: σ*ₓ and the answers before the memory; bernstein: the root-finding radius)."""
    for name, column in run_method(v.run.spec.method).example_columns(v.run.spec, v.raw, v.ex).items():
        df[name] = column
    return df


def _examples(store: RunStore, data, views) -> None:
    st.subheader("Examples")
    by_id = {r.id: (r, ex) for r, ex in data}
    a, b, c = st.columns(3)
    run_id = a.selectbox("Run", list(by_id), key="cmp_ex_run", format_func=lambda i: f"#{i} {by_id[i][0].name}",
                         help="Whose examples to list and export.")
    run, ex = by_id[run_id]
    outcome = b.segmented_control("Show", ("all", "certified", "wrong", "abstained"), default="all",
                                  key="cmp_outcome", help="Filter by outcome of CERTIFY.")
    labels = sorted(set(ex.label.tolist()))
    keep_labels = c.multiselect("Labels", labels, default=labels, key="cmp_labels", help="Filter by true label.")
    df = pd.DataFrame({"idx": ex.idx, "label": ex.label, "prediction": ex.prediction, "radius": ex.radius,
                       "p_lower": ex.p_lower, "correct": ex.correct, "base prediction": ex.base_prediction,
                       "seconds": ex.seconds, "rank": ex.rank})
    df = _method_columns(df, views[run_id])
    mask = df["label"].isin(keep_labels)
    if outcome == "certified":
        mask &= df["correct"] & (df["radius"] > 0)
    elif outcome == "wrong":
        mask &= ~df["correct"] & (df["prediction"] >= 0)
    elif outcome == "abstained":
        mask &= df["prediction"] < 0
    st.caption(f"{int(mask.sum())} of {len(df)} examples")
    st.dataframe(df[mask], hide_index=True, key="cmp_examples", height=280)
    d1, d2, d3 = st.columns(3)
    d1.download_button("Cohen et al. TSV", to_cohen_tsv(ex), f"run{run.id}.tsv", "text/tab-separated-values",
                       icon=":material/download:", key="dl_tsv", help="idx label predict radius correct time")
    d2.download_button("CSV", to_csv(run, ex), f"run{run.id}.csv", "text/csv", icon=":material/download:",
                       key="dl_csv", help="Every stored column plus the run's parameters.")
    with d3.popover("Delete", icon=":material/delete:", help="Remove this run from the store."):
        st.write(f"Delete run #{run.id} {run.name} and its {len(ex)} examples?")
        if st.button("Delete for good", key="cmp_delete", type="primary", disabled=run.active):
            store.delete(run.id)
            st.rerun()


def _import(store: RunStore) -> None:
    with st.expander("Import a Cohen et al. TSV", icon=":material/upload:"):
        upload = st.file_uploader("TSV", type=["tsv", "txt"], key="imp_file", max_upload_size=50,
                                  help="The output of Cohen et al.'s certify.py or of this app's export.")
        a, b = st.columns(2)
        name = a.text_input("Name", "imported run", key="imp_name", help="The run's name in the store.")
        sigma = b.number_input("σ it was certified with", 0.001, 100.0, 0.25, key="imp_sigma",
                               help="The TSV does not record σ; it turns each (rounded) radius back into a p̲_A.")
        if st.button("Import", key="imp_go", disabled=upload is None):
            try:
                run_id = import_tsv(store, upload.getvalue().decode("utf-8", "replace"), name, sigma)
            except ValueError as exc:
                st.error(str(exc))
            else:
                st.success(f"Imported as run #{run_id}.")
