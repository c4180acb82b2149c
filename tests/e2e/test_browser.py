"""Real browser: `streamlit run app.py` on 127.0.0.1, driven by Playwright on Debian's chromium.

Never downloads a browser: skips when /usr/bin/chromium is missing. Screenshots go to
tests/artifacts/ (gitignored); look at them before calling a page done.
"""
from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    text = (ARTIFACTS / "server.log").read_text()
    assert "Traceback" not in text and "WARNING" not in text.upper().replace("WARNINGS", ""), text


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1600, "height": 1000})
        yield pg
        browser.close()


def wait_idle(pg, settle: float = 1.5, timeout: float = 90) -> None:
    """The script is not running, and stays so for `settle` seconds (reruns can chain)."""
    deadline, since = time.time() + timeout, None
    while time.time() < deadline:
        if pg.locator(IDLE).count() == 1:
            since = since or time.time()
            if time.time() - since >= settle:
                return
        else:
            since = None
        time.sleep(0.2)
    raise AssertionError("the app did not become idle")


def shot(pg, name: str, full: bool = False) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def no_exception(pg) -> None:
    assert pg.locator("[data-testid='stException']").count() == 0


def open_page(pg, server: str, path: str) -> None:
    pg.goto(f"{server}/{path}")
    pg.wait_for_selector(IDLE, timeout=90_000)
    wait_idle(pg)
    no_exception(pg)


def test_every_page_opens(page, server):
    for path, name in (("", "welcome"), ("models", "models"), ("boundaries", "boundaries")):
        open_page(page, server, path)
        shot(page, f"page_{name}")
    assert page.get_by_text("Base classifier f").count() >= 1


def test_drag_sigma_then_click_a_point(page, server):
    open_page(page, server, "boundaries")
    slider = page.locator("[data-testid='stSidebar'] [data-testid='stSlider']").first
    value = slider.locator("[data-testid='stSliderThumbValue']").first.bounding_box()
    x0, y0 = value["x"] + value["width"] / 2, value["y"] + value["height"] + 12   # the thumb, under its label
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 45, y0, steps=8)
    page.mouse.up()
    wait_idle(page)
    sigma = float(re.search(r"sigma=([0-9.]+)", page.url).group(1))
    assert sigma > 0.25
    assert page.get_by_text(f"Smoothed g, σ = {sigma:g}").count() == 1
    # click on the smoothed map, a little up-left of its centre
    drag = page.locator("[data-testid='stPlotlyChart']").nth(1).locator(".nsewdrag").first
    b = drag.bounding_box()
    page.mouse.click(b["x"] + 0.42 * b["width"], b["y"] + 0.40 * b["height"])
    wait_idle(page)
    no_exception(page)
    assert re.search(r"[?&]x=-?[0-9.]+", page.url) and re.search(r"[?&]y=-?[0-9.]+", page.url)
    assert page.get_by_text("Every certificate lies inside").count() == 1
    assert page.locator("[data-testid='stDataFrame']").count() >= 1
    page.set_viewport_size({"width": 1600, "height": 1250})
    page.get_by_text("Inspect a point", exact=True).evaluate("e => e.scrollIntoView({block: 'start'})")
    time.sleep(1.0)
    shot(page, "boundaries_inspector")
    page.set_viewport_size({"width": 1600, "height": 1000})

def test_overlay_and_test_certificates(page, server):
    open_page(page, server, "boundaries?sigma=0.5&x=0.3&y=0.6")
    page.get_by_text("overlay", exact=True).click()
    wait_idle(page)
    page.get_by_text("test certificates", exact=True).click()
    wait_idle(page)
    no_exception(page)
    assert page.get_by_text("Certified accuracy at r = 0.25").count() == 1
    shot(page, "boundaries_overlay_certificates")


def test_bad_uploads_give_clear_errors(page, server, tmp_path):
    open_page(page, server, "models")
    page.get_by_role("tab", name=re.compile("Upload")).click()
    bad_csv = tmp_path / "three.csv"
    bad_csv.write_text("a,b,c\nfoo,bar,baz\n1,2,x\n")
    not_torch = tmp_path / "model.pt"
    not_torch.write_text("this is not a torch file\n")
    uploads = page.locator("[data-testid='stFileUploader'] input[type='file']")
    uploads.nth(1).set_input_files(str(bad_csv))
    wait_idle(page)
    assert page.get_by_text("three.csv cannot be used").count() == 1
    uploads.nth(0).set_input_files(str(not_torch))
    wait_idle(page)
    assert page.get_by_text("model.pt is not a model this app can load").count() == 1
    no_exception(page)
    shot(page, "models_bad_uploads")
    # the app keeps working
    page.get_by_role("link", name="Decision boundaries").click()
    wait_idle(page)
    assert page.get_by_text("Base classifier f").count() >= 1


def test_image_model_link_explains_itself(page, server):
    open_page(page, server, "boundaries?model=digits-cnn-s0")
    assert page.get_by_text("not 2D points").count() == 1
    shot(page, "boundaries_image_model")
