"""A σ step reruns only what depends on σ (issue 17, "σ step ≤ 0.3 s"), on a page that says what that is.

The sidebar's σ slider lives outside every page, so a step is a whole-app rerun by default: router, sidebar, the
page's controls and every chart. A page may instead draw what depends on σ in fragments made with ``fragment(key)``;
when its last run drew them, a σ step reruns those fragments alone (``on_sigma_change``, the slider's callback,
calls Streamlit 1.67's keyed ``st.rerun([keys])``, which replaces the interaction's whole-app rerun), and the
address bar's ``sigma=`` is written by the fragments themselves (``links.sync_url``), as app.py does after a page.
A page that draws no such fragment, every other page today, keeps the whole-app rerun.

Such a fragment must read σ from the session (``state.sigma()``), not take it as an argument: a fragment's rerun
calls it with the arguments of the run that last drew it. The registry of a page's fragments lives in the session
and is emptied by every whole-app run before the page runs (``forget``, from the sidebar), so it names exactly the
fragments the page's latest run drew.
"""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import links, state

F = TypeVar("F", bound=Callable[..., None])
DRAWN = "_sigma_fragments"       # session key: the keys of the σ fragments the current page's latest run drew


def fragment(key: str) -> Callable[[F], F]:
    """Decorator: ``@st.fragment(key=key)`` that a σ step reruns alone once the page's run has drawn it. Its body
    must read σ (and whatever else a σ step may change) from the session. After the body the address bar is
    brought up to date (``links.sync_url``; nothing is sent when it already is)."""
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def body(*args, **kwargs) -> None:
            drawn = st.session_state.get(DRAWN, ())
            if key not in drawn:
                st.session_state[DRAWN] = (*drawn, key)
            func(*args, **kwargs)
            links.sync_url()
        return st.fragment(body, key=key)
    return decorate


def forget() -> None:
    """At the start of every whole-app run (the sidebar, before the page): no σ fragment is drawn yet."""
    st.session_state.pop(DRAWN, None)


SLIDER = "sigma_slider"           # the σ slider's own fragment (its key for st.rerun)


@st.fragment(key=SLIDER)
def slider() -> None:
    """The sidebar's σ slider, in a fragment of its own: a step is a rerun of this fragment, which its callback
    (``on_sigma_change``) turns into a rerun of the page's σ fragments, or of the whole app on a page without them.
    Outside a fragment, a step was a whole-app run that the callback replaced: the browser had already begun that run
    (every element of the page marked stale, then drawn again for the fragment's run), ~0.1 s of a step."""
    st.slider("Noise level σ", state.SIGMA_MIN, state.SIGMA_MAX, step=state.SIGMA_STEP, key="sigma",
              on_change=on_sigma_change,
              help="Standard deviation of the Gaussian noise the smoothed classifier adds to its input.")


def on_sigma_change() -> None:
    """The σ slider's callback: rerun the page's σ fragments alone, when its latest run drew some, else the app.

    Left alone: a run that another fragment started (the inspector table's poll) carrying the browser's stale copy
    of σ (the stale σ is put back by that fragment: ``ui.boundaries.controls.keep_sigma``), and a whole-app run
    (it draws everything at the new σ anyway)."""
    ctx = get_script_run_ctx()
    if ctx is None or not ctx.fragment_ids_this_run:
        return
    try:
        own = set(ctx.fragment_ids_this_run) <= set(ctx.fragment_storage.resolve_target(SLIDER))
    except StreamlitAPIException:
        own = False
    if not own:
        return
    keys = list(st.session_state.get(DRAWN, ()))
    try:
        if keys:
            st.rerun(keys)
        else:
            st.rerun(scope="app")
    except StreamlitAPIException:     # a fragment Streamlit no longer holds (another Streamlit): the whole app
        st.session_state.pop(DRAWN, None)
        st.rerun(scope="app")
