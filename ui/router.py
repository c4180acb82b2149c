"""Keep every page under app.py's router, even when Streamlit runs a page on its own.

Streamlit still supports the legacy ``pages/`` folder: until ``st.navigation`` has run in the server
process, a deep link such as ``/boundaries`` runs ``pages/boundaries.py`` alone, without app.py's
shared sidebar and URL state (AppTest even resets that switch before every run). So app.py marks
each run just before ``page.run()``, and a page's first line, ``guard()``, checks the mark: when
it is missing, the page runs app.py in place -- which draws the sidebar, calls st.navigation and
runs this very page properly -- and then stops the stray outer run. No rerun, so no widget event
(a button click) is lost. This needs each page's ``url_path`` to equal its file name's stem (the
legacy name Streamlit resolves), e.g. ``pages/ddrs.py`` at ``/ddrs``.
"""
from __future__ import annotations

import pathlib
import runpy

import streamlit as st

_OK = "_router_ok"
APP = pathlib.Path(__file__).resolve().parent.parent / "app.py"


def mark_routed() -> None:
    """app.py, every run, just before ``page.run()``."""
    st.session_state[_OK] = True


def guard() -> None:
    """First line of every page; consumes app.py's per-run mark."""
    if st.session_state.pop(_OK, False):
        return
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()
