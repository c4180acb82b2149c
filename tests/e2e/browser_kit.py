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
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

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


# In each document, from the app's websocket (top-level fields of its protobuf messages): a rerun is pending from the
# moment the page asks for one (BackMsg.rerun_script) or the server stops a run to rerun (st.rerun, st.switch_page:
# ForwardMsg.script_finished = FINISHED_EARLY_FOR_RERUN) until the next run begins (ForwardMsg.new_session); a user
# input (pointer, key, a field's input or change event) is answered once a run that began after it has finished.
# wait_idle then knows when the action before it has had its runs, instead of sleeping a fixed quiet time.
RUN_WATCH = """(() => { if (window.__certWatch) return;
    const w = {input: -1, started: -2, answered: false, pending: null}, now = () => performance.now();
    window.__certWatch = () => [w.answered, w.pending === null ? -1 : (now() - w.pending) / 1000];
    for (const type of ['pointerdown', 'keydown', 'input', 'change'])
        window.addEventListener(type, () => { w.input = now(); w.answered = false; }, true);
    const fields = data => {           // field number -> value (varints) or true (other wire types)
        const b = data instanceof ArrayBuffer ? new Uint8Array(data)
                                              : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const out = new Map(); let i = 0;
        const varint = () => { let v = 0, m = 1, c; do { c = b[i++]; v += (c & 127) * m; m *= 128; } while (c > 127);
                               return v; };
        while (i < b.length) {
            const key = varint(), type = key % 8;
            if (type === 0) out.set(Math.floor(key / 8), varint());
            else { out.set(Math.floor(key / 8), true);
                   if (type === 2) { const n = varint(); i += n; } else if (type === 1) i += 8; else if (type === 5) i += 4; else break; }
        }
        return out; };
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', e => { if (!(e.data instanceof ArrayBuffer)) return;
                const f = fields(e.data);
                if (f.has(4)) { w.started = now(); w.pending = null; }                   // new_session: a run began
                if (f.get(6) === 2) w.pending = w.pending ?? now();            // FINISHED_EARLY_FOR_RERUN
                else if (f.has(6) && w.started > w.input) w.answered = true; });
        }
        send(data) {
            try { if (fields(data).has(11)) w.pending = w.pending ?? now(); } catch (e) {}   // BackMsg.rerun_script
            return super.send(data);
        }
    }; })()"""
IDLE_NOW = f"""() => [document.querySelectorAll("{IDLE}").length === 1,
                     ...(window.__certWatch ? window.__certWatch() : [false, -1])]"""
PENDING_LIMIT = 20.0      # s: a rerun asked for longer ago than this no longer holds the wait (never seen; a guard)
QUIET_AFTER_RUN = 0.3     # s idle, no rerun pending, once the action's run has ended (a frontend's late request)
QUIET_WITHOUT_RUN = 1.5   # s idle with no run since the action: a file upload asks for its run late, a tab for none


def watch_runs(pg) -> None:
    """Watch the script's runs in every document ``pg``'s context opens from now on (open_page does it)."""
    context = pg.context
    if not getattr(context, "_cert_watching_runs", False):
        context.add_init_script(RUN_WATCH)
        context._cert_watching_runs = True


def wait_idle(pg, settle: float | None = None, timeout: float = 180) -> None:
    """The script is not running, and stays so for a quiet time (reruns can chain).

    In pages opened by ``open_page`` a rerun the page asked for, or the server announced, holds the wait until
    it has begun, and the quiet time is event-driven: 0.3 s once a run that began after the latest user input has
    finished, 1.5 s while none has (a file upload asks for its run late, a tab for none). A number for ``settle``
    waits that fixed quiet time instead."""
    deadline, since = time.time() + timeout, None
    while time.time() < deadline:
        try:
            idle, answered, pending = pg.evaluate(IDLE_NOW)
        except PlaywrightError:                          # a navigation replaced the document: not idle yet
            idle, answered, pending = False, False, -1
        if idle and not 0 <= pending < PENDING_LIMIT:
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
    the fixed 1.5 s would have; a run that starts or is asked for meanwhile (one the short window missed) is appended to
    the file with the test line that waited. Costs the time it watches: for checking the waits, not for timing."""
    import traceback
    end = time.time() + QUIET_WITHOUT_RUN - QUIET_AFTER_RUN
    while time.time() < end:
        idle, _, pending = pg.evaluate(IDLE_NOW)
        if not idle or pending >= 0:
            caller = next(f for f in reversed(traceback.extract_stack()[:-2]) if "/test_" in f.filename)
            with open(os.environ["CERT_E2E_IDLE_AUDIT"], "a") as log:
                log.write(f"{caller.filename}:{caller.lineno} a run began {end - time.time():.2f} s before 1.5 s\n")
            return
        time.sleep(0.05)


def charts(pg, at_least: int, timeout: float = 60) -> int:
    """The number of Plotly charts on the page, once there are ``at_least`` (a page draws them one after another,
    so a count right after the first is on screen can be short); fails with the count seen otherwise."""
    try:
        pg.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {at_least}",
                             timeout=timeout * 1000)
    except PlaywrightError:
        pass
    return pg.locator(".js-plotly-plot").count()


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


DEEP_LINK = "ddrs?x=0.3&y=0.6"      # a page and a point, as a shared link carries them


def first_visit(browser, server: str, path: str = DEEP_LINK) -> dict:
    """Open ``server/path`` in a tab of its own as the server's very first request (conftest.py does it before any
    test runs): on a fresh server no app.py has run, so only app.py's router can know the page (a legacy pages/
    folder would make Streamlit run the page file alone). Records what it showed, for the test to check: the
    path, the number of dialogs ("Page not found"), the first h1, the sidebar's model, the address bar, the
    JavaScript errors, and ``failure``: why the visit did not finish (an exception on the page, a timeout), else
    None. Never raises, so a broken link fails its own test, not every browser test."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    seen: dict = {"path": path, "errors": [], "failure": None}
    pg.on("pageerror", lambda e: seen["errors"].append(str(e)))
    try:
        open_page(pg, server, path)
        shot(pg, f"deep_link_{path.split('?')[0]}")
        model = pg.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.locator("input")
        seen.update(dialogs=pg.locator("[role='dialog']").count(), title=pg.locator("h1").first.inner_text().strip(),
                    model=model.input_value(), href=pg.evaluate("location.href"))
    except Exception as e:                               # noqa: BLE001 -- reported by the test that checks it
        seen["failure"] = repr(e)
    finally:
        context.close()
    return seen


def settle(pg, tour_wait: float = 0.0) -> None:
    """Before a screenshot that follows a scroll, a resize or a tab switch: two animation frames, so layout and
    paint are done (a fixed sleep of 0.5-1.5 s each before). A tour image being refreshed (UPDATE_TOUR=1) also
    waits ``tour_wait`` seconds, for Plotly's own redraws to end in the published picture."""
    pg.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    if tour_wait and os.environ.get("UPDATE_TOUR") == "1":
        time.sleep(tour_wait)


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


# ---------------------------------------------------------------- what an interaction ran (issue 17)
# The app's websocket tells what each interaction ran: every script run begins with ``new_session`` and ends with
# ``script_finished``, both naming the fragments the run reruns (``metadata.run.fragment_ids``, empty for a whole-app
# run); every element sent is a ``delta`` with its place (``metadata.delta_path``, first the root container: 0 the
# page, 1 the sidebar). A whole-app run always sends the sidebar again, so "no sidebar delta and no whole-app run that
# finished" is what a σ step or a click falling back to the whole app would break. The messages are read with
# Streamlit's own protobuf classes, in Python (Playwright hands over each frame).
SIDEBAR = 1                        # RootContainer.SIDEBAR: the first number of a sidebar element's delta path
FINISHED_WHOLE_APP = ForwardMsg.FINISHED_SUCCESSFULLY
# A ui.image_map picture's ``.imap`` element under the CSS selector s, or null: Streamlit draws a v2 component
# with isolated styles inside an open shadow root (the stBidiComponentIsolated element's), which
# document.querySelector does not enter (Playwright's locators do).
IMAP = """s => { const c = document.querySelector(s);
    const host = c && c.querySelector("[data-testid='stBidiComponentIsolated']");
    return c ? (host?.shadowRoot ?? c).querySelector('.imap') : null; }"""
# the smoothed map's title, the σ metric, the noise cloud's title and vote counts, and the point on the maps (the
# maps and the cloud are ui.image_map pictures: the selected point is their data's star mark; the votes are Plotly)
CLOUD_TITLE = f"({IMAP})('.st-key-cloud')?.querySelector('.imap-title')?.textContent"   # JS: the cloud's title
BOUNDARIES_SHOWN = """() => { const plot = s => document.querySelector(s + ' .js-plotly-plot'), map = %s;
    const metric = [...document.querySelectorAll("[data-testid='stMetric']")].find(m => m.innerText.startsWith('σ'));
    const cloud = map('.st-key-cloud'), votes = plot('.st-key-votes');
    return {title: map('.st-key-map_b_2').querySelector('.imap-title').textContent,
            sigma: metric.querySelector("[data-testid='stMetricValue']").innerText.trim(),
            cloud: cloud ? cloud.querySelector('.imap-title').textContent : null,
            votes: votes ? Array.from(votes._fullData[0].y) : null,
            points: ['.st-key-map_a_2', '.st-key-map_b_2'].map(s => map(s).__imap.data.points
                .filter(m => m.symbol === 'star').flatMap(m => m.xs.map((x, i) => [x, m.ys[i]])))}; }""" % IMAP


class Runs:
    """The script runs and deltas the page's websocket has received since ``clear()``."""

    def __init__(self, pg):
        self.finished: list[tuple[tuple[str, ...], int]] = []   # (fragment ids, status) of each run that ended
        self.polls: set[str] = set()                              # fragments with a timer (the table's poll)
        self.sidebar_deltas = 0
        self.page = pg
        pg.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def clear(self) -> None:
        self.finished.clear()
        self.sidebar_deltas = 0

    def _frame(self, payload) -> None:
        if isinstance(payload, str):
            return
        msg = ForwardMsg.FromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "script_finished":
            self.finished.append((tuple(msg.metadata.run.fragment_ids), msg.script_finished))
        elif kind == "auto_rerun":
            self.polls.add(msg.auto_rerun.fragment_id)
        elif kind == "delta" and msg.metadata.delta_path[:1] == [SIDEBAR]:
            self.sidebar_deltas += 1

    def wait(self, condition, timeout: float = 60) -> None:
        """Until ``condition()`` holds (the frames arrive on Playwright's own thread of events: let it run)."""
        deadline = time.time() + timeout
        while not condition():
            assert time.time() < deadline, self.finished
            self.page.wait_for_timeout(50)

    def whole_app(self) -> int:
        """Whole-app runs that ran to their end (a run the σ slider's callback replaced stops early)."""
        return sum(1 for ids, status in self.finished if not ids and status == FINISHED_WHOLE_APP)

    def fragment_runs(self) -> list[tuple[str, ...]]:
        """The fragment ids of each fragment run but the table's polls. Any status: Streamlit reports a fragment
        run as stopped early when the next run (a poll's tick that waited) began before its end was sent."""
        return [ids for ids, _ in self.finished if ids and not set(ids) <= self.polls]
