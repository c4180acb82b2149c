"""Bytes of chart JSON the decision-boundaries page sends per rerun (in-process, Streamlit's AppTest, no browser):
the first visit, a σ step and a selected point. Independent of the machine's load, unlike the browser's times
(bench/interaction_latency.py). The charts are the maps (``ui.image_map`` pictures: their component's JSON data,
by widget key) and the inspector's Plotly charts (their figure spec); a chart whose JSON did not change is marked
so, and the bytes of the charts that changed are what a rerun costs the browser.

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
        charts = [(c.proto.id.rsplit("-", 1)[-1], c.proto.json) for c in at.get("bidi_component")
                  if "image_map" in c.proto.component_name]
        charts += [(f"plotly {i}", c.proto.spec) for i, c in enumerate(at.get("plotly_chart"))]
        for name, spec in charts:
            new = spec not in seen
            changed += len(spec) * new
            print(f"| {label} | {name} | {len(spec) / 1e3:.0f} | {'yes' if new else 'no'} |")
            seen.add(spec)
        print(f"| {label} | **changed charts, total** | **{changed / 1e3:.0f}** | |")


if __name__ == "__main__":
    main()
