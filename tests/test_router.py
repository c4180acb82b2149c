"""The router's contract, checked on the navigation app.py really builds: every page file is served at /<its stem>
(the legacy name Streamlit resolves for a deep link), and a page run on its own gets app.py's sidebar (its guard)."""
import pathlib

import pytest
import streamlit as st
from apptest_kit import APP, page_test
from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def navigation(monkeypatch) -> list:
    """The st.Page objects app.py hands to st.navigation on a plain run of the app."""
    seen, real = {}, st.navigation

    def spy(pages, **kwargs):
        seen["pages"] = [p for section in pages.values() for p in section]
        return real(pages, **kwargs)

    monkeypatch.setattr(st, "navigation", spy)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return seen["pages"]


def test_every_page_file_is_served_at_its_file_stem(navigation):
    files = {pathlib.Path(p._page).stem: p for p in navigation if isinstance(p._page, pathlib.Path)}
    assert set(files) == {f.stem for f in (ROOT / "pages").glob("*.py")}
    for stem, page in files.items():
        if not page._default:                   # the default page lives at /
            assert page.url_path == stem, f"pages/{stem}.py must be served at /{stem} (the router resolves legacy names)"


def test_old_per_input_sigma_link_is_a_hidden_redirect(navigation):
    (old,) = [p for p in navigation if p.url_path == "per-input-sigma"]
    assert old.visibility == "hidden" and callable(old._page)


@pytest.mark.parametrize("page", ["glossary", "home"])
def test_a_deep_linked_page_gets_the_shared_sidebar(page):
    # AppTest, like a deep link before st.navigation has run, runs the page file first: its guard must run app.py
    at = page_test(f"pages/{page}.py", timeout=120)
    at.run()
    assert not at.exception
    assert at.selectbox(key="model_key").value.startswith("zoo:")           # app.py's sidebar ran (router.guard)
