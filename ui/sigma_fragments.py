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

from ui import links

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


def on_sigma_change() -> None:
    """The σ slider's callback: rerun the page's σ fragments alone, when its latest run drew some.

    Left alone (the default rerun): a page without σ fragments (a whole-app rerun, as before), and a fragment's
    rerun (the inspector table's poll) that carries the browser's stale copy of σ: the slider lives outside every
    fragment, so a step of its own always arrives as a whole-app rerun, and the stale σ is put back by the
    fragment (``ui.boundaries.controls.keep_sigma``)."""
    keys = list(st.session_state.get(DRAWN, ()))
    ctx = get_script_run_ctx()
    if not keys or ctx is None or ctx.fragment_ids_this_run:
        return
    try:
        st.rerun(keys)
    except StreamlitAPIException:     # a fragment Streamlit no longer holds (another Streamlit): the whole app
        st.session_state.pop(DRAWN, None)
