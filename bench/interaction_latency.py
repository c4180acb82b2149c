"""How long does a classroom interaction take, measured in a real browser? (issue 17, the latency table)

Starts the app as the README does (``streamlit run app.py``, here on a free or given port of 127.0.0.1), drives
Debian's /usr/bin/chromium with Playwright and times each interaction of the issue's table, ``--runs`` times:

  welcome (new session)   a new browser tab opens / on the running server: the plain page-load reference
  σ step, boundaries      ArrowRight on the sidebar σ slider of /boundaries (no point selected), until idle
  σ drag frame, boundaries  the σ thumb dragged with the mouse (held, never released between samples) by a slider
                          step, until the smoothed map shows that σ's exact frame and the browser has painted it
                          (ui/sigma_scrub.py's data-scrub-sigma marker; no rerun is involved until the release)
  click → first answer    a click on the smoothed map until the inspector shows its first answer (noise cloud,
                          votes, Monte Carlo + exact radius, the two distances) for *that* point
  click → every row       the same click until the page is idle (the slow rows, e.g. per-input σ, SC-RFP, too)
  type a coordinate       a new x₁ typed into the inspector's box (+ Enter) until its first answer
  σ step, per-input σ     ArrowRight on the σ slider of /ddrs until idle
  first load <page>       a new tab opens the page until idle (welcome, ddrs, paths, margin)
  first load <page>, drawn  the same load until everything is drawn too (no skeleton, every Plotly chart and
                          ui.image_map picture drawn): Plotly's chunk is evaluated and its charts drawn after the
                          script's end, often after "idle" (bench/RESULTS.md, loads7)
  SRA with digits model   /margin?model=digits-ortho-mscr-s0.1 in a new tab until idle
Next to each time: the CPU seconds the browser (every Chromium process) and the app server spent on that interaction
(from /proc), which a busy shared machine inflates far less than wall-clock times: they tell whether the server's
script or the browser's rendering dominates, and compare runs made under different loads.
The first visitor after the server started is reported on its own line ("cold"), since later visitors share the
server's caches. "Idle": Streamlit's script state is notRunning and its running indicator
([data-testid="stStatusWidget"]) is gone, and both stay so for ``--settle`` seconds; the time is that of the last
change to idle (so the settle window is not counted). Every time is browser-side (performance.now()).

    python bench/interaction_latency.py [--runs 5] [--port 8599] [--settle 0.8] [--only click,type]

Timings depend on the machine's load: the load average is printed with the table, and the Welcome page's load in
the same run is the yardstick to compare runs by (report ratios, not absolute numbers).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from browser_kit import ARGS, CHROMIUM, serve  # noqa: E402  the tests' server (streamlit run app.py) and chromium
TARGETS = {"σ step, boundaries": 0.3, "σ drag frame, boundaries": 0.3, "click → first answer": 1.0,
           "type a coordinate": 1.0,
           "σ step, per-input σ": 1.0, "welcome (new session)": 3.0, "first load ddrs": 3.0,
           "first load paths": 3.0, "first load margin": 3.0,
           "first load ddrs, drawn": 3.0, "first load paths, drawn": 3.0, "first load margin, drawn": 3.0, "SRA with digits model": 5.0}

# Records every change of the app's script state and of the running indicator with its browser time.
WATCH = """() => {
  if (window.__lat) return;
  window.__lat = {changes: [], hits: {}};
  const app = document.querySelector("[data-testid='stApp']");
  const state = () => (app.getAttribute('data-test-script-state') === 'notRunning'
                       && !document.querySelector("[data-testid='stStatusWidget']")) ? 'idle' : 'busy';
  let last = state();
  window.__lat.state = state;
  new MutationObserver(() => {
    const now = state();
    if (now !== last) { window.__lat.changes.push([performance.now(), now]); last = now; }
    for (const [name, test] of Object.entries(window.__lat.probes || {})) {
      if (!(name in window.__lat.hits) && test()) window.__lat.hits[name] = performance.now();
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""

# The inspector's first answer for a new point: its caption names another point than before, and that caption, the
# noise cloud, the votes and the radius table all belong to the current script run (not stale).
FIRST_ANSWER = """() => {
  const tag = () => document.querySelector(".st-key-inspected_point");
  const before = tag() ? tag().textContent : "";
  window.__lat.probes = {answer: () => {
    const fresh = el => el && el.closest("[data-stale='true']") === null;
    if (!fresh(tag()) || tag().textContent === before) return false;
    return ['.st-key-cloud', '.st-key-votes', "[data-testid='stDataFrame']"]
      .every(s => [...document.querySelectorAll(s)].some(fresh));
  }};
  delete window.__lat.hits.answer;
}"""


def now(pg) -> float:
    return pg.evaluate("performance.now()")


def until_idle(pg, t0: float, settle: float, timeout: float = 300, expect_run: bool = True) -> float:
    """Seconds from browser time t0 (ms) to the last change to idle, once the page has stayed idle ``settle`` s.

    ``expect_run``: the action must start a script run, so wait (up to 30 s; a loaded server is slow to react)
    until one has been seen before idleness counts; without it a late rerun would be timed as 0 s."""
    deadline, start = time.time() + timeout, time.time()
    while time.time() < deadline:
        changes, state, t = pg.evaluate("[window.__lat.changes, window.__lat.state(), performance.now()]")
        after = [c for c in changes if c[0] >= t0]
        if expect_run and not after and time.time() - start < 30:
            time.sleep(0.05)
            continue
        last = after[-1][0] if after else t0
        if state == "idle" and t - last >= settle * 1000:
            return (last - t0) / 1000 if after and after[-1][1] == "idle" else 0.0
        time.sleep(0.05)
    raise TimeoutError("the app did not become idle")


def until_hit(pg, name: str, t0: float, timeout: float = 120) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        hit = pg.evaluate(f"window.__lat.hits[{name!r}] ?? null")
        if hit is not None:
            return (hit - t0) / 1000
        time.sleep(0.05)
    pg.screenshot(path="/tmp/interaction_latency_timeout.png")
    raise TimeoutError(f"{name} never appeared at {pg.url} (screenshot: /tmp/interaction_latency_timeout.png)")


# Installed before the page's own scripts: the last time the page went from "something still to draw" to "all
# drawn": no skeleton (a lazily loaded element chunk), every Plotly chart drawn (its .main-svg) and every ui.image_map
# picture drawn (its .imap-plot). The app's idle state does not wait for these: Plotly's 4.7 MB chunk is fetched,
# evaluated and drawn after the script's end, and a picture's JavaScript draws it after its element arrives. A picture
# is a v2 component with a height (ui.sigma_scrub is drawn with height 0 and shows nothing); it draws inside its
# element's shadow root, which an observer of document.body does not see: each is observed too.
DRAWN = """(() => { const pictures = () => [...document.querySelectorAll("[data-testid='stBidiComponentIsolated']")]
    .filter(h => h.closest("[data-testid='stElementContainer']")?.getAttribute('height') !== '0px');
  const done = () => !document.querySelector("[data-testid='stSkeleton']") &&
    [...document.querySelectorAll("[data-testid='stPlotlyChart']")].every(c => c.querySelector('.main-svg')) &&
    pictures().every(h => (h.shadowRoot ?? h).querySelector('.imap-plot'));
  let was = false; window.__drawn = {at: null, done};
  const watched = new WeakSet(), observer = new MutationObserver(() => {
    for (const h of pictures()) if (h.shadowRoot && !watched.has(h.shadowRoot)) {
      watched.add(h.shadowRoot);
      observer.observe(h.shadowRoot, {subtree: true, childList: true});
    }
    const now = done();
    if (now && !was) window.__drawn.at = performance.now();
    was = now; });
  document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, {subtree: true, childList: true}));
})()"""


def drawn_after(pg, timeout: float = 120) -> float:
    """Seconds from navigation start until everything was drawn (``DRAWN``; waits for it, at most ``timeout`` s:
    then the time waited, with a warning, so a page that keeps a placeholder does not stop the bench)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        pg.wait_for_function("() => window.__drawn.done() && window.__drawn.at !== null", timeout=timeout * 1000)
    except PlaywrightTimeout:
        print(f"  warning: {pg.url} not drawn after {timeout:g} s", file=sys.stderr, flush=True)
        return now(pg) / 1000
    return pg.evaluate("window.__drawn.at") / 1000


def open_and_time(browser, url: str, settle: float, viewport=(1600, 1000)):
    """A new tab on ``url``: seconds until idle; returns (seconds, page). ``page.drawn_s``: seconds until its
    charts and pictures were drawn too (``drawn_after``; later than idle when they draw after the script's end)."""
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    ctx.add_init_script(DRAWN)
    pg = ctx.new_page()
    start = time.perf_counter()
    pg.goto(url, timeout=300_000)
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=300_000)
    pg.evaluate(WATCH)
    t0 = now(pg) - (time.perf_counter() - start) * 1000
    until_idle(pg, t0, settle, expect_run=False)   # wait out chained reruns (URL sync, fragments)
    changes = pg.evaluate("window.__lat.changes")
    last_idle = max([c[0] for c in changes if c[1] == "idle"], default=now(pg) - settle * 1000)
    pg.drawn_s = max(drawn_after(pg) - t0 / 1000, (last_idle - t0) / 1000)
    return (last_idle - t0) / 1000, pg


def sigma_step(pg, settle: float) -> float:
    thumb = pg.locator("[data-testid='stSidebar'] [data-testid='stSlider'] input[type='range']").first
    thumb.focus()
    t0 = now(pg)
    pg.keyboard.press("ArrowRight")
    return until_idle(pg, t0, settle)


# After the thumb moves: the browser time at which the smoothed map showed the frame of the slider's live σ (its
# data-scrub-sigma marker, set by ui/sigma_scrub.py) and a frame was painted after that (rAF, then a task).
SCRUB_FRAME = """() => {
  const input = document.querySelector("[data-testid='stSidebar'] .st-key-sigma input[type='range']");
  const map = document.querySelector('.st-key-map_b_2'), before = input.value;
  window.__scrubPainted = null;
  const shows = () => input.value !== before
                      && map.dataset.scrubSigma === String(Math.round(Number(input.value) * 100) / 100);
  const seen = new MutationObserver(() => {
    if (!shows()) return;
    seen.disconnect();
    requestAnimationFrame(() => setTimeout(() => { window.__scrubPainted = performance.now(); }, 0));
  });
  seen.observe(document.body, {subtree: true, attributes: true, attributeFilter: ['data-scrub-sigma', 'value']});
}"""


def sigma_drag_frames(pg, samples: int, on_sample) -> None:
    """Hold the σ thumb and move it one slider step at a time (right, back, right, ...); ``on_sample(seconds)`` for
    each move, from just before the move to the painted frame of the σ it reached. Releases at the end."""
    slider = pg.locator("[data-testid='stSidebar'] .st-key-sigma")
    value = slider.locator("[data-testid='stSliderThumbValue']").first.bounding_box()
    x0, y0 = value["x"] + value["width"] / 2, value["y"] + value["height"] + 12      # the thumb, under its label
    pg.mouse.move(x0, y0)
    pg.mouse.down()
    for i in range(samples):
        pg.evaluate(SCRUB_FRAME)
        t0 = now(pg)
        pg.mouse.move(x0 + (2.5 if i % 2 == 0 else 0), y0)
        deadline = time.time() + 30
        while (painted := pg.evaluate("window.__scrubPainted")) is None and time.time() < deadline:
            time.sleep(0.02)
        if painted is None:
            pg.screenshot(path="/tmp/interaction_latency_timeout.png")
            raise TimeoutError("the smoothed map never showed the dragged σ's frame")
        on_sample((painted - t0) / 1000)
    pg.mouse.move(x0 + 2.5, y0)          # released away from the start, so the release commits a new σ
    pg.mouse.up()


def smoothed_map_box(pg):
    """The smoothed map's plot area (its ui.image_map .imap-plot: map_b_2 side by side, map_a_1 in the overlay)."""
    plot = pg.locator(".st-key-map_b_2 .imap-plot, .st-key-map_a_1 .imap-plot").first
    plot.scroll_into_view_if_needed()
    return plot.bounding_box()


def lattice_point(i: int) -> tuple[float, float]:
    """Distinct click targets over [-3, 3]², away from the edges (on the 0.1 grid that the maps' click lattice had
    until session 5, so runs before and after compare the same points)."""
    xs = (-1.0, 0.5, 1.5, -0.5, 0.2, 1.0, 2.0, -1.5, 0.8, -0.2)
    ys = (0.5, -0.3, 0.0, 1.0, 0.6, -0.5, 0.3, 0.2, -0.1, 0.9)
    return xs[i % len(xs)], ys[i % len(ys)]


def click_point(pg, i: int, settle: float) -> tuple[float, float]:
    """Click lattice point i on the smoothed map: (seconds to the first answer, seconds to idle)."""
    x, y = lattice_point(i)
    b = smoothed_map_box(pg)
    px = b["x"] + (x + 3) / 6 * b["width"]
    py = b["y"] + (3 - y) / 6 * b["height"]
    pg.evaluate(FIRST_ANSWER)
    t0 = now(pg)
    pg.mouse.click(px, py)
    first = until_hit(pg, "answer", t0)
    return first, until_idle(pg, t0, settle)


def type_coordinate(pg, i: int, settle: float) -> tuple[float, float]:
    x = round(-2.0 + 0.37 * i, 3)
    box = pg.locator(".st-key-px input")
    box.fill(f"{x:.3f}")
    pg.evaluate(FIRST_ANSWER)
    t0 = now(pg)
    box.press("Enter")
    first = until_hit(pg, "answer", t0)
    return first, until_idle(pg, t0, settle)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = pathlib.Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        out += [int(k) for k in kids]
        todo += [int(k) for k in kids]
    return out


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) so far of this process's descendants: {'browser': Chromium, 'server': streamlit}."""
    tick, total = os.sysconf("SC_CLK_TCK"), {"browser": 0.0, "server": 0.0}
    for pid in _descendants(os.getpid()):
        try:
            cmd = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = "server" if b"streamlit" in cmd else "browser" if b"chrom" in cmd else None
        if kind:
            total[kind] += (int(fields[11]) + int(fields[12])) / tick
    return total


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def row(name: str, times: list[float], cpu: list[dict[str, float]]) -> str:
    target = TARGETS.get(name)
    med = statistics.median(times)
    verdict = "" if target is None else ("met" if med <= target else "NOT met")
    goal = "" if target is None else f"≤ {target:g}"
    used = " | ".join(f"{statistics.median(c[k] for c in cpu):.2f}" for k in ("browser", "server"))
    return f"| {name} | {med:.2f} | {max(times):.2f} | {used} | {len(times)} | {goal} | {verdict} |"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="samples per interaction (median and max are printed)")
    ap.add_argument("--port", type=int, default=0, help="port of the app server (default: a free one)")
    ap.add_argument("--settle", type=float, default=0.8, help="seconds the page must stay idle to count as done")
    ap.add_argument("--only", default="", help="comma list of: load,boundaries,drag,click,type,ddrs,sra (default "
                                               "all)")
    ap.add_argument("--log", type=pathlib.Path, default=pathlib.Path("/tmp/interaction_latency_server.log"))
    args = ap.parse_args(argv)
    parts = set(filter(None, args.only.split(","))) or {"load", "boundaries", "drag", "click", "type", "ddrs",
                                                          "sra"}
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {}
    cpu: dict[str, list[dict[str, float]]] = {}
    since = [cpu_seconds()]

    def add(name: str, seconds: float) -> None:
        """Record one sample; the CPU seconds counted are those since the previous sample (or the interaction's
        start, see ``mark``), so a 'first answer' and its 'every row' both count up to their own sample."""
        used = cpu_seconds()
        results.setdefault(name, []).append(seconds)
        cpu.setdefault(name, []).append({k: used[k] - since[0][k] for k in used})
        print(f"  {name}: {seconds:.2f} s, CPU browser {cpu[name][-1]['browser']:.2f} s, server "
              f"{cpu[name][-1]['server']:.2f} s", file=sys.stderr, flush=True)   # progress, if a run is cut short

    def mark() -> None:
        since[0] = cpu_seconds()
    loads = [f"start {load_average()}"]
    with serve(args.log, args.port) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        cold, pg = open_and_time(browser, url, args.settle)
        pg.context.close()
        for i in range(args.runs):
            mark()
            t, pg = open_and_time(browser, url, args.settle)
            add("welcome (new session)", t)
            add("welcome, drawn", pg.drawn_s)
            pg.context.close()
        if parts & {"boundaries", "drag", "click", "type"}:
            t, pg = open_and_time(browser, f"{url}/boundaries", args.settle)
            if "drag" in parts:
                mark()

                def drag_sample(seconds: float) -> None:
                    add("σ drag frame, boundaries", seconds)
                    mark()
                sigma_drag_frames(pg, args.runs, drag_sample)
                until_idle(pg, now(pg), args.settle)     # the release's rerun, not timed
            for i in range(args.runs if "boundaries" in parts else 0):
                mark()
                add("σ step, boundaries", sigma_step(pg, args.settle))
            for i in range(args.runs if "click" in parts else 0):
                mark()
                first, idle = click_point(pg, i, args.settle)
                add("click → first answer", first)     # its CPU: the whole click (first answer and every row)
                add("click → every row", idle)         # its CPU: only what came after the sample above (~0)
            for i in range(args.runs if "type" in parts else 0):
                mark()
                first, idle = type_coordinate(pg, i, args.settle)
                add("type a coordinate", first)
                add("type → every row", idle)
            pg.context.close()
        if "load" in parts:
            for key in ("ddrs", "paths", "margin"):
                for i in range(args.runs + 1):     # the first visitor of a page fills the server's caches
                    mark()
                    t, pg = open_and_time(browser, f"{url}/{key}", args.settle)
                    add(f"first load {key}" + ("" if i else " (its first visitor)"), t)
                    add(f"first load {key}, drawn" + ("" if i else " (its first visitor)"), pg.drawn_s)
                    pg.context.close()
        loads.append(f"middle {load_average()}")
        if "ddrs" in parts:
            t, pg = open_and_time(browser, f"{url}/ddrs", args.settle)
            for i in range(args.runs):
                mark()
                add("σ step, per-input σ", sigma_step(pg, args.settle))
            pg.context.close()
        if "sra" in parts:
            for i in range(args.runs + 1):
                mark()
                t, pg = open_and_time(browser, f"{url}/margin?model=digits-ortho-mscr-s0.1", args.settle)
                add("SRA with digits model" + ("" if i else " (its first visitor)"), t)
                pg.context.close()
        browser.close()
    loads.append(f"end {load_average()}")
    print(f"\nload average (1, 5, 15 min): {'; '.join(loads)}; {os.cpu_count()} CPUs; runs = {args.runs}")
    print(f"first visitor after start (cold server), Welcome: {cold:.2f} s\n")
    print("| interaction | median (s) | max (s) | CPU browser (s) | CPU server (s) | samples | target (s) | |")
    print("|---|---|---|---|---|---|---|---|")
    for name, times in results.items():
        print(row(name, times, cpu[name]))


if __name__ == "__main__":
    main()
