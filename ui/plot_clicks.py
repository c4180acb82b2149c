"""A click anywhere in a Plotly map's plot area, sent to Python as the clicked data coordinates.

Streamlit 1.67 reports a click on a ``st.plotly_chart`` only as a *selected trace point*, so a map took clicks
through a lattice of thousands of invisible scatter markers that Plotly restyled on every redraw: on a σ step of the
decision-boundaries page that lattice was most of the browser's and of the server's work (bench/RESULTS.md,
"Decision boundaries: where a σ step's time goes"). This ``st.components.v2`` component (inline JavaScript, served
by the app itself; no build step, no network) listens instead for a plain left click (pointer down and up within a
few pixels, no pan) on the plot area (Plotly's ``.nsewdrag`` rectangle) of the charts whose element matches
``selector``, converts the pointer position with the chart's own axes (``xaxis.p2d`` / ``yaxis.p2d``) and sends
``{"x": ..., "y": ...}`` as the trigger value ``clicked``. A click is thus exact to the pixel instead of snapped to
the lattice.
"""
from __future__ import annotations

import math
from typing import Callable

import streamlit as st

# one document-level listener pair, installed once per browser tab; every mounted instance (one per page using it)
# registers its selector and its current setTriggerValue under its key
_JS = r"""
export default function ({ data, setTriggerValue }) {
  const clicks = (window.__plotClicks ??= { handlers: {}, installed: false });
  clicks.handlers[data.name] = { send: setTriggerValue, selector: data.selector };
  if (clicks.installed) return;
  clicks.installed = true;
  let down = null;
  document.addEventListener("pointerdown", (e) => {
    down = null;
    const drag = e.button === 0 && e.target.closest ? e.target.closest(".nsewdrag") : null;
    if (!drag) return;
    for (const h of Object.values(clicks.handlers)) {
      if (drag.closest(h.selector)) { down = { x: e.clientX, y: e.clientY, t: performance.now(), drag, h }; return; }
    }
  }, true);
  document.addEventListener("pointerup", (e) => {
    const d = down;
    down = null;
    if (!d || Math.hypot(e.clientX - d.x, e.clientY - d.y) > 4 || performance.now() - d.t > 1500) return;
    const plot = d.drag.closest(".js-plotly-plot");
    const layout = plot && plot._fullLayout;
    if (!layout || !layout.xaxis || !layout.yaxis) return;
    const box = d.drag.getBoundingClientRect();
    const x = layout.xaxis.p2d(e.clientX - box.left), y = layout.yaxis.p2d(e.clientY - box.top);
    if (Number.isFinite(x) && Number.isFinite(y)) d.h.send("clicked", { x, y });
  }, true);
}
"""
_COMPONENT = st.components.v2.component("plot_clicks", js=_JS)


def clicked(event) -> tuple[float, float] | None:
    """The (x, y) of a component event ``{"clicked": {"x": .., "y": ..}}``, or None when it holds no finite click."""
    value = (event or {}).get("clicked") if hasattr(event, "get") else None
    try:
        x, y = float(value["x"]), float(value["y"])
    except (TypeError, KeyError, ValueError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def listen(key: str, selector: str, on_click: Callable[[float, float], None]) -> None:
    """Mount the listener (no visible element) for the charts matching the CSS ``selector``; ``on_click(x, y)``
    runs as the widget callback of a click, before the rerun it starts."""
    def callback() -> None:
        point = clicked(st.session_state.get(key))
        if point is not None:
            on_click(*point)
    _COMPONENT(key=key, data={"name": key, "selector": selector}, height=0, on_clicked_change=callback)
