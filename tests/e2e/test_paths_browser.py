"""Real browser: the activation-paths page under `streamlit run`, driven by Playwright on Debian's chromium."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's /usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless=true",
                             f"--server.port={port}", "--server.address=127.0.0.1",
                             "--browser.gatherUsageStats=false"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _idle(page, timeout=240_000):
    page.wait_for_timeout(800)
    page.wait_for_selector(IDLE, timeout=timeout)


def test_paths_page_surfaces_audit_and_counterexample(server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1700})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/paths?model=moons-mlp-s0.25&x=0.3&y=0.5", timeout=60_000)
        _idle(page)
        page.get_by_text("Fixed-neuron ratio per layer (Figure 2)").first.wait_for(timeout=120_000)
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator(".js-plotly-plot").count() >= 3
        page.screenshot(path=str(ARTIFACTS / "paths_float.png"), full_page=False)
        page.get_by_role("tab", name="Path surfaces").click()
        _idle(page)
        page.get_by_text("(b) Z_float = f − Z_fixed").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "paths_surfaces.png"), full_page=False)
        page.get_by_role("tab", name="SC-RFP audit").click()
        _idle(page)
        eta = page.locator("[data-testid='stSlider']").filter(has_text="Repression η").locator("input[type='range']").first   # η: End moves it to 1
        eta.focus()
        eta.press("End")
        _idle(page)
        page.get_by_role("button", name="Run the audit").click()
        _idle(page)
        page.get_by_text("SC-RFP claims radius").first.wait_for(timeout=240_000)   # η = 1 on moons: a violation
        _idle(page)
        page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "paths_audit.png"), full_page=True)
        browser.close()
    assert not errors
