"""Certified Robustness Explorer: the router.

Page config, the shared sidebar (current model + sigma) and navigation over ``pages/``.
Run with ``streamlit run app.py``.
"""
from __future__ import annotations

import streamlit as st

from ui import router, sidebar, state

st.set_page_config(page_title="Certified Robustness Explorer", page_icon=":material/verified_user:",
                   layout="wide", initial_sidebar_state="expanded")

problems = state.init_from_url()
page = st.navigation([
    st.Page("pages/home.py", title="Welcome", icon=":material/school:", default=True),
    st.Page("pages/models.py", title="Models", icon=":material/hub:", url_path="models"),
    st.Page("pages/boundaries.py", title="Decision boundaries", icon=":material/blur_on:",
            url_path="boundaries"),
    st.Page("pages/ddrs.py", title="Per-input σ", icon=":material/tune:", url_path="ddrs"),
    st.Page("pages/margin.py", title="Smoothed robustness (SRA)", icon=":material/balance:", url_path="margin"),
    st.Page("pages/runs.py", title="Certification runs", icon=":material/monitoring:", url_path="runs"),
    st.Page("pages/bernstein.py", title="Bernstein smoothing", icon=":material/functions:", url_path="bernstein"),
    st.Page("pages/lessons.py", title="Lesson", icon=":material/cast_for_education:", url_path="lessons"),
    st.Page("pages/glossary.py", title="Glossary", icon=":material/menu_book:", url_path="glossary"),
    st.Page("pages/paths.py", title="Activation paths & SC-RFP", icon=":material/account_tree:", url_path="paths"),
])
router.mark_routed()
sidebar.render()
for message in problems:
    st.error(message, icon=":material/link_off:")
state.sync_url()
try:
    page.run()
finally:
    state.sync_url()       # a page may have changed the model (training, upload)
