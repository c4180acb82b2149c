"""Certification runs: start CERTIFY (Cohen et al. 2019), per-input σ (Alfarra et al. 2022, with the memory
of Sec. 3.5), Bernstein certification of a bottleneck model (Kao, Ko & Lu) or sequential certification over a
test set in a background worker, watch the certified-accuracy curve grow live, cancel / resume, then compare and
export runs. Every method comes from the run-method registry (cert_core.runs.engine)."""
import streamlit as st

from cert_core.models.bundles import ModelLoadError
from cert_core.models.dataset import DataError
from cert_core.runs.store import RunStore
from ui import navigation, presenter, state
from ui.runs import compare as run_compare
from ui.runs.form import start_form
from ui.runs.live import live_panel, run_label

ss = st.session_state
POLL_SECONDS = 1.0

st.title(navigation.RUNS.title)
presenter.folded("About this page").caption(
    "CERTIFY (Cohen, Rosenfeld & Kolter 2019) on every selected test example: select the class with n0 noisy "
    "samples, bound its probability with n fresh ones, radius σ Φ⁻¹(p̲_A), abstain when p̲_A < ½ — at one σ, at a "
    "per-input σ\\*ₓ (DDRS), sequentially with early stopping, or Bernstein's deterministic certificate instead. "
    "Runs work in a background process and are saved: leaving the page or closing the tab does not stop them.")
try:
    store = RunStore()
except ValueError as exc:
    st.error(f"The run store cannot be used: {exc}. Set CERT_EXPLORER_RUNS to a writable file.")
    st.stop()

tab_run, tab_compare = st.tabs([":material/play_circle: Run", ":material/compare: Compare & export"])

with tab_run:
    try:
        current = state.current_model()
    except (ModelLoadError, FileNotFoundError, ValueError, DataError) as exc:
        current = None
        st.error(f"The sidebar's model cannot be used: {exc}")
    if current is not None:
        start_form(store, current)
    runs = store.list_runs()
    for problem in runs.problems:               # a run row that cannot be read is skipped, not fatal
        st.warning(problem, icon=":material/warning:")
    if not runs:
        st.info("No runs yet: start one above, or run `python -m cert_core certify ...` in a terminal.")
    else:
        ids = [r.id for r in runs]
        if ss.get("rn_selected") not in ids:     # a first visit opens on no run: the store is shared
            ss["rn_selected"] = None
        by_id = {r.id: r for r in runs}
        st.selectbox("Run", ids, key="rn_selected", index=None, format_func=lambda i: run_label(by_id[i]),
                     placeholder=f"Choose a run to watch ({len(ids)} in the store)",
                     help="Every run in the store, newest first: started on this page, in other tabs or sessions, "
                          "or with python -m cert_core certify. A run you start here is chosen for you.")
        if ss["rn_selected"] is None:
            st.info(f"No run chosen. The store holds {len(ids)} run(s), yours and others' (other tabs, sessions and "
                    "the command line): choose one in the list above to watch it, or start one.",
                    icon=":material/list:")
        else:
            active = by_id[ss["rn_selected"]].active
            st.fragment(live_panel, run_every=POLL_SECONDS if active else None)(store, ss["rn_selected"], active)

with tab_compare:
    run_compare.render(store)
