"""Sections a page computes only once the visitor opens them (issue 17: a first load within 3 s).

Streamlit sends everything a script run writes, a closed expander's contents included, and the browser builds its
figures and data grids on the first load although nobody sees them yet (Plotly's first draw is most of a page's
browser CPU). ``lazy`` is a collapsed expander whose ``on_change="rerun"`` makes opening it a script run: the page
fills it only while it is open, so a first load, and every rerun while it stays closed (a σ step), computes and
sends nothing for it. Whether it is open is kept in the session under ``key``.
"""
from __future__ import annotations

import streamlit as st


def lazy(title: str, key: str):
    """A collapsed expander titled ``title``: the expander while it is open (the page fills it), else None (the
    page computes nothing for it)."""
    box = st.expander(title, expanded=False, key=key, on_change="rerun")
    return box if box.open else None
