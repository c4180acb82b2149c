"""What does one σ step on Decision boundaries cost the server's script? (issue 17, "σ step ≤ 0.3 s")

Runs the whole app (router + sidebar + /boundaries, default model, 300 px, no point) in Streamlit's AppTest in
this process and steps the sidebar σ up by one slider step ``--steps`` times, as ArrowRight does (from the default
0.25): prints the median and max script CPU seconds per step (``time.process_time``: this process, so background
threads count too — a precomputing worker's time is charged where it runs; the last figure, all of this process's
CPU from the first measured step to the end, includes the work done between steps) and the wall seconds of the
``AppTest.run`` call. ``--root`` runs another checkout (e.g. /work/main) so before and after are measured by the
same script; run them back to back. ``--profile N`` prints cProfile's top N functions (cumulative) of the steps.

    python bench/boundaries_sigma_step.py [--root /work/main] [--steps 20] [--pause 0.3] [--profile 25]

``--pause``: seconds between steps (a lecturer's key presses are not back to back; a background worker may use
them). Script-side only: the browser's share is in bench/interaction_latency.py (wall, browser and server CPU).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--pause", type=float, default=0.3)
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--warmup", action="store_true", help="let the start-up warm-up run (off by default)")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    os.chdir(root)
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(root / "tests"))
    if not args.warmup:
        os.environ["CERT_EXPLORER_WARMUP"] = "0"
    from apptest_kit import page_test

    from ui import navigation
    at = page_test(navigation.BOUNDARIES, None, 300).run()
    assert not at.exception, [e.value for e in at.exception]
    sigma = float(at.slider(key="sigma").value)
    cpu, wall = [], []
    profiler = None
    if args.profile:            # the script runs in its own thread: profile inside it
        import cProfile

        from streamlit.runtime.scriptrunner import script_runner
        profiler, run_script = cProfile.Profile(), script_runner.ScriptRunner._run_script

        def profiled(self, *a, **k):
            if not measuring[0]:
                return run_script(self, *a, **k)
            profiler.enable()
            try:
                return run_script(self, *a, **k)
            finally:
                profiler.disable()
        script_runner.ScriptRunner._run_script = profiled
    measuring = [False]
    for i in range(args.steps + 2):
        if i == 2:
            total0 = time.process_time()
        time.sleep(args.pause)
        sigma = round(sigma + 0.01, 2)                   # ArrowRight
        at.slider(key="sigma").set_value(sigma)
        measuring[0] = i >= 2
        c0, w0 = time.process_time(), time.perf_counter()
        at.run()
        c1, w1 = time.process_time(), time.perf_counter()
        assert not at.exception, [e.value for e in at.exception]
        if i >= 2:           # the first two steps fill caches every later step shares
            cpu.append(c1 - c0)
            wall.append(w1 - w0)
    time.sleep(args.pause)                      # the last step's background work
    total = (time.process_time() - total0) / args.steps
    print(f"{root}: {args.steps} σ steps, load {' '.join(f'{v:.2f}' for v in os.getloadavg())}: script CPU median "
          f"{statistics.median(cpu):.3f} s (max {max(cpu):.3f}), wall median {statistics.median(wall):.3f} s "
          f"(max {max(wall):.3f}); all CPU incl. background work {total:.3f} s per step")
    if profiler is not None:
        import pstats
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
