"""A quick before/after of Decision boundaries' interactions, for comparing two checkouts back to back (issue 17).

Opens /boundaries of the checkout this file lies in (``serve``: ``streamlit run app.py``) in Debian's Chromium and
prints the medians of ``runs`` σ steps (no point), clicks (to the first answer), σ steps with a point, new /ddrs tabs:
wall seconds and the CPU seconds of the browser and of the server (from /proc; a closed tab's processes drop out of
the sum, so a new tab's browser CPU is unreliable, even negative). Run it from each checkout in turn:

    cd <checkout> && .venv/bin/python bench/boundaries_steps.py [runs]
"""
import pathlib
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from browser_kit import ARGS, CHROMIUM, serve  # noqa: E402
from interaction_latency import click_point, cpu_seconds, load_average, open_and_time, sigma_step  # noqa: E402


def measured(results: dict, name: str, action) -> None:
    before = cpu_seconds()
    wall = action()
    after = cpu_seconds()
    used = {k: after[k] - before[k] for k in after}
    results.setdefault(name, []).append((wall, used["browser"], used["server"]))


def main(runs: int = 4) -> None:
    from playwright.sync_api import sync_playwright
    results: dict = {}
    with serve(pathlib.Path("/tmp/boundaries_steps_server.log")) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        _, pg = open_and_time(browser, f"{url}/boundaries", 0.8)
        sigma_step(pg, 0.8)                                   # warm
        for name, action in (("σ step", lambda i: sigma_step(pg, 0.8)),
                             ("click → first answer (CPU until idle)", lambda i: click_point(pg, i, 0.8)[0]),
                             ("σ step with a point", lambda i: sigma_step(pg, 0.8))):
            for i in range(runs):
                measured(results, name, lambda: action(i))
        pg.context.close()

        def ddrs_tab() -> float:
            wall, tab = open_and_time(browser, f"{url}/ddrs", 0.8)
            tab.context.close()
            return wall
        for _ in range(runs):
            measured(results, "first load Per-input σ", ddrs_tab)
        browser.close()
    print(f"{ROOT.name}: load average {load_average()}; medians of {runs}: wall / browser CPU / server CPU (s)")
    for name, samples in results.items():
        print(f"  {name}: " + " / ".join(f"{statistics.median(s[k] for s in samples):.2f}" for k in range(3)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
