"""CPU seconds of a click on Decision boundaries, in-process (Streamlit's AppTest, no browser; issue 17).

At the page's defaults (moons MLP, resolution 300, n = 10,000) it selects 6 points in turn and prints medians of:
  * the script thread's CPU until the first answer is drawn (entry of the sequential path chart, which follows the
    cloud, the votes and the radius table on the page),
  * the script thread's CPU for the whole page run,
  * the process's CPU until the slow rows are done (script + background job; AppTest runs no fragment polls and no
    second page run, so a browser adds those on top).
In a browser a click (or a typed coordinate) reruns only the inspector's fragment for its first answer and then the
page (ui/boundaries/answer.inspector); AppTest runs whole pages, so the first number here is that of the page's run,
an upper bound on the fragment's. CPU time, not wall time: it moves far less than wall time with the load of a
shared machine. Compare checkouts back to back:

    python bench/inspector_click_cpu.py [ROOT]     # ROOT: the checkout to measure (default: this one)
"""
from __future__ import annotations

import functools
import logging
import os
import statistics
import sys
import time
from pathlib import Path

POINTS = [(0.31, -0.12), (-0.4, 0.6), (1.2, 0.1), (0.9, -0.3), (-1.0, 0.5), (0.2, 0.6)]


def main(root: str) -> None:
    sys.path[:0] = [root, str(Path(root) / "tests")]
    os.environ.setdefault("CERT_EXPLORER_WARMUP", "0")
    logging.disable(logging.WARNING)
    from apptest_kit import page_test
    from streamlit.runtime.scriptrunner import script_runner
    from ui import navigation
    from ui.boundaries import cache as bc
    from ui.sequential import views

    marks: dict[str, float] = {}
    run_script = script_runner.ScriptRunner._run_script

    def timed_run(self, *args, **kwargs):
        marks["start"] = time.thread_time()
        try:
            return run_script(self, *args, **kwargs)
        finally:
            marks["end"] = time.thread_time()

    def marked(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            marks["first"] = time.thread_time()
            return fn(*args, **kwargs)
        return wrapper

    script_runner.ScriptRunner._run_script = timed_run
    views.path_chart = marked(views.path_chart)

    def settle() -> None:
        while not all(job.done() for job in bc._slow_jobs().values()):
            time.sleep(0.05)

    at = page_test(navigation.BOUNDARIES, {"x": "0.5", "y": "0.2"})
    at.run(timeout=900)                                   # cold caches: maps, per-model values (not counted)
    settle()
    at.run()
    first, script, process = [], [], []
    for x, y in POINTS:
        at.session_state["px"], at.session_state["py"], at.session_state["point"] = x, y, (x, y)
        start = time.process_time()
        at.run()
        settle()
        process.append(time.process_time() - start)
        first.append(marks["first"] - marks["start"])
        script.append(marks["end"] - marks["start"])
    med = statistics.median
    print(f"{root}: first answer {med(first):.3f} s, whole script {med(script):.3f} s, process until every row "
          f"{med(process):.2f} s (script-thread / process CPU, medians of {len(POINTS)}); "
          f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1]))
