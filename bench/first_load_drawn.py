"""First loads of pages, two checkouts alternated load by load: until idle, until drawn, and what the renderer did
(issue 17: "first load of a page ≤ 3 s"; bench/RESULTS.md, loads7).

Why: the app's idle state (script notRunning, no running indicator; bench/interaction_latency.py) does not wait for
Plotly: a page with a Plotly chart makes each new visitor's browser fetch Streamlit's Plotly chunk (4.7 MB),
evaluate it (one long task) and draw its charts, often after "idle". When that long task starts before the
script's end is processed, idle comes late too: the loads were bimodal. So each load here, in a new browser context
(a new visitor, nothing cached), records: idle and drawn (interaction_latency's ``DRAWN``: no skeleton, every Plotly
chart drawn) in s from navigation start, whether the Plotly chunk was fetched, the renderer main thread's CPU
(CDP ``ThreadTime``, once drawn) and its longest task. Checkouts A and B are served side by side and alternated
A, B, A, B, ... for each page, so the machine's load drifts evenly over both.

    python bench/first_load_drawn.py --trees /path/to/main,. [--runs 5] [--pages ,ddrs,margin,paths]
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from browser_kit import ARGS, CHROMIUM  # noqa: E402
from interaction_latency import DRAWN, WATCH, drawn_after, until_idle  # noqa: E402
from page_load_cpu import start, stop  # noqa: E402

LONG = """(() => { window.__long = 0; try { new PerformanceObserver(l => { for (const e of l.getEntries())
  window.__long = Math.max(window.__long, e.duration); }).observe({type: 'longtask', buffered: true}); } catch (e) {} })()"""


def load(browser, url: str, settle: float) -> dict[str, float]:
    """One first load of ``url`` in a new context: idle, drawn (s), Plotly fetched (0/1), renderer CPU, longest task."""
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    ctx.add_init_script(DRAWN)
    ctx.add_init_script(LONG)
    pg = ctx.new_page()
    cdp = ctx.new_cdp_session(pg)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    pg.goto(url, timeout=300_000)
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=300_000)
    pg.evaluate(WATCH)
    until_idle(pg, 0.0, settle, expect_run=False)
    changes = pg.evaluate("window.__lat.changes")
    idle = max([c[0] for c in changes if c[1] == "idle"], default=pg.evaluate("performance.now()") - settle * 1000)
    drawn = max(drawn_after(pg), idle / 1000)
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    plotly = pg.evaluate("performance.getEntriesByType('resource').some(e => e.name.includes('PlotlyChart'))")
    longest = pg.evaluate("window.__long") / 1000
    ctx.close()
    return {"idle": idle / 1000, "drawn": drawn, "plotly": float(plotly), "renderer CPU": metrics["ThreadTime"],
            "longest task": longest}


def main(argv=None) -> None:
    from playwright.sync_api import sync_playwright
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trees", required=True, help="two checkouts, comma separated (A,B)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pages", default=",ddrs,margin,paths", help="paths after the server root ('' = Welcome)")
    ap.add_argument("--settle", type=float, default=0.8)
    a = ap.parse_args(argv)
    trees = [pathlib.Path(t).resolve() for t in a.trees.split(",")]
    print(f"load average at start: {open('/proc/loadavg').read().strip()}", flush=True)
    servers = [start(t, pathlib.Path(f"/tmp/first_load_drawn_{i}.log")) for i, t in enumerate(trees)]
    pages = a.pages.split(",")
    samples: dict[tuple[str, int], list[dict]] = {(p, i): [] for p in pages for i in range(len(trees))}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for page in pages:
                for i, (_, url) in enumerate(servers):        # each page's first visitor fills the caches: not counted
                    load(browser, f"{url}/{page}", a.settle)
                for run in range(a.runs):
                    for i, (_, url) in enumerate(servers):
                        r = load(browser, f"{url}/{page}", a.settle)
                        samples[(page, i)].append(r)
                        print(f"  {page or 'welcome'} {'AB'[i]}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()),
                              flush=True)
            browser.close()
    finally:
        stop(servers)
    print(f"load average at end: {open('/proc/loadavg').read().strip()}; runs = {a.runs}; A = {trees[0]}, "
          f"B = {trees[1]}")
    keys = ["idle", "drawn", "plotly", "renderer CPU", "longest task"]
    print("| page | tree | " + " | ".join(keys) + " |\n|" + "---|" * (len(keys) + 2))
    for (page, i), s in samples.items():
        print(f"| {page or 'welcome'} | {'AB'[i]} | "
              + " | ".join(f"{statistics.median(r[k] for r in s):.2f}" for k in keys) + " |")
    print("(medians; s from navigation start; plotly: share of loads that fetched the Plotly chunk; renderer CPU: "
          "CDP ThreadTime of the page's main thread until drawn)")


if __name__ == "__main__":
    main()
