"""One `streamlit run app.py` server and one headless Debian chromium for all real-browser tests.

Sharing them keeps the suite fast on 2 cores. The server's log must stay free of tracebacks and
warnings for the whole session. Skips when /usr/bin/chromium is missing; never downloads a browser.

When test_browser.py's deep-link test is collected, the shared server's very first request is that deep link
(``first_visit``), opened before any other test's: the test then checks what it showed, and no second server
(~15-20 s on 2 cores) has to start for it.
"""
from __future__ import annotations

import os

import pytest

from browser_kit import ARGS, ARTIFACTS, CHROMIUM, clean_log, first_visit, serve

DEEP_LINK_TEST = "test_deep_links_are_routed_on_a_fresh_server"


def pytest_collection_modifyitems(items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)
            if not os.path.exists(CHROMIUM):
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


@pytest.fixture(scope="session")
def served(request, browser):
    """(the shared server's base URL, what its first request showed: ``first_visit``'s record, or None when the
    deep-link test is not collected)."""
    log_path = ARTIFACTS / "server.log"
    wanted = any(item.name == DEEP_LINK_TEST for item in request.session.items)
    with serve(log_path) as url:
        yield url, first_visit(browser, url) if wanted else None
    clean_log(log_path)


@pytest.fixture(scope="session")
def server(served):
    return served[0]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh tab (1600×1000); fails the test if the page raised a JavaScript error."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, errors
