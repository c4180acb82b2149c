"""Bytes of figure JSON a page's first visit (and a σ step) sends, per chart, with its trace types (in-process,
Streamlit's AppTest, no browser; independent of the machine's load). What the browser must parse and draw on a
first load: a 150×150 float heatmap is ~0.5 MB of JSON; 3D scenes (surface traces) are WebGL, which headless
Chromium renders in software.

    python bench/page_payload.py [--pages ddrs,paths,margin] [--sigma-step]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("CERT_EXPLORER_WARMUP", "0")


def chart_rows(at, seen: set[str]) -> tuple[list[str], int, int]:
    rows, total, changed = [], 0, 0
    for i, chart in enumerate(at.get("plotly_chart")):
        spec = chart.proto.spec
        traces = json.loads(spec).get("data", [])
        kinds = ",".join(sorted({t.get("type", "scatter") for t in traces}))
        new = spec not in seen
        seen.add(spec)
        total += len(spec)
        changed += len(spec) * new
        rows.append(f"| {i} | {len(traces)} | {kinds} | {len(spec) / 1e3:.0f} | {'yes' if new else 'no'} |")
    return rows, total, changed


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", default="ddrs,paths,margin")
    ap.add_argument("--sigma-step", action="store_true", help="also a σ step 0.25 → 0.26 on each page")
    a = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    from apptest_kit import page_test
    from ui import navigation
    pages = {p.key: p for p in navigation.PAGES}
    for key in a.pages.split(","):
        at = page_test(pages[key])
        seen: set[str] = set()
        runs = [("first visit", {})] + ([("σ step", {"sigma": 0.26})] if a.sigma_step else [])
        for label, change in runs:
            for k, v in change.items():
                at.session_state[k] = v
            at.run(timeout=900)
            rows, total, changed = chart_rows(at, seen)
            print(f"\n/{key}, {label}: {len(rows)} charts, {total / 1e3:.0f} kB of figure JSON "
                  f"({changed / 1e3:.0f} kB changed)\n| chart | traces | types | kB | changed |\n|---|---|---|---|---|")
            print("\n".join(rows))


if __name__ == "__main__":
    main()
