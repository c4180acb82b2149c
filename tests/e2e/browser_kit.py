"""Helpers shared by the real-browser tests (the fixtures live in conftest.py)."""
from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
TOUR = ROOT / "docs" / "screenshots"   # the README / docs/TOUR.md images
CHROMIUM = "/usr/bin/chromium"
# Debian's chromium, never a downloaded browser; no background traffic on this closed network.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


@contextlib.contextmanager
def serve(log_path: pathlib.Path, port: int = 0):
    """``streamlit run app.py`` on ``port`` (default: a free one) of 127.0.0.1, its output in ``log_path``; yields
    the base URL. bench/interaction_latency.py starts its server with this too."""
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
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
            proc.wait(timeout=30)


def clean_log(log_path: pathlib.Path) -> None:
    """The server's log holds no traceback and no warning."""
    text = log_path.read_text()
    assert "Traceback" not in text and "WARNING" not in text.upper().replace("WARNINGS", ""), text


def wait_idle(pg, settle: float = 1.5, timeout: float = 180) -> None:
    """The script is not running, and stays so for ``settle`` seconds (reruns can chain)."""
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


def no_exception(pg) -> None:
    assert pg.locator("[data-testid='stException']").count() == 0


def open_page(pg, server: str, path: str, settle: float = 1.5) -> None:
    """Go to ``server/path`` and wait until the app is idle (for ``settle`` seconds), with no exception on the
    page. A test that then waits for the very element it reads can pass a shorter ``settle``."""
    pg.goto(f"{server}/{path}", timeout=90_000)
    pg.wait_for_selector(IDLE, timeout=180_000)
    wait_idle(pg, settle)
    no_exception(pg)


def shot(pg, name: str, full: bool = False, tour: str | None = None) -> pathlib.Path:
    """Save a screenshot to tests/artifacts/<name>.png (look at it before calling a page done).

    With ``tour`` and UPDATE_TOUR=1 in the environment it also refreshes docs/screenshots/<tour>.png.
    """
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=full)
    if tour and os.environ.get("UPDATE_TOUR") == "1":
        TOUR.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, TOUR / f"{tour}.png")
    return path
