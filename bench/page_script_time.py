"""Seconds the page *script* takes (in-process, Streamlit's AppTest, no browser): a first run on cold caches, then σ
steps, optionally after the page slice's start-up warm-up. Separates the server's compute from what the browser
benchmark (bench/interaction_latency.py) adds on top.

    python bench/page_script_time.py ddrs [--warm] [--sigmas 0.26,0.27]
    python bench/page_script_time.py margin --model digits-ortho-mscr-s0.1 --sigmas ""
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("CERT_EXPLORER_WARMUP", "0")      # only what --warm asks for


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("page", help="a page key of ui/navigation.PAGES (ddrs, margin, ...)")
    ap.add_argument("--model", default="", help="a zoo model name (default: the app's default model)")
    ap.add_argument("--sigmas", default="0.26,0.27", help="comma list of σ values to step to after the first run")
    ap.add_argument("--warm", action="store_true", help="run the slice's warm() and warm_later() after the first run")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    import importlib

    from apptest_kit import page_test
    from ui import navigation
    page = next(p for p in navigation.PAGES if p.key == args.page)
    at = page_test(page, **({"model_key": f"zoo:{args.model}"} if args.model else {}))
    start = time.perf_counter()
    at.run(timeout=900)
    print(f"first run (cold caches): {time.perf_counter() - start:.2f} s; exceptions: {len(at.exception)}")
    if args.warm:
        module = importlib.import_module(f"ui.{args.page}.cache")
        start = time.perf_counter()
        for name in ("warm", "warm_later"):
            getattr(module, name, lambda: None)()
        print(f"warm-up: {time.perf_counter() - start:.2f} s")
    for sigma in filter(None, args.sigmas.split(",")):
        at.session_state["sigma"] = float(sigma)
        start = time.perf_counter()
        at.run(timeout=900)
        print(f"σ step to {sigma}: {time.perf_counter() - start:.2f} s")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
