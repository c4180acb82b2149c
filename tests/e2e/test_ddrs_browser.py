"""Real browser: the per-input σ page under `streamlit run`, driven by Playwright on Debian's chromium."""
import os
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

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's /usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"], cwd=ROOT,
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
        yield url
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
    # a deep link on a fresh server may first show Streamlit's "Page not found" dialog, then route
    dialog = page.locator("[role='dialog']")
    if dialog.count():
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)


def test_page_renders_maps_point_memory_and_counterexample(server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{server}/per-input-sigma?model=moons-mlp-s0.25&sigma=0.25&x=1.5&y=1.5")
        _settle(page)
        assert page.locator("[data-testid='stException']").count() == 0
        page.get_by_text("σ*(x): the radius-maximising σ").first.wait_for(timeout=60_000)
        assert page.locator(".js-plotly-plot").count() >= 5      # 3 maps, the R(σ) curve, memory, counterexample
        assert page.get_by_text("Radius as a function of σ at the point").count() >= 1
        assert page.get_by_text("Memory-based certification of the test set").count() == 1
        page.screenshot(path=str(ARTIFACTS / "ddrs_page.png"))
        page.get_by_text("Radius as a function of σ at the point").first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "ddrs_point.png"))
        page.get_by_text("reversed", exact=True).click()                # the query order control
        _settle(page)
        page.get_by_text("Memory regions of the test set").first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "ddrs_memory.png"))
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.get_by_text("per-input σ* + memory (reversed)").count() >= 1 or \
            "reversed" in page.locator("[data-testid='stDataFrame']").first.inner_text()
        page.get_by_text("Is it a certificate?").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "ddrs_counterexample.png"))
        browser.close()
