"""Bytes of figure JSON the decision-boundaries page sends per rerun (in-process, Streamlit's AppTest, no browser):
the first visit, a σ step and a selected point. Independent of the machine's load, unlike the browser's times
(bench/interaction_latency.py); Streamlit sends a chart whose spec did not change by reference, and the browser
skips redrawing it, so the bytes of the charts that changed are what a σ step costs the browser.

    python bench/boundaries_payload.py
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("CERT_EXPLORER_WARMUP", "0")


def main() -> None:
    logging.disable(logging.WARNING)
    from apptest_kit import page_test
    from ui import navigation
    at = page_test(navigation.BOUNDARIES)
    seen: set[str] = set()
    print("| run | chart | spec kB | changed |\n|---|---|---|---|")
    for label, change in (("first visit", {}), ("σ step 0.25 → 0.30", {"sigma": 0.3}),
                          ("point (0.5, 0.3) selected", {"point": (0.5, 0.3)})):
        for key, value in change.items():
            at.session_state[key] = value
        at.run(timeout=600)
        changed = 0
        for i, chart in enumerate(at.get("plotly_chart")):
            spec = chart.proto.spec
            new = spec not in seen
            changed += len(spec) * new
            print(f"| {label} | {i} | {len(spec) / 1e3:.0f} | {'yes' if new else 'no'} |")
            seen.add(spec)
        print(f"| {label} | **changed charts, total** | **{changed / 1e3:.0f}** | |")


if __name__ == "__main__":
    main()
