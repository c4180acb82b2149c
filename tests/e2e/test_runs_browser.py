"""Real browser: start a small certification run on /runs, see the live curve appear and grow, then
download the Cohen et al. TSV from the compare tab (streamlit run + Playwright on Debian's chromium)."""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's /usr/bin/chromium")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    env = dict(os.environ, CERT_EXPLORER_RUNS=str(tmp_path_factory.mktemp("store") / "runs.sqlite"))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start")
        yield url, env["CERT_EXPLORER_RUNS"]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _settle(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_selector(IDLE, timeout=180_000)
    page.wait_for_timeout(800)
    if page.locator("[role='dialog']").count():
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)


def _done(page) -> int:
    text = page.locator("[data-testid='stMetricValue']").first.inner_text()
    return int(re.match(r"(\d+)/", text).group(1))


def _fill(page, label, value):
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Tab")


def test_start_watch_grow_and_download_tsv(server):
    url, store = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100}, accept_downloads=True)
        page.goto(f"{url}/runs?model=moons-mlp-s0.25&sigma=0.25")
        _settle(page)
        assert page.locator("[data-testid='stException']").count() == 0
        _fill(page, "Examples (at most)", 150)
        _fill(page, "n (estimation)", 20000)
        _fill(page, "Batch", 2000)
        page.get_by_text("cpu", exact=True).click()
        page.get_by_role("button", name=re.compile("Start")).click()
        page.locator("[data-testid='stMetricValue']").first.wait_for(timeout=60_000)
        page.wait_for_function("() => { const m = document.querySelector(\"[data-testid='stMetricValue']\");"
                               " return m && parseInt(m.innerText) > 0; }", timeout=120_000)
        first = _done(page)
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "runs_live.png"), full_page=True)
        page.wait_for_function(f"() => parseInt(document.querySelector(\"[data-testid='stMetricValue']\")"
                               f".innerText) > {first}", timeout=120_000)   # the curve grows without a click
        assert _done(page) > first
        page.wait_for_function("() => document.querySelector(\"[data-testid='stMetricValue']\").innerText"
                               " === '150/150'", timeout=300_000)
        _settle(page)
        page.get_by_role("tab", name=re.compile("Compare")).click()
        page.wait_for_timeout(800)
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name=re.compile("Cohen et al. TSV")).click()
        path = info.value.path()
        lines = Path(path).read_text().splitlines()
        assert lines[0] == "idx\tlabel\tpredict\tradius\tcorrect\ttime" and len(lines) == 151
        page.screenshot(path=str(ARTIFACTS / "runs_compare.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        browser.close()
