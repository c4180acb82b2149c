"""Certified Robustness Explorer: the router, run for every page and every deep link.

Page config, the shared sidebar (current model + sigma), the URL state and navigation over the page registry
(``ui/navigation.py``). Run with ``streamlit run app.py``.
"""
from __future__ import annotations

import streamlit as st

from ui import links, navigation, presenter, sidebar, threads, warmup

# an emoji favicon: a ":material/...:" page_icon is fetched from fonts.gstatic.com (no favicon offline),
# whereas the pages' ":material/...:" icons come from the font Streamlit bundles and need no network
st.set_page_config(page_title="Certified Robustness Explorer", page_icon="🛡️",
                   layout="wide", initial_sidebar_state="expanded")

threads.configure()     # one torch thread per computation: many small kernels on few, busy cores (ui/threads.py)
warmup.start()          # once per server: the caches every first visitor needs, in the background (ui/warmup.py)
problems = links.init_from_url()
# every page, title and URL: ui/navigation.py. On a projector the sidebar starts with the model and σ and lists the
# pages below them (ui/sidebar.py): at 1280×720 Streamlit's list on top pushed σ below the fold
page = st.navigation(navigation.sections(), position="hidden" if presenter.active() else "sidebar")
sidebar.render()
for message in problems:
    st.error(message, icon=":material/link_off:")
links.sync_url()
try:
    page.run()
finally:
    links.sync_url()       # a page may have changed the model (training, upload)
