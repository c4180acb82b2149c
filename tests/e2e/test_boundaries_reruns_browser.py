"""Real browser: a σ step and a click on Decision boundaries rerun only what they change (issue 17).

The app's websocket tells what each interaction ran: every script run begins with ``new_session`` and ends with
``script_finished``, both naming the fragments the run reruns (``metadata.run.fragment_ids``, empty for a whole-app
run); every element sent is a ``delta`` with its place (``metadata.delta_path``, first the root container: 0 the
page, 1 the sidebar). A whole-app run always sends the sidebar again, so "no sidebar delta and no whole-app run that
finished" is what a σ step falling back to the whole app would break. The messages are read with Streamlit's own
protobuf classes, in Python (Playwright hands over each frame).
"""
from __future__ import annotations

import re
import time

from browser_kit import no_exception, open_page
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

SIDEBAR = 1                        # RootContainer.SIDEBAR: the first number of a sidebar element's delta path
FINISHED_WHOLE_APP = ForwardMsg.FINISHED_SUCCESSFULLY
# the smoothed map's title, the σ metric, the noise cloud's title and vote counts, and the point on the maps
SHOWN = """() => { const plot = s => document.querySelector(s + ' .js-plotly-plot');
    const metric = [...document.querySelectorAll("[data-testid='stMetric']")].find(m => m.innerText.startsWith('σ'));
    const cloud = plot('.st-key-cloud'), votes = plot('.st-key-votes');
    return {title: plot('.st-key-map_b_2').querySelector('.gtitle').textContent,
            sigma: metric.querySelector("[data-testid='stMetricValue']").innerText.trim(),
            cloud: cloud ? cloud.querySelector('.gtitle').textContent : null,
            votes: votes ? Array.from(votes._fullData[0].y) : null,
            points: ['.st-key-map_a_2', '.st-key-map_b_2'].map(s => plot(s)._fullData
                .filter(t => t.name === 'selected point').map(t => [t.x[0], t.y[0]]))}; }"""


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


def test_a_click_and_a_sigma_step_rerun_only_what_they_change(page, server):
    runs = Runs(page)
    open_page(page, server, "boundaries")
    # a click on the smoothed map: one run (the inspector's fragment) answers, puts the point on both maps and into
    # the address bar; the slow rows follow in the table's polls, which are no whole-page run either
    runs.clear()
    box = page.locator(".st-key-map_b_2 .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + 0.42 * box["width"], box["y"] + 0.40 * box["height"])
    page.wait_for_function("() => /[?&]x=/.test(location.search)", timeout=60_000)    # the run's last step
    page.wait_for_function("() => !!document.querySelector('.st-key-inspected_point')", timeout=60_000)
    runs.wait(lambda: runs.fragment_runs())
    x, y = (float(v) for v in re.search(r"[?&]x=(-?[0-9.]+)&y=(-?[0-9.]+)", page.url).groups())
    assert page.get_by_text(f"Inspecting the point ({x:.3f}, {y:.3f}).").count() == 1
    before = page.evaluate(SHOWN)
    assert before["points"] == [[[x, y]], [[x, y]]] and before["cloud"].endswith("σ = 0.25"), before
    done = runs.fragment_runs()
    assert len(done) == 1 and not runs.whole_app() and runs.sidebar_deltas == 0, runs.finished   # one run
    click_run = done[0]

    # a σ step reruns the σ view's fragment alone (no whole-app run, nothing sent to the sidebar), which redraws
    # the smoothed map, the metrics and the inspector's cloud and votes at the new σ, and the address bar's σ
    runs.clear()
    page.locator("[data-testid='stSidebar'] [data-testid='stSlider'] input[type='range']").first.focus()
    page.keyboard.press("ArrowRight")                                  # 0.25 → 0.26
    page.wait_for_function("() => document.querySelector('.st-key-cloud .gtitle')?.textContent.endsWith('0.26')"
                           " && /[?&]sigma=0.26&/.test(location.search)", timeout=60_000)
    runs.wait(lambda: runs.fragment_runs())
    shown = page.evaluate(SHOWN)
    assert (shown["title"], shown["sigma"]) == ("Smoothed g, σ = 0.26", "0.26"), shown
    assert shown["votes"] != before["votes"] and shown["points"] == before["points"], (before, shown)
    assert re.search(r"[?&]sigma=0\.26&x=", page.url), page.url
    done = runs.fragment_runs()
    assert click_run not in done and not runs.whole_app() and runs.sidebar_deltas == 0, (runs.finished,
                                                                                         runs.sidebar_deltas)
    no_exception(page)
