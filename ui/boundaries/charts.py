"""The decision-boundaries page's σ-dependent charts, built once per layout and patched per σ (issue 17, σ step).

A σ step changes a few values of a chart: the smoothed map's title, picture and hover read-out; the radius map's
title, picture, read-out and colour range. Building the whole ``go.Figure`` again for them (graph_objs validation of
the layout and its template, then Streamlit's ``to_dict`` deep copy) was the largest part of a step's script time
(bench/boundaries_rerun.py). So a chart is built once per *layout* — every input but those values, fingerprinted —
by the very builder in ``ui/boundaries/figures.py`` (presenter scaling included) and kept as a dict; a chart of the
same layout at another σ is that dict with the new values put in at their paths. The result is the JSON a fresh
build gives (tests/app/test_app_boundaries.py compares them at two σ), for the price of a few dict copies, and a
chart whose inputs did not change (the base map on a σ step) is sent byte for byte as before. ``Prebuilt`` hands
the dict to ``st.plotly_chart`` without a second validation.
"""
from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from typing import Any, Callable

import numpy as np
import plotly.graph_objects as go
from _plotly_utils.utils import convert_to_base64

from ui.boundaries import figures

KEEP = 32                       # layouts kept (a few models × resolutions × styles × points)
_layouts: OrderedDict[str, dict] = OrderedDict()
_lock = threading.Lock()


class Prebuilt(go.Figure):
    """A figure given as its finished dict (``go.Figure.to_dict()`` of a validated figure, values replaced by
    equally valid ones): ``st.plotly_chart`` takes a ``go.Figure`` as validated and calls ``to_dict``, which returns
    this dict as it is. For ``st.plotly_chart`` only: the graph_objs attributes (``.layout``, ``.data``) are empty."""

    def __init__(self, spec: dict):
        super().__init__(layout={"template": None})        # an empty figure: ~1 ms, no template to validate
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec

    def to_plotly_json(self) -> dict:
        return self._spec


def fingerprint(value: Any) -> str:
    """A digest of ``value``: arrays by dtype, shape and bytes, dataclasses field by field, containers item by item."""
    h = hashlib.blake2b(digest_size=16)

    def feed(v):
        if isinstance(v, np.ndarray):
            h.update(f"nd{v.dtype}{v.shape}".encode())
            h.update(repr(v.tolist()).encode() if v.dtype == object else np.ascontiguousarray(v).tobytes())
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            h.update(type(v).__name__.encode())
            for f in dataclasses.fields(v):
                feed(f.name)
                feed(getattr(v, f.name))
        elif isinstance(v, (tuple, list)):
            h.update(f"{type(v).__name__}{len(v)}(".encode())
            for item in v:
                feed(item)
            h.update(b")")
        else:
            h.update(f"{type(v).__name__}:{v!r};".encode())
    feed(value)
    return h.hexdigest()


def patched(layout: dict, values: dict[tuple, Any]) -> dict:
    """``layout`` with each path (keys and list indices) set to its value; copies only along the paths. Arrays become
    Plotly's typed-array specs, as ``go.Figure.to_dict`` makes them."""
    values = dict(values)
    convert_to_base64(values)
    out = dict(layout)
    for path, value in values.items():
        node = out
        for step in path[:-1]:
            child = node[step]
            child = list(child) if isinstance(child, (list, tuple)) else dict(child)
            node[step] = child
            node = child
        node[path[-1]] = value
    return out


def layout(layout_key: str, build: Callable[[], go.Figure]) -> dict:
    """The figure dict kept under ``layout_key`` (``build().to_dict()``, built only when the key is new): patch it
    with ``patched`` and every value the key leaves out, and it is the chart ``build`` gives for those values."""
    with _lock:
        kept = _layouts.get(layout_key)
        if kept is not None:
            _layouts.move_to_end(layout_key)
    if kept is None:
        kept = build().to_dict()
        with _lock:
            _layouts[layout_key] = kept
            while len(_layouts) > KEEP:
                _layouts.popitem(last=False)
    return kept


def map_chart(spec: figures.MapSpec, scale: Callable[[go.Figure], go.Figure], scale_key: str) -> Prebuilt:
    """``scale(figures.map_figure(spec))``; ``scale_key`` names what ``scale`` does (e.g. presenter on or off).
    Per σ: the title, the regions' picture and the read-out's values (p_A, class names, exact radius)."""
    r = spec.readout
    shape = None if r is None else dataclasses.replace(r, p_a=None, text=None, radius=r.radius is not None)
    key = fingerprint(("map", scale_key, spec.revision or spec.title,     # the uirevision: σ-free where set
                       dataclasses.replace(spec, title="", image="", readout=shape)))
    kept = layout(key, lambda: scale(figures.map_figure(spec)))
    values = {("layout", "title", "text"): spec.title, ("layout", "images", 0, "source"): spec.image}
    if r is not None:
        i = next(i for i, t in enumerate(kept["data"]) if t.get("name") == figures.READOUT_NAME)
        values.update({("data", i, "z"): r.p_a, ("data", i, "text"): r.text})
        if r.radius is not None:        # f's read-out has none (its layout has none either: part of the key)
            values[("data", i, "customdata")] = r.radius
    return Prebuilt(patched(kept, values))


def radius_chart(view, radius: np.ndarray, sigma: float, selected, image: str) -> Prebuilt:
    """``figures.radius_figure(view, radius, sigma, selected, image)``. Per σ: the title, the picture, the read-out's
    exact radii and the colour range [0, 4σ]."""
    key = fingerprint(("radius", view, selected))
    kept = layout(key, lambda: figures.radius_figure(view, radius, sigma, selected, image))
    return Prebuilt(patched(kept, {                  # the heatmap read-out is the figure's first trace
        ("layout", "title", "text"): figures.radius_title(sigma),
        ("layout", "images", 0, "source"): image,
        ("data", 0, "z"): figures.radius_readout(view, radius)[2],
        ("data", 0, "zmax"): 4 * sigma}))
