"""The router's contract, checked on the navigation app.py really builds: it is the page registry (every page,
its title, icon, URL and section, in order), every page file is served at /<its stem>, the old /per-input-sigma
link is a hidden redirect, and a deep-linked page gets app.py's sidebar -- because there is no legacy pages/
folder that Streamlit would run page by page (ui/navigation.py explains; a real browser checks the same in
tests/e2e/test_browser.py)."""
import pathlib

import pytest
import streamlit as st
from apptest_kit import APP, page_test
from streamlit.testing.v1 import AppTest

from ui import navigation

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def sections(monkeypatch) -> dict:
    """The sections of st.Page objects app.py hands to st.navigation on a plain run of the app."""
    seen, real = {}, st.navigation

    def spy(pages, **kwargs):
        seen["sections"] = pages
        return real(pages, **kwargs)

    monkeypatch.setattr(st, "navigation", spy)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return seen["sections"]


@pytest.fixture
def navigation_pages(sections) -> list:
    return [p for section in sections.values() for p in section]


def test_app_navigation_is_the_page_registry(sections):
    served = [(section, p) for section, pages in sections.items() for p in pages]
    assert len(served) == len(navigation.PAGES)
    for (section, page), registered in zip(served, navigation.PAGES):
        assert (section, page.title, page.icon, page.visibility, page._default) == (
            registered.section, registered.title, registered.icon, registered.visibility, registered.default)
        if not registered.default:
            assert page.url_path == registered.url_path
        if registered.file:
            assert pathlib.Path(page._page) == ROOT / registered.file


def test_every_page_file_is_served_at_its_file_stem(navigation_pages):
    files = {pathlib.Path(p._page).stem: p for p in navigation_pages if isinstance(p._page, pathlib.Path)}
    assert set(files) == {f.stem for f in (ROOT / navigation.FOLDER).glob("*.py")}
    for stem, page in files.items():
        if not page._default:                   # the default page lives at /
            assert page.url_path == stem, f"{stem}.py must be served at /{stem} (the router resolves legacy names)"


def test_old_per_input_sigma_link_is_a_hidden_redirect(navigation_pages):
    (old,) = [p for p in navigation_pages if p.url_path == "per-input-sigma"]
    assert old.visibility == "hidden" and callable(old._page)
    assert navigation.BY_KEY[navigation.OLD_PER_INPUT_SIGMA.redirect] is navigation.DDRS


def test_no_legacy_pages_folder():
    # a pages/ folder next to app.py makes Streamlit run its files on their own at a deep link (no sidebar)
    assert not (ROOT / "pages").exists() and navigation.FOLDER != "pages"


@pytest.mark.parametrize("page", [navigation.GLOSSARY, navigation.HOME], ids=lambda p: p.key)
def test_a_deep_linked_page_gets_the_shared_sidebar(page):
    # AppTest resets Streamlit's legacy pages/ switch before every run, as a fresh server does before a deep link:
    # with a pages/ folder it would run the page file alone; here app.py must run and route to the page
    at = page_test(page, timeout=120)
    at.run()
    assert not at.exception
    assert at.selectbox(key="model_key").value.startswith("zoo:")           # app.py's sidebar ran
