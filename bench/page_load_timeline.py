"""Where does a page's first load spend its time in the browser? (issue 17: the floor of a load, and why loads are
bimodal)

For each load, in a new browser context (a new renderer, as a new visitor), an init script records in browser time
(ms from navigation start): the websocket's open, its first and last message, each script run's start (new_session)
and end (script_finished), the end of the download of Plotly's chunk (PlotlyChart*.js), the first and last Plotly
chart drawn (``plotly_afterplot``), the fonts being ready, the last change of the app to idle (as
bench/interaction_latency.py) and every long task (> 50 ms on the renderer's main thread). It serves, side by side in one run: a bare three-line Streamlit app (Streamlit's own floor on this machine,
no sidebar, no app code), the app's pages given by ``--pages`` (e.g. glossary = the app's chrome and text only),
alternating the targets load by load so the machine's load drifts evenly over them.

    python bench/page_load_timeline.py [--runs 5] [--pages glossary,ddrs,margin] [--tree .]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from browser_kit import ARGS, CHROMIUM  # noqa: E402
from interaction_latency import WATCH, until_idle  # noqa: E402
from page_load_cpu import server_cpu, start, stop  # noqa: E402

BARE = 'import streamlit as st\nst.title("Bare")\nst.write("A three-line Streamlit page.")\n'

# Installed before any page script: websocket messages (protobuf ForwardMsg field 4 = new_session, 6 =
# script_finished), Plotly's afterplot events, fonts and long tasks, each with its performance.now().
TIMELINE = """(() => {
  const t = window.__tl = {ws: null, first: null, last: null, runs: [], ends: [], plots: [], fonts: null, long: []};
  const now = () => performance.now();
  const top = data => { const b = new Uint8Array(data); const out = new Set(); let i = 0;
    const v = () => { let x = 0, m = 1, c; do { c = b[i++]; x += (c & 127) * m; m *= 128; } while (c > 127);
                      return x; };
    while (i < b.length) { const k = v(), w = k % 8; out.add(Math.floor(k / 8));
      if (w === 0) v(); else if (w === 2) { const n = v(); i += n; } else if (w === 1) i += 8; else if (w === 5) i += 4;
      else break; }
    return out; };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...a) { super(...a);
      this.addEventListener('open', () => { t.ws = t.ws ?? now(); });
      this.addEventListener('message', e => { const n = now(); t.first = t.first ?? n; t.last = n;
        if (!(e.data instanceof ArrayBuffer)) return;
        const f = top(e.data); if (f.has(4)) t.runs.push(n); if (f.has(6)) t.ends.push(n); }); } };
  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver(() => { for (const el of document.querySelectorAll('.js-plotly-plot:not([data-tl])')) {
      if (!el.on) continue; el.dataset.tl = '1'; el.on('plotly_afterplot', () => t.plots.push(now())); } })
      .observe(document.body, {subtree: true, childList: true}); });
  document.fonts.ready.then(() => { t.fonts = now(); });
  try { new PerformanceObserver(l => { for (const e of l.getEntries()) t.long.push([e.startTime, e.duration]); })
        .observe({type: 'longtask', buffered: true}); } catch (e) {}
})()"""


def load(browser, url: str, settle: float, pid: int) -> dict[str, float]:
    """One first load of ``url`` in a new context: the timeline's marks (s from navigation start), idle, CPU."""
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    ctx.add_init_script(TIMELINE)
    pg = ctx.new_page()
    s0 = server_cpu(pid)
    pg.goto(url, timeout=300_000)
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=300_000)
    pg.evaluate(WATCH)
    until_idle(pg, 0.0, settle, expect_run=False)
    t = pg.evaluate("window.__tl")
    chunk = pg.evaluate("""() => performance.getEntriesByType('resource')
        .filter(e => e.name.includes('PlotlyChart')).map(e => [e.startTime, e.responseEnd])""")
    changes = pg.evaluate("window.__lat.changes")
    idle = max([c[0] for c in changes if c[1] == "idle"], default=pg.evaluate("performance.now()") - settle * 1000)
    ctx.close()
    ms = lambda v: None if v is None else v / 1000          # noqa: E731
    return {"ws open": ms(t["ws"]), "first msg": ms(t["first"]), "run start": ms(min(t["runs"], default=None)),
            "run end": ms(max(t["ends"], default=None)), "last msg": ms(t["last"]),
            "plotly.js fetched": ms(chunk[0][1]) if chunk else None,
            "first plot": ms(min(t["plots"], default=None)), "last plot": ms(max(t["plots"], default=None)),
            "fonts": ms(t["fonts"]), "idle": idle / 1000, "runs": len(t["runs"]),
            "long tasks": sum(d for _, d in t["long"]) / 1000,
            "longest": max((d for _, d in t["long"]), default=0) / 1000,
            "server CPU": server_cpu(pid) - s0}


def main(argv=None) -> None:
    from playwright.sync_api import sync_playwright
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pages", default="glossary,ddrs,margin")
    ap.add_argument("--tree", default=str(ROOT), help="the app checkout to serve")
    ap.add_argument("--settle", type=float, default=0.8)
    ap.add_argument("--each", action="store_true", help="print every load's timeline, not only the medians")
    a = ap.parse_args(argv)
    bare_dir = pathlib.Path(tempfile.mkdtemp(prefix="bare_streamlit_"))
    (bare_dir / "app.py").write_text(BARE)
    print(f"load average at start: {open('/proc/loadavg').read().strip()}", flush=True)
    servers = [start(bare_dir, pathlib.Path("/tmp/page_load_timeline_bare.log")),
               start(pathlib.Path(a.tree), pathlib.Path("/tmp/page_load_timeline_app.log"))]
    targets = [("bare streamlit", servers[0], "")] + [(p, servers[1], p) for p in a.pages.split(",")]
    samples: dict[str, list[dict]] = {name: [] for name, _, _ in targets}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, (proc, url), path in targets:                 # each page's first visitor: not counted
                load(browser, f"{url}/{path}", a.settle, proc.pid)
            for run in range(a.runs):
                for name, (proc, url), path in targets:
                    r = load(browser, f"{url}/{path}", a.settle, proc.pid)
                    samples[name].append(r)
                    if a.each:
                        print(f"  {name}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                                        for k, v in r.items()), flush=True)
            browser.close()
    finally:
        stop(servers)
    print(f"load average at end: {open('/proc/loadavg').read().strip()}; {os.cpu_count()} CPUs; runs = {a.runs}")
    keys = list(next(iter(samples.values()))[0])
    print("| page | " + " | ".join(keys) + " |\n|" + "---|" * (len(keys) + 1))
    for name, s in samples.items():
        med = [statistics.median(r[k] for r in s if r[k] is not None) if any(r[k] is not None for r in s) else None
               for k in keys]
        print(f"| {name} | " + " | ".join("–" if v is None else f"{v:.2f}" for v in med) + " |")
    print("(s from navigation start, medians; 'long tasks': total of the renderer main thread's tasks over 50 ms; "
          "'idle' as in bench/interaction_latency.py)")


if __name__ == "__main__":
    main()
