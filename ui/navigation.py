"""The page registry: every page of the app once -- its file, title, icon, URL, sidebar section and visibility.

app.py builds ``st.navigation`` from ``sections()``; lessons, the glossary, ``st.page_link`` / ``st.switch_page``
calls and the tests name pages by these constants (``navigation.DDRS.file``, ``navigation.DDRS.title``), so no
other module spells a page path or a page title. A page's key is its file's stem and its URL path
(``app_pages/ddrs.py`` at ``/ddrs``); the default page is served at ``/``.

The folder is ``app_pages/``, not ``pages/``: Streamlit still treats a ``pages/`` folder next to the main script
as a legacy multipage app, and until ``st.navigation`` has run in the server process a deep link such as
``/boundaries`` runs that page file alone -- without app.py's sidebar and URL state (AppTest does the same on
every run). With no ``pages/`` folder every request runs app.py, which routes to the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st

FOLDER = "app_pages"              # next to app.py; never "pages" (see above)


@dataclass(frozen=True)
class Page:
    key: str                                    # file stem and URL path
    title: str                                  # sidebar entry, page links, lesson buttons
    icon: str                                   # ":material/...:" from the font Streamlit bundles (no network)
    section: str                                # sidebar heading, in teaching order
    visibility: Literal["visible", "hidden"] = "visible"
    default: bool = False                       # served at /
    redirect: str | None = None                 # key of the page an old link forwards to (it has no file)

    @property
    def file(self) -> str | None:
        """Path relative to app.py, the form st.page_link and st.switch_page take."""
        return None if self.redirect else f"{FOLDER}/{self.key}.py"

    @property
    def url_path(self) -> str:
        return self.key


START, EXPLORE, BEYOND, CERTIFY = "Start here", "Explore", "Beyond one σ", "Certify"
HOME = Page("home", "Welcome", ":material/school:", START, default=True)
LESSONS = Page("lessons", "Lesson", ":material/cast_for_education:", START)
GLOSSARY = Page("glossary", "Glossary", ":material/menu_book:", START)
MODELS = Page("models", "Models", ":material/hub:", EXPLORE)
DRAW = Page("draw", "Draw your data", ":material/draw:", EXPLORE)
BOUNDARIES = Page("boundaries", "Decision boundaries", ":material/blur_on:", EXPLORE)
DDRS = Page("ddrs", "Per-input σ", ":material/tune:", BEYOND)
BERNSTEIN = Page("bernstein", "Bernstein smoothing", ":material/functions:", BEYOND)
PATHS = Page("paths", "Activation paths & SC-RFP", ":material/account_tree:", BEYOND)
MARGIN = Page("margin", "Smoothed robustness (SRA)", ":material/balance:", BEYOND)
RUNS = Page("runs", "Certification runs", ":material/monitoring:", CERTIFY)
# where the Per-input σ page used to live: old links land on /ddrs with their query parameters
OLD_PER_INPUT_SIGMA = Page("per-input-sigma", "Per-input σ (old link)", "", CERTIFY, "hidden", redirect="ddrs")

RECEIPTS = Page("receipts", "Receipts", ":material/receipt_long:", START)

PAGES: tuple[Page, ...] = (HOME, LESSONS, GLOSSARY, RECEIPTS, MODELS, DRAW, BOUNDARIES, DDRS, BERNSTEIN, PATHS, MARGIN,
                           RUNS, OLD_PER_INPUT_SIGMA)
BY_KEY = {p.key: p for p in PAGES}


def _forward(target: Page):
    def forward() -> None:
        st.switch_page(target.file, query_params=st.query_params.to_dict())
    forward.__name__ = f"forward_to_{target.key}"
    return forward


def st_page(page: Page) -> st.Page:
    source = _forward(BY_KEY[page.redirect]) if page.redirect else page.file
    return st.Page(source, title=page.title, icon=page.icon or None, url_path=None if page.default else page.url_path,
                   default=page.default, visibility=page.visibility)


def sections() -> dict[str, list[st.Page]]:
    """The argument of st.navigation: the registry's pages under their section headings, in order."""
    out: dict[str, list[st.Page]] = {}
    for page in PAGES:
        out.setdefault(page.section, []).append(st_page(page))
    return out
