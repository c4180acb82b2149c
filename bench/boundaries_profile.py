"""Where does a σ step or a click on Decision boundaries spend its time? (issue 17, the latency table)

Starts the app (``streamlit run app.py`` via the tests' ``serve``), opens /boundaries in Debian's Chromium and records
each interaction with Chrome's tracing (the DevTools timeline categories) and the JS sampling profiler, then prints:

  * the browser main thread's self time split into scripting / style+layout / paint+composite / parsing+GC / other,
  * the JS self time by script (Plotly's bundle vs Streamlit's own; Plotly draws only the inspector's charts now,
    the maps are ui.image_map pictures) and the top functions,
  * the wall time to idle, and the CPU seconds of the browser processes and of the app server (from /proc).

    python bench/boundaries_profile.py [--runs 3] [--only sigma,click,load:ddrs,load:paths]

Numbers depend on the machine's load; compare splits, not absolute seconds, between runs.
"""
from __future__ import annotations

import argparse
import collections
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from browser_kit import ARGS, CHROMIUM, serve  # noqa: E402
from interaction_latency import (WATCH, click_point, cpu_seconds, load_average,  # noqa: E402
                                 open_and_time, sigma_step, until_idle)

CATEGORIES = "devtools.timeline,disabled-by-default-devtools.timeline,v8,v8.execute,blink,cc,gpu"
KIND = {  # trace event name -> bucket (self time)
    "scripting": ("FunctionCall", "EvaluateScript", "v8.compile", "V8.Execute", "RunMicrotasks", "TimerFire",
                  "EventDispatch", "FireAnimationFrame", "v8.run", "V8.CompileCode", "v8.callFunction",
                  "RunTask", "XHRReadyStateChange", "ParseAuthorStyleSheet"),
    "style + layout": ("UpdateLayoutTree", "Layout", "RecalculateStyles", "ScheduleStyleRecalculation",
                       "InvalidateLayout", "LayoutShift", "UpdateLayerTree", "HitTest", "IntersectionObserverController::computeIntersections"),
    "paint + composite": ("Paint", "PaintImage", "RasterTask", "CompositeLayers", "Decode Image", "ImageDecodeTask",
                          "PrePaint", "Layerize", "Commit", "UpdateLayer", "Draw Frame", "BeginMainThreadFrame"),
    "parse + GC": ("ParseHTML", "MinorGC", "MajorGC", "V8.GCScavenger", "V8.GCFinalizeMC", "BlinkGC.AtomicPhase",
                   "V8.GC_MC_BACKGROUND_MARKING", "ThreadState::performIdleLazySweep", "V8.GCIncrementalMarking",
                   "V8.GCCompactor", "V8.GC_SCAVENGER_BACKGROUND_SCAVENGE_PARALLEL"),
}
BUCKET = {name: kind for kind, names in KIND.items() for name in names}


def main_thread_split(events: list[dict]) -> dict[str, float]:
    """Self time (s) of complete events on the renderer main threads, bucketed by ``BUCKET``."""
    mains = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"
             and e.get("args", {}).get("name") == "CrRendererMain"}
    per_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and (e["pid"], e["tid"]) in mains and "dur" in e:
            per_thread[(e["pid"], e["tid"])].append(e)
    out = collections.Counter()
    for evs in per_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack: list[list] = []        # [event, child time]
        for e in evs:
            while stack and e["ts"] >= stack[-1][0]["ts"] + stack[-1][0]["dur"]:
                done, child = stack.pop()
                out[_bucket(done, stack)] += (done["dur"] - child) / 1e6
            if stack:
                stack[-1][1] += e["dur"]
            stack.append([e, 0])
        while stack:
            done, child = stack.pop()
            out[_bucket(done, stack)] += (done["dur"] - child) / 1e6
    return dict(out)


def _bucket(e, stack) -> str:
    if e["name"] in BUCKET:
        return BUCKET[e["name"]]
    for parent, _ in reversed(stack):       # an unnamed child inherits its nearest named parent's bucket
        if parent["name"] in BUCKET:
            return BUCKET[parent["name"]]
    return "other (" + e["name"] + ")" if e["name"] in ("ThreadControllerImpl::RunTask",) else "other"


def js_split(profile: dict, top: int = 12):
    """Self time (s) per script URL and the ``top`` functions, from a CDP Profiler profile."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    dt = collections.Counter()
    stamps = profile["timeDeltas"]
    for sample, delta in zip(profile["samples"][1:], stamps[1:]):
        dt[sample] += delta / 1e6
    by_url, by_fn = collections.Counter(), collections.Counter()
    for nid, sec in dt.items():
        frame = nodes[nid]["callFrame"]
        url = frame.get("url", "").rsplit("/", 1)[-1] or f"({frame['functionName'] or 'program'})"
        by_url[url] += sec
        by_fn[f"{frame['functionName'] or '(anonymous)'} @ {url}:{frame.get('lineNumber', 0)}"] += sec
    return by_url.most_common(8), by_fn.most_common(top)


def record(pg, action):
    """Run ``action`` under tracing + the JS profiler: (wall s, trace split, js split, cpu browser/server)."""
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    chunks: list = []
    cdp.on("Tracing.dataCollected", lambda p: chunks.extend(p["value"]))
    done = {"flag": False}
    cdp.on("Tracing.tracingComplete", lambda p: done.update(flag=True))
    cdp.send("Tracing.start", {"categories": CATEGORIES, "transferMode": "ReportEvents"})
    cdp.send("Profiler.start")
    before = cpu_seconds()
    wall = action()
    used = cpu_seconds()
    profile = cdp.send("Profiler.stop")["profile"]
    cdp.send("Tracing.end")
    deadline = time.time() + 60
    while not done["flag"] and time.time() < deadline:
        pg.wait_for_timeout(100)
    cdp.detach()
    return wall, main_thread_split(chunks), js_split(profile), {k: used[k] - before[k] for k in used}


def load_page(browser, url: str, settle: float):
    """A new tab on ``url`` recorded from before navigation (its first sample fills the server's caches)."""
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = ctx.new_page()
    out = record(pg, lambda: _goto_idle(pg, url, settle))
    ctx.close()
    return out


def _goto_idle(pg, url: str, settle: float) -> float:
    start = time.perf_counter()
    pg.goto(url, timeout=300_000)
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=300_000)
    pg.evaluate(WATCH)
    t0 = pg.evaluate("performance.now()") - (time.perf_counter() - start) * 1000
    until_idle(pg, t0, settle, expect_run=False)      # as interaction_latency.open_and_time: the last change to idle
    changes = pg.evaluate("window.__lat.changes")
    last_idle = max([c[0] for c in changes if c[1] == "idle"], default=pg.evaluate("performance.now()") - settle * 1000)
    return (last_idle - t0) / 1000


def report(name: str, samples: list) -> None:
    print(f"\n## {name} ({len(samples)} samples, medians where numbers are averaged)")
    walls = sorted(s[0] if not isinstance(s[0], tuple) else s[0][0] for s in samples)
    print(f"wall to {'first answer' if isinstance(samples[0][0], tuple) else 'idle'}: median {walls[len(walls) // 2]:.2f} s;"
          f" CPU browser {sum(s[3]['browser'] for s in samples) / len(samples):.2f} s, server "
          f"{sum(s[3]['server'] for s in samples) / len(samples):.2f} s (means)")
    split = collections.Counter()
    for s in samples:
        split.update({k: v / len(samples) for k, v in s[1].items()})
    total = sum(split.values()) or 1
    print("renderer main thread, self time (mean s): " + ", ".join(
        f"{k} {v:.2f} ({v / total:.0%})" for k, v in split.most_common()))
    urls, fns = collections.Counter(), collections.Counter()
    for s in samples:
        urls.update({k: v / len(samples) for k, v in s[2][0]})
        fns.update({k: v / len(samples) for k, v in s[2][1]})
    print("JS self time by script (mean s): " + ", ".join(f"{k} {v:.2f}" for k, v in urls.most_common(6)))
    print("top JS functions (mean s):")
    for k, v in fns.most_common(12):
        print(f"  {v:.3f}  {k}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--settle", type=float, default=0.8)
    ap.add_argument("--only", default="sigma,click")
    args = ap.parse_args(argv)
    parts = set(args.only.split(","))
    from playwright.sync_api import sync_playwright
    print(f"load average at start: {load_average()}")
    with serve(pathlib.Path("/tmp/boundaries_profile_server.log")) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        _, pg = open_and_time(browser, f"{url}/boundaries", args.settle)
        sigma_step(pg, args.settle)          # warm the page's caches once
        if "sigma" in parts:
            report("σ step, Decision boundaries (no point selected)",
                   [record(pg, lambda: sigma_step(pg, args.settle)) for _ in range(args.runs)])
        if "click" in parts:
            click_point(pg, 9, args.settle)    # the first click loads the inspector's charts once
            report("click → first answer (and idle)",
                   [record(pg, lambda i=i: click_point(pg, i, args.settle)) for i in range(args.runs)])
        if "sigma" in parts:
            report("σ step, Decision boundaries (a point selected)",
                   [record(pg, lambda: sigma_step(pg, args.settle)) for _ in range(args.runs)])
        for key in [k[5:] for k in parts if k.startswith("load:")]:
            report(f"first load of /{key} (a new tab, warm server)", [load_page(browser, f"{url}/{key}", args.settle)
                                                                     for _ in range(args.runs + 1)][1:])
        browser.close()
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
