"""Certified Robustness Explorer: the router.

Page config, the shared sidebar (current model + sigma) and navigation over ``pages/``.
Run with ``streamlit run app.py``.
"""
from __future__ import annotations

import streamlit as st

from ui import router, sidebar, state

# an emoji favicon: a ":material/...:" page_icon is fetched from fonts.gstatic.com (no favicon offline),
# whereas the ":material/...:" icons below come from the font Streamlit bundles and need no network
st.set_page_config(page_title="Certified Robustness Explorer", page_icon="🛡️",
                   layout="wide", initial_sidebar_state="expanded")


def _old_per_input_sigma_link() -> None:
    """/per-input-sigma, where the Per-input σ page used to live: old links land on /ddrs."""
    st.switch_page("pages/ddrs.py", query_params=st.query_params.to_dict())


problems = state.init_from_url()
page = st.navigation({      # sections in teaching order; every url_path is its file's stem (see ui/router.py)
    "Start here": [
        st.Page("pages/home.py", title="Welcome", icon=":material/school:", default=True),
        st.Page("pages/lessons.py", title="Lesson", icon=":material/cast_for_education:", url_path="lessons"),
        st.Page("pages/glossary.py", title="Glossary", icon=":material/menu_book:", url_path="glossary"),
    ],
    "Explore": [
        st.Page("pages/models.py", title="Models", icon=":material/hub:", url_path="models"),
        st.Page("pages/boundaries.py", title="Decision boundaries", icon=":material/blur_on:",
                url_path="boundaries"),
    ],
    "Beyond one σ": [
        st.Page("pages/ddrs.py", title="Per-input σ", icon=":material/tune:", url_path="ddrs"),
        st.Page("pages/bernstein.py", title="Bernstein smoothing", icon=":material/functions:", url_path="bernstein"),
        st.Page("pages/paths.py", title="Activation paths & SC-RFP", icon=":material/account_tree:", url_path="paths"),
        st.Page("pages/margin.py", title="Smoothed robustness (SRA)", icon=":material/balance:", url_path="margin"),
    ],
    "Certify": [
        st.Page("pages/runs.py", title="Certification runs", icon=":material/monitoring:", url_path="runs"),
        st.Page(_old_per_input_sigma_link, title="Per-input σ (old link)", url_path="per-input-sigma",
                visibility="hidden"),
    ],
})
router.mark_routed()
sidebar.render()
for message in problems:
    st.error(message, icon=":material/link_off:")
state.sync_url()
try:
    page.run()
finally:
    state.sync_url()       # a page may have changed the model (training, upload)
