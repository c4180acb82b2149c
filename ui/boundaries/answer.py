"""The point inspector's answer on the decision-boundaries page: the noise cloud, the votes and the radius table.

A click is answered with the fast providers' rows at once (Cohen's Monte Carlo and exact radius, the two true
distances, the Lipschitz rows); the slow providers (``register_provider(slow=True)``: sequential CERTIFY, per-input σ*,
SC-RFP, Bernstein) run in a background job (``cache.slow_rows``) and a fragment polls it, so they arrive on their own and
never hold up the first answer. Slow rows are appended after the fast ones, so no circle changes its style when
they arrive. When they arrive only the table's fragment is redrawn (the maps and, unless "Show every method's circle"
is on, the noise cloud draw the fast rows alone), and the fragment's poll is stopped; a second whole-page run, which
redrew and re-sent every chart, is left for the one case that needs it (the cloud's circles change).
"""
from __future__ import annotations

from concurrent.futures import Future
from typing import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import image_map, links, presenter, state
from ui.boundaries import cache as bc
from ui.boundaries import controls, explorer
from ui.boundaries import figures as bf
from ui.inspector import RadiusRow, audit

NO_POINT = "Click a point on either map, or type its coordinates, to see its noise cloud, votes and radii."
POLL = "_inspector_poll"         # session key: the id of the table fragment whose poll start_polling starts
FIGURES = "_inspector_figures"   # session key: {chart name: (inputs, figure)} of the last run (see reused)
POLL_S = 0.5        # how often the table looks for the slow rows while they are computed
PENDING = ("Still computing the later rows (sequential CERTIFY, per-input σ*, SC-RFP, Bernstein); they appear in "
           "this table on their own, and clicking elsewhere meanwhile is fine.")


@st.fragment
def inspector(current, m, sigma: float, cp, draw_maps: Callable, path_chart: Callable) -> None:
    """The "Inspect a point" section as a fragment: a click on a map (drawn by ``draw_maps``, in this fragment) or a
    typed coordinate reruns this section alone, and that one run answers it: first the cloud, the votes and the
    table (the slow rows follow on their own), then the maps and the radius map with the point and its circles
    (``draw_maps(point, rows)``: ``ui.boundaries.sigma_view.draw_maps``, into the columns and the tab its caller
    made), then the address bar. The sidebar, the metrics and the tabs' other content are not run again.

    ``m``, ``sigma`` and ``cp`` are those of the caller's last run (the σ view's fragment, which a σ step reruns and
    which calls this one again); a changed n, n₀, α or seed reruns the page at once (the maps' abstain shading and
    the metrics use them). ``path_chart``: the sequential path under the table (``ui.sequential.views.path_chart``;
    a method slice, which the page imports)."""
    controls.remember_fragment()
    point = state.selected_point()
    controls.point_inputs(point, m.view)      # x₁, x₂ and CERTIFY's n, n₀, α, seed
    if controls.own_rerun() and controls.certify_params() != cp:
        st.rerun(scope="app")
    if point is None:
        st.info(NO_POINT, icon=":material/ads_click:")
        draw_maps(None, [])
        links.sync_url()                      # an emptied box: the link loses x and y
        return
    rows, errors, cert, start_slow = bc.inspect_point(current, m, point, sigma, cp)
    show(current, point, sigma, cp, m, (rows, errors, cert), start_slow)
    draw_maps(point, rows)                    # the first answer is out: now the maps show the point
    links.sync_url()                          # ?x=&y= (a no-op unless the point changed in this run)
    path_chart(current, point, sigma, cp.n0, cp.n, cp.alpha, cp.seed, cert)
    if controls.own_rerun():                  # else the σ view's run starts it, at its end
        start_polling()


def with_slow(rows: list[RadiusRow], errors: list[str], job: Future) -> tuple[list[RadiusRow], list[str]]:
    """The fast rows followed by the slow ones when the job is done (else the fast rows alone)."""
    if not job.done():
        return rows, errors
    slow, slow_errors = job.result()
    return rows + slow, errors + slow_errors


def show(current, point, sigma: float, cp, m, fast: tuple, start_slow: Callable[[], Future]) -> None:
    """Cloud and votes beside each other, then the table (a fragment that adds the slow rows when they arrive).

    ``start_slow()`` starts (or finds) the slow providers' job; it is called only after the cloud and the votes are
    drawn, so that on a 2-core machine the job does not compete with the first answer for the CPU."""
    rows, errors, cert = fast
    names = current.class_names
    st.container(key="inspected_point").caption(f"Inspecting the point ({point[0]:.3f}, {point[1]:.3f}).")
    left, right = st.columns([1.1, 1])
    show_all = left.toggle("Show every method's circle", key="all_circles",
                           help="Off: the Monte Carlo certificate, its exact version and the two true distances. "
                                "On: one circle per table row (the table's 'circle' column names each style).")
    job = start_slow() if show_all else None       # on, the cloud draws the slow rows' circles as soon as they are done
    # off, the cloud is drawn from the fast rows alone (the key rows are fast), so its figure is the same before and
    # after the slow rows arrive and the browser does not redraw it (Streamlit skips a chart whose spec is unchanged)
    drawn = with_slow(rows, errors, job)[0] if show_all else rows

    def cloud_picture():
        cl = bc.cloud(current, point, sigma, cp.seed, drawn, m.view)
        return bf.noise_cloud(point, cl.samples, cl.votes, cl.labels, cl.view,
                              explorer.cloud_circles(drawn, show_all), names, sigma,
                              image_map.FONT_PRESENTER if presenter.active() else image_map.FONT)
    with left:
        image_map.draw("cloud", reused("cloud", (current.key, point, sigma, cp.seed, tuple(drawn), show_all,
                                                 m.view.bounds, presenter.active()), cloud_picture))
    right.plotly_chart(reused("votes", (current.key, cert, cp.n),
                              lambda: bf.vote_histogram(cert.counts, names, cp.n, cert.p_lower, cert.prediction,
                                                        cert.counts0)),
                       key="votes", theme=None, config={"displayModeBar": False})
    job = job or start_slow()                      # off, the job starts only now that cloud and votes are drawn
    waiting = not job.done()
    ids = {}
    deferred = controls.this_fragment_id() is not None   # (the inspector's) else Streamlit's timer, started at once

    @st.fragment(run_every=POLL_S if waiting and not deferred else None)
    def table() -> None:
        ids.setdefault("table", controls.this_fragment_id())
        controls.keep_sigma(sigma)
        shown, problems = with_slow(rows, errors, job)
        table = explorer.table(shown)
        st.dataframe(table, hide_index=True, width="stretch", height="content", key="radii", column_config={
            "circle": st.column_config.TextColumn("circle", width=150),
            "kind": st.column_config.TextColumn("kind", width=110),
            "note": st.column_config.TextColumn("note", width="large")})
        with st.expander("Each row's note in full"):      # a grid cell cuts long text; a static table wraps it
            st.table([{"method": r["method"], "note": r["note"]} for r in table], hide_index=True, border="horizontal")
        violations = audit(shown)
        for msg in violations:
            st.error(f"Soundness violation: {msg}", icon=":material/gpp_bad:")
        if shown and not violations:
            st.success("Every certificate lies inside the exact distance to the smoothed boundary.",
                       icon=":material/verified:")
        for msg in problems:
            st.warning(f"A certificate provider failed: {msg}")
        if not job.done():
            st.caption(PENDING, help="They take a second or more per point; the rows above are final.")
        elif waiting and (show_all or not stop_polling()):   # they arrived: the cloud draws their circles too
            st.rerun(scope="app")        # (a full run also stops this polling, as the fragment is defined without it)

    table()
    if waiting and deferred:
        st.session_state[POLL] = ids.get("table")
    else:
        st.session_state.pop(POLL, None)


def start_polling() -> None:
    """Start the poll of the table this run drew while its slow rows are computed: a ``run_every`` timer in the
    browser (the message ``@st.fragment(run_every=...)`` sends), sent by the run's outermost part at its very end
    (the inspector's own rerun, or the σ view), not as the table is defined. A tick that reached the server while
    the run was still drawing the maps waited for it, then started at once, and the finished run's last message,
    not yet sent, was relabelled "stopped early for a rerun": the browser kept that run's stale elements."""
    fragment_id, ctx = st.session_state.pop(POLL, None), get_script_run_ctx()
    if fragment_id is None or ctx is None:
        return
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    msg = ForwardMsg()
    msg.auto_rerun.interval = POLL_S
    msg.auto_rerun.fragment_id = fragment_id
    ctx.enqueue(msg)


def reused(name: str, key: tuple, build: Callable[[], object]) -> object:
    """``build()``, or the figure this session built for the same ``key`` in its last run: a run that draws the
    inspector again for the same point and σ (a page control, "Show every method's circle" when the slow rows
    arrive, the Monte Carlo tab's settings) draws the same cloud and votes again, and building them (noise votes, f
    around the point, the votes' Plotly validation) cost ~0.1 s of server CPU."""
    memo = st.session_state.setdefault(FIGURES, {})
    kept = memo.get(name)
    if kept is None or kept[0] != key:
        kept = memo[name] = (key, build())
    return kept[1]


def stop_polling() -> bool:
    """In a fragment's own rerun, tell the browser to stop that fragment's ``run_every`` timer; False when this is no
    fragment rerun or this Streamlit has no such message (the caller then falls back to a whole-page run, which
    re-registers the fragment without a timer). Streamlit sends the same message itself for a nested fragment that
    its parent no longer draws (ForwardMsg.stop_auto_rerun)."""
    ctx = get_script_run_ctx()
    fragment_ids = list(ctx.fragment_ids_this_run or []) if ctx is not None else []
    if len(fragment_ids) != 1:           # a full run, or several fragments at once: not only ours
        return False
    try:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        msg = ForwardMsg()
        msg.stop_auto_rerun.fragment_ids.extend(fragment_ids)
    except (ImportError, AttributeError, ValueError):
        return False
    ctx.enqueue(msg)
    return True
