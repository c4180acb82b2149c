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

from playwright.sync_api import Error as PlaywrightError

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


# In each document: whether a script run began after the latest user input (pointer, key, a field's input or change
# event) and has ended. wait_idle then knows that the action before it got its run, instead of sleeping a fixed
# quiet time after every action. A change of the app's script state away from a non-running one marks a start.
RUN_WATCH = """(() => { if (window.__certAnswered) return;
    let lastInput = -1, lastStart = -2, answered = false;
    window.__certAnswered = () => answered;
    for (const type of ['pointerdown', 'keydown', 'input', 'change'])
        window.addEventListener(type, () => { lastInput = performance.now(); answered = false; }, true);
    new MutationObserver(records => { for (const r of records) {
        if (r.oldValue !== 'running') lastStart = performance.now();
        else if (lastStart > lastInput) answered = true; } })
        .observe(document, {attributes: true, attributeOldValue: true, subtree: true,
                            attributeFilter: ['data-test-script-state']}); })()"""
IDLE_NOW = f"""() => [document.querySelectorAll("{IDLE}").length === 1,
                     window.__certAnswered ? window.__certAnswered() : false]"""
QUIET_AFTER_RUN = 0.3     # s idle once the action's run has ended: chained reruns follow within milliseconds
QUIET_WITHOUT_RUN = 1.5   # s idle with no run since the action: it may start one late (a loaded server), or none


def watch_runs(pg) -> None:
    """Watch the script's runs in every document ``pg``'s context opens from now on (open_page does it)."""
    context = pg.context
    if not getattr(context, "_cert_watching_runs", False):
        context.add_init_script(RUN_WATCH)
        context._cert_watching_runs = True


def wait_idle(pg, settle: float | None = None, timeout: float = 180) -> None:
    """The script is not running, and stays so for a quiet time (reruns can chain).

    By default the quiet time is event-driven (in pages opened by ``open_page``): 0.3 s once a run that began
    after the latest user input has ended, 1.5 s while none has (the action may start one late, or none: a tab).
    A number for ``settle`` waits that fixed quiet time instead."""
    deadline, since = time.time() + timeout, None
    while time.time() < deadline:
        try:
            idle, answered = pg.evaluate(IDLE_NOW)
        except PlaywrightError:                          # a navigation replaced the document: not idle yet
            idle, answered = False, False
        if idle:
            since = since or time.time()
            quiet = settle if settle is not None else QUIET_AFTER_RUN if answered else QUIET_WITHOUT_RUN
            if time.time() - since >= quiet:
                if settle is None and answered and os.environ.get("CERT_E2E_IDLE_AUDIT"):
                    audit_quiet_window(pg)
                return
        else:
            since = None
        time.sleep(0.1)
    raise AssertionError("the app did not become idle")


def audit_quiet_window(pg) -> None:
    """With CERT_E2E_IDLE_AUDIT=<file>: after an event-driven wait that ended 0.3 s after a run, watch as long as
    the fixed 1.5 s would have; a run that starts meanwhile (a chained rerun the short window missed) is appended to
    the file with the test line that waited. Costs the time it watches: for checking the waits, not for timing."""
    import traceback
    end = time.time() + QUIET_WITHOUT_RUN - QUIET_AFTER_RUN
    while time.time() < end:
        if not pg.evaluate(IDLE_NOW)[0]:
            caller = next(f for f in reversed(traceback.extract_stack()[:-2]) if "/test_" in f.filename)
            with open(os.environ["CERT_E2E_IDLE_AUDIT"], "a") as log:
                log.write(f"{caller.filename}:{caller.lineno} a run began {end - time.time():.2f} s before 1.5 s\n")
            return
        time.sleep(0.05)


def no_exception(pg) -> None:
    assert pg.locator("[data-testid='stException']").count() == 0


def open_page(pg, server: str, path: str, settle: float | None = None) -> None:
    """Go to ``server/path`` and wait until the app is idle (``wait_idle``: event-driven unless ``settle`` is
    given), with no exception on the page."""
    watch_runs(pg)
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
