"""Keep every page under app.py's router, even on a server's very first request.

Streamlit still supports the legacy ``pages/`` folder: until ``st.navigation`` has run once in the
server process, a deep link such as ``/boundaries`` runs ``pages/boundaries.py`` on its own, without
the shared sidebar or URL state. A page calls ``guard`` first; when app.py has not run in this
session it hops to app.py (keeping the query parameters), and app.py hops back with ``resume``.
"""
from __future__ import annotations

import streamlit as st

_OK, _GOTO = "_router_ok", "_router_goto"


def mark_routed() -> None:
    st.session_state[_OK] = True


def guard(page: str) -> None:
    if not st.session_state.get(_OK):
        st.session_state[_GOTO] = (page, dict(st.query_params))
        st.switch_page("app.py", query_params=dict(st.query_params))


def resume() -> None:
    """Called by app.py after st.navigation: finish a hop that ``guard`` started."""
    target = st.session_state.pop(_GOTO, None)
    if target is not None:
        page, params = target
        st.switch_page(page, query_params=params)
