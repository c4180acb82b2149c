"""The decision-boundaries page's inspector inputs: the point's x₁ / x₂ boxes (and their callback) and CERTIFY's
n, n₀, α and seed, laid out for presenter mode too."""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import presenter, state
from ui.boundaries.cache import CertifyParams

MESSAGE = "_typed_msg"        # session key: why a typed value was refused (shown once, then dropped)
FRAGMENT = "_inspector_fragment"   # session key: the inspector fragment's id (see remember_fragment)


def typed() -> None:
    """Typed coordinates: select the point; an emptied box clears the selection; a value outside the
    view is refused with a message and the box goes back to the inspected point."""
    ss = st.session_state
    if _poll_run():              # a stale value, not typing: the boxes go back to the inspected point
        point = state.selected_point()
        ss["px"], ss["py"] = point if point is not None else (None, None)
        return
    x, y = ss.get("px"), ss.get("py")
    for name, key, v, (lo, hi) in (("x₁", "px", x, state.VIEW[:2]), ("x₂", "py", y, state.VIEW[2:])):
        if v is not None and not lo <= v <= hi:
            ss[MESSAGE] = f"{name} = {v:g} is outside the view [{lo:g}, {hi:g}]; type a value in that range."
            old = state.selected_point()
            ss[key] = None if old is None else old[0 if key == "px" else 1]
            return
    if x is None or y is None:
        if state.selected_point() is not None:     # an emptied box: nothing is inspected any more
            ss.pop("point", None)
            ss["px"] = ss["py"] = None
        return
    state.set_point(x, y)


def remember_fragment() -> None:
    """Called in the body of the inspector's fragment (answer.inspector): keep its id, so that its own reruns (a click
    on a map, a typed box) are told apart from the table's poll (``_poll_run``)."""
    fragment_id = this_fragment_id()
    if fragment_id is None:                  # another Streamlit: typing still works, unguarded
        st.session_state.pop(FRAGMENT, None)
    else:
        st.session_state[FRAGMENT] = fragment_id


def this_fragment_id() -> str | None:
    """The id of the fragment whose body is running (None outside one, or where this Streamlit does not say)."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState
        return ThreadState.get().fragment_id
    except (ImportError, AttributeError, RuntimeError):
        return None


def _poll_run() -> bool:
    """Whether this rerun is the inspector table's poll for its slow rows alone, or a σ step's rerun of the σ view
    (ui/boundaries/sigma_view.py): a fragment's rerun that does not include the inspector's own (a click or a typed
    box reruns the inspector's fragment; Streamlit may run both at once). The poll carries the browser's copy of
    every widget, and a box "changed" there is stale: the poll left
    before the browser had received the point a button or link (the lesson's Next) had just set, and would put the
    old point back."""
    ids, own = _fragment_ids(), st.session_state.get(FRAGMENT)
    return bool(ids) and own is not None and own not in ids


def own_rerun() -> bool:
    """Whether this run is (or includes) the inspector fragment's own rerun (a click or a typed box), not a full
    page run."""
    ids = _fragment_ids()
    return bool(ids) and st.session_state.get(FRAGMENT) in ids


def _fragment_ids() -> list[str]:
    ctx = get_script_run_ctx()
    return list(ctx.fragment_ids_this_run or []) if ctx is not None else []


def certify_params() -> CertifyParams:
    """CERTIFY's n₀, n, α and seed as the inspector's inputs set them (defaults before they are drawn)."""
    ss = st.session_state
    return CertifyParams(int(ss.get("n0", 100)), int(ss.get("n", 10_000)), float(ss.get("alpha", 0.001)),
                         int(ss.get("seed", 0)))


def keep_sigma(sigma: float) -> None:
    """In a fragment's rerun, put back the σ the page was drawn with: that rerun carries the browser's copy of every
    widget, and a σ that differs there is stale for the same reason as a point box's (a lesson's button had just set
    another σ); the sidebar would otherwise jump back to it on the next full run."""
    if _poll_run() and state.sigma() != sigma:
        st.session_state["sigma"] = sigma


def point_inputs(point, view) -> None:
    """The inspector's inputs under its heading; the page reads n, n₀, α and the seed from the session."""
    ss = st.session_state
    if point is not None and "px" not in ss:
        ss["px"], ss["py"] = point
    # x₁ and x₂ get wide boxes (in presenter mode the root font is larger); n₀, α and the seed are
    # hidden by presenter mode, so they move to a row of their own there instead of leaving gaps
    wide = presenter.active()
    i = st.columns([1.3, 1.3, 1.2] if wide else [1.3, 1.3, 1, 1, 1, 1])
    tuning = st.columns(3) if wide else i[3:]
    for col, label, key, lo, hi in ((i[0], "x₁", "px", *view.bounds[:2]), (i[1], "x₂", "py", *view.bounds[2:])):
        col.number_input(label, None, None, None, 0.05, format="%.3f", key=key, on_change=typed,
                         placeholder="click map", help=f"Coordinate of the point to inspect, in [{lo:g}, {hi:g}]. "
                                                       "Empty it to clear the selection.")
    i[2].number_input("n (estimation)", 100, 200_000, 10_000, 1000, key="n",
                      help="Fresh noise samples CERTIFY uses to bound p_A; more samples give a larger radius.")
    tuning[0].number_input("n₀ (selection)", 10, 10_000, 100, 10, key="n0",
                           help="Noise samples CERTIFY uses to guess the top class.")
    tuning[1].number_input("α", 1e-6, 0.5, 0.001, format="%g", key="alpha",
                           help="Failure probability: the certificate holds with probability at least 1 − α.")
    tuning[2].number_input("seed", 0, 1_000_000, 0, key="seed",
                           help="Seeds the noise, so a link reproduces the numbers.")
    if MESSAGE in ss:
        st.warning(ss.pop(MESSAGE), icon=":material/error:")
