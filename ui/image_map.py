"""A map drawn without Plotly: the exact picture (a PNG), its axes, title and colour bar as SVG, a hover read-out and
clicks as data coordinates (issue 17: a first load within 3 s).

Why: a first load that shows any ``st.plotly_chart`` makes the browser fetch Streamlit's Plotly chunk (4.7 MB),
evaluate it (0.8–2.5 s of one long task on the renderer's main thread here) and draw each chart (0.3–1.5 s each):
seconds after the script has finished, and the maps of Per-input σ appeared 2–9 s after the page went idle
(bench/RESULTS.md, "loads7"). A page whose first screen holds only these maps needs no Plotly at all: the picture
is the same PNG the Plotly map showed as its layout image, and the rest is a few SVG elements.

``MapPicture`` (frozen, pure data: ``ui/<page>/figures.py`` builds it) says what to draw; ``draw`` mounts it as an
inline ``st.components.v2`` component (in the page, in a shadow root of its own: no iframe, no network), which
renders the SVG, shows the read-out of the lattice value under the pointer and sends a click (pointer down and up
within a few pixels) as ``{"clicked": {"x": .., "y": ..}}`` (``clicked`` reads it): the exact data coordinates
under the pointer, not a lattice point. The element carries
``data-scale-top`` (the colour bar's top) and ``data-value-max`` (the largest read-out value) for the browser tests.
``LineChart`` is the same drawing without a picture and with a free aspect: ``Line``s (markers, dashes, a text at
their end, hover texts per point) over axes, a legend below (``LegendEntry``, under a MapPicture too).
"""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import streamlit as st

from ui import theme

WIDTH, HEIGHT = 380, 480                          # the SVG's coordinate box; it scales to its column's width
MARGIN = dict(l=52, r=10, t=50, b=120)            # as the Plotly maps it replaces: ticks, x title, colour bar below
FONT, FONT_PRESENTER = 15, 20                     # px: tick labels (titles +3); presenter mode ×1.3, as its text


@dataclass(frozen=True)
class Readout:
    """Hover values on a lattice: ``values[i][j]`` at (x0 + j·dx, y0 + i·dy), read from the exact map's pixels.

    The read-out under the pointer is its coordinates, then ``class_label: <b>class</b>`` when ``classes`` are given
    (``classes[i][j]`` indexes ``class_names``), then ``label value`` (none when ``values`` is empty), then a line
    per ``more`` entry, (label, values, format) like ``label``, ``values`` and ``format``."""
    x0: float
    dx: float
    y0: float
    dy: float
    values: tuple           # (L, L) floats, rows or an array (NaN: no value); () for none
    label: str              # e.g. "radius"
    format: str = ".3f"     # how a value reads: ".3f" (3 decimals), ".1%" (a percentage) or "d" (an integer)
    classes: tuple = ()     # (L, L) class indices, rows or an array; () for none
    class_names: tuple = ()
    class_label: str = ""   # e.g. "g" (the smoothed classifier's class)
    more: tuple = ()        # further lines: (label, (L, L) floats, format)


@dataclass(frozen=True)
class ColourBar:
    """A horizontal colour bar under the map: ``colours`` evenly spaced from left to right, ``ticks`` as
    (fraction of its length, text), ``label`` at its right end."""
    colours: tuple
    ticks: tuple
    label: str


@dataclass(frozen=True)
class Points:
    """Markers over the picture at (``xs[i]``, ``ys[i]``) in data units: ``symbol`` 'dot', 'x', 'star' (outlined in
    black), 'circle-open' or 'diamond-open' (a ring or a diamond in ``colour``), ``size`` in px, in ``colour``;
    ``outline``: a thin ring of that colour around a dot (white: the dot stands out on any region)."""
    xs: tuple
    ys: tuple
    symbol: str = "dot"
    size: float = 8
    colour: str = theme.BLACK
    opacity: float = 1.0
    outline: str = ""


@dataclass(frozen=True)
class Circle:
    """A circle of radius ``r`` (data units) around (``x``, ``y``), a ``width`` px line in ``colour``."""
    x: float
    y: float
    r: float
    colour: str = theme.BLACK
    width: float = 2
    dash: str = ""          # an SVG stroke-dasharray ("8 5": dashed), "" solid


@dataclass(frozen=True)
class Line:
    """A polyline through (``xs[i]``, ``ys[i]``) in data units, ``width`` px in ``colour`` (``dash``: an SVG
    stroke-dasharray), with a ``marker`` px dot at each point (0: none; ``end_x``: an × of that size at the last
    point instead), ``hover[i]`` the read-out near point i (empty: none) and ``text`` written at its last point."""
    xs: tuple
    ys: tuple
    colour: str = theme.BLACK
    width: float = 2
    dash: str = ""
    marker: float = 0
    end_x: float = 0
    hover: tuple = ()
    text: str = ""


@dataclass(frozen=True)
class LegendEntry:
    """One legend item under the picture: ``text`` after a swatch, a line ('line', ``dash`` as for Line), a 'dot',
    an 'x', a 'line+dot', a 'square' (a region's colour) or a Points symbol ('circle-open', 'diamond-open',
    'star') in ``colour``."""
    text: str
    colour: str
    kind: str = "line"
    dash: str = ""


def _coordinates(values) -> list[float]:
    """Data coordinates for the JSON, to 5 decimals (a hundredth of a pixel on any of these maps)."""
    return np.round(np.asarray(values, dtype=float), 5).tolist()


def _ticks(lo: float, hi: float, fmt: str) -> list[list]:
    """[value, label] of ``nice_ticks(lo, hi)``, each label ``format(value, fmt)``."""
    return [[v, format(v, fmt)] for v in nice_ticks(lo, hi)]


def _shapes(lines: tuple, legend: tuple) -> dict:
    """The JSON of ``Line``s and ``LegendEntry``s (shared by MapPicture and LineChart)."""
    return {"lines": [{"xs": [float(v) for v in ln.xs], "ys": [float(v) for v in ln.ys], "colour": ln.colour,
                       "width": ln.width, "dash": ln.dash, "marker": ln.marker, "end_x": ln.end_x,
                       "hover": list(ln.hover), "text": ln.text} for ln in lines],
            "legend": [[e.text, e.colour, e.kind, e.dash] for e in legend]}


@dataclass(frozen=True)
class MapPicture:
    """Everything the browser draws for one map. Bounds are (xmin, xmax, ymin, ymax) in data units; the picture is
    ``image`` (a PNG data URI) stretched over ``image_bounds``; the axes show ``bounds`` with equal scales."""
    image: str
    image_bounds: tuple
    bounds: tuple
    title: str
    xlabel: str = "x₁"
    ylabel: str = "x₂"
    colour_bar: ColourBar | None = None
    readout: Readout | None = None
    points: tuple = ()                   # Points, drawn in order over the picture (and over the circles)
    circles: tuple = ()                  # Circle
    lines: tuple = ()                    # Line, drawn over the circles, under the points
    legend: tuple = ()                   # LegendEntry, in a row under the picture
    image_opacity: float = 1.0
    box: tuple = (WIDTH, HEIGHT)         # the SVG's size in px at most (it shrinks to a narrower column)
    margin: tuple = (MARGIN["l"], MARGIN["r"], MARGIN["t"], MARGIN["b"])    # around the square plot area
    font: float = FONT                   # tick labels, px; axis titles +2, the title +3
    scale_top: float | None = None       # the colour scale's top value (data-scale-top, for tests)

    def data(self) -> dict:
        """The component's JSON data: the picture, its layout in SVG units and the ticks."""
        xmin, xmax, ymin, ymax = self.bounds
        (width, height), (ml, mr, mt, mb) = self.box, self.margin
        yticks = [[v, f"{v:g}"] for v in nice_ticks(ymin, ymax)]
        ml = max(ml, labels_width(yticks, self.font) + self.font + 18)     # larger (presenter) labels fit
        side = min(width - ml - mr, height - mt - mb)
        left = ml + (width - ml - mr - side) / 2
        bar = self.colour_bar
        values = None if self.readout is None or not len(self.readout.values) else np.asarray(self.readout.values,
                                                                                               dtype=float)
        return {
            "box": [width, height], "plot": [left, mt, side, side], "font": self.font, "image": self.image,
            "bounds": [float(v) for v in self.bounds], "image_bounds": [float(v) for v in self.image_bounds],
            "title": self.title,
            "xlabel": self.xlabel, "ylabel": self.ylabel, "family": theme.FONT["family"], "dark": theme.DARK,
            "image_opacity": self.image_opacity,
            "points": [{"xs": _coordinates(m.xs), "ys": _coordinates(m.ys), "symbol": m.symbol,
                        "size": m.size, "colour": m.colour, "opacity": m.opacity, "outline": m.outline}
                       for m in self.points],
            "circles": [[float(c.x), float(c.y), float(c.r), c.colour, c.width, c.dash] for c in self.circles],
            "xticks": _ticks(xmin, xmax, "g"), "yticks": _ticks(ymin, ymax, "g"), **_shapes(self.lines, self.legend),
            "bar": None if bar is None else {"colours": list(bar.colours), "ticks": [list(t) for t in bar.ticks],
                                             "label": bar.label},
            "readout": None if self.readout is None else self.readout_data(),
            "scale_top": self.scale_top,
            "value_max": None if values is None or not np.isfinite(values).any() else float(np.nanmax(values)),
        }

    def readout_data(self) -> dict:
        """The read-out's grids packed (``_packed``): one string each instead of L² JSON numbers, which Streamlit
        serialised, hashed and scanned for dataframes on every run (most of a σ step's script time)."""
        r = self.readout
        grid = np.asarray(r.values if len(r.values) else r.classes)
        return {"x0": r.x0, "dx": r.dx, "y0": r.y0, "dy": r.dy, "shape": list(grid.shape[:2]),
                "rows": _packed(r.values, np.float32), "label": r.label, "format": r.format,
                "classes": _packed(r.classes, np.uint16), "class_names": list(r.class_names),
                "class_label": r.class_label,
                "more": [{"label": label, "rows": _packed(rows, np.float32), "format": fmt} for label, rows, fmt in r.more]}


def _packed(values, dtype) -> str | None:
    """(L, L) values as base64 of their little-endian ``dtype`` bytes, row after row (NaN: no value); None for none.
    The JavaScript reads them back with ``unpack`` (a Float32Array or Uint16Array)."""
    if not len(values):
        return None
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()).decode()


@dataclass(frozen=True)
class LineChart:
    """A chart of ``Line``s over axes without Plotly (the same component as ``MapPicture``, no picture, free aspect):
    ``bounds`` (xmin, xmax, ymin, ymax) in data units, tick labels ``format(value, xformat / yformat)``, hover
    read-outs from each Line's ``hover`` (the nearest point within a few px of the pointer), the legend below."""
    bounds: tuple
    title: str
    xlabel: str
    ylabel: str
    lines: tuple
    legend: tuple = ()
    xformat: str = "g"
    yformat: str = "g"
    box: tuple = (460, 400)          # px at most; ~ a half-page column at 1600 px and in presenter mode at 1280
    margin: tuple = (78, 14, 50, 62)
    font: float = FONT

    def data(self) -> dict:
        xmin, xmax, ymin, ymax = self.bounds
        (width, height), (ml, mr, mt, mb) = self.box, self.margin
        yticks = _ticks(ymin, ymax, self.yformat)
        gap = labels_width(yticks, self.font) + 20                                  # the y title left of the ticks
        ml = max(ml, gap + self.font + 8)                                           # and inside the box
        return {"box": [width, height], "plot": [ml, mt, width - ml - mr, height - mt - mb],
                "bounds": [float(v) for v in self.bounds], "font": self.font, "image": None, "title": self.title,
                "xlabel": self.xlabel, "ylabel": self.ylabel, "family": theme.FONT["family"], "dark": theme.DARK,
                "ylabel_gap": gap,
                "points": [], "circles": [], "xticks": _ticks(xmin, xmax, self.xformat), "yticks": yticks,
                **_shapes(self.lines, self.legend), "bar": None, "readout": None, "scale_top": None,
                "value_max": None}


def labels_width(ticks, font: float) -> float:
    """About how wide, in px, the widest of the tick labels ``ticks`` ((value, text) pairs) is at ``font`` px."""
    return 0.6 * font * max((len(t) for _, t in ticks), default=1)


def nice_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round tick values inside [lo, hi], at most ``most`` of them (steps of 1, 2 or 5 × 10^k, as Plotly picks)."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    count = int(math.floor((hi - first) / step + 1e-9)) + 1
    return [round(first + i * step, 12) + 0.0 for i in range(count)]


_JS = r"""
const two = v => (Math.abs(v) < 0.005 ? 0 : v).toFixed(2);     // no "-0.00"
const esc = s => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
function mark(m, x, y) {       // one marker of a Points group at SVG (x, y)
  const r = m.size / 2, look = `fill="${m.colour}" fill-opacity="${m.opacity}"`;
  const open = `fill="none" stroke="${m.colour}" stroke-width="2.5" stroke-opacity="${m.opacity}"`;
  if (m.symbol === "x") return `<path d="M${x - r},${y - r}L${x + r},${y + r}M${x - r},${y + r}L${x + r},${y - r}"
    stroke="${m.colour}" stroke-width="${Math.max(2, r / 2)}" stroke-opacity="${m.opacity}"/>`;
  if (m.symbol === "circle-open") return `<circle cx="${x}" cy="${y}" r="${r - 1}" ${open}/>`;
  if (m.symbol === "diamond-open") return `<path d="M${x},${y - r - 1}L${x + r + 1},${y}L${x},${y + r + 1}L${x - r - 1},${y}Z" ${open}/>`;
  if (m.symbol !== "star") return `<circle cx="${x}" cy="${y}" r="${r}" ${look}${m.outline ? ` stroke="${m.outline}" stroke-width="1.2"` : ""}/>`;
  const p = [];
  for (let k = 0; k < 10; k++) { const q = k % 2 ? 0.4 * r : r, a = Math.PI * (k / 5 - 0.5);
    p.push(`${(x + q * Math.cos(a)).toFixed(1)},${(y + q * Math.sin(a)).toFixed(1)}`); }
  return `<polygon class="imap-star" points="${p.join(" ")}" ${look} stroke="#000" stroke-width="2"/>`;
}
function swatch([text, c, kind, dash]) {     // one legend entry: its swatch and text
  const line = `<line x1="2" x2="30" y1="8" y2="8" stroke="${c}" stroke-width="3" stroke-dasharray="${dash}"/>`;
  const dot = `<circle cx="16" cy="8" r="5" fill="${c}"/>`;
  const x = `<path d="M11,3L21,13M11,13L21,3" stroke="${c}" stroke-width="2.5"/>`;
  const square = `<rect x="8" y="1" width="14" height="14" fill="${c}" stroke="#333" stroke-width="1"/>`;
  const symbol = ["circle-open", "diamond-open", "star"].includes(kind) ? mark({ symbol: kind, size: 11, colour: c, opacity: 1 }, 16, 8) : null;
  const inner = symbol ?? (kind === "dot" ? dot : kind === "x" ? x : kind === "line+dot" ? line + dot : kind === "square" ? square : line);
  return `<span style="white-space:nowrap"><svg width="32" height="16" style="vertical-align:-2px">${inner}</svg> ${esc(text)}</span>`;
}
function polyline(ln, px, py) {   // a Line: its path, markers and text
  const pts = ln.xs.map((x, i) => `${px(x).toFixed(1)},${py(ln.ys[i]).toFixed(1)}`), o = [];
  o.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${ln.colour}" stroke-width="${ln.width}"
    stroke-dasharray="${ln.dash}" stroke-linejoin="round"/>`);
  if (ln.marker) ln.xs.forEach((x, i) => o.push(`<circle cx="${px(x)}" cy="${py(ln.ys[i])}" r="${ln.marker / 2}" fill="${ln.colour}"/>`));
  const n = ln.xs.length - 1;
  if (ln.end_x) o.push(mark({ symbol: "x", size: ln.end_x, colour: ln.colour, opacity: 1 }, px(ln.xs[n]), py(ln.ys[n])));
  return o.join("");
}
function svg(d) {
  const [W, H] = d.box, [L, T, SW, SH] = d.plot, [x0, x1, y0, y1] = d.bounds, S = SW;
  const px = x => L + (x - x0) / (x1 - x0) * SW, py = y => T + (y1 - y) / (y1 - y0) * SH;
  const F = d.font, out = [`<svg viewBox="0 0 ${W} ${H}" width="100%" style="display:block;max-width:${W}px;margin:auto;font-family:${esc(d.family)};fill:${d.dark}">`,
    `<defs><clipPath id="c-${d.uid}"><rect x="${L}" y="${T}" width="${SW}" height="${SH}"/></clipPath></defs>`,
    `<text class="imap-title" x="${L + SW / 2}" y="${T - 18}" text-anchor="middle" font-size="${F + 3}">${esc(d.title)}</text>`,
    `<g clip-path="url(#c-${d.uid})">`];
  if (d.image) { const [ix0, ix1, iy0, iy1] = d.image_bounds;
    out.push(`<image href="${d.image}" x="${px(ix0)}" y="${py(iy1)}" width="${px(ix1) - px(ix0)}"
       height="${py(iy0) - py(iy1)}" preserveAspectRatio="none" opacity="${d.image_opacity}" style="image-rendering:pixelated"/>`); }
  for (const [cx, cy, r, c, w, dash] of d.circles) out.push(`<ellipse cx="${px(cx)}" cy="${py(cy)}" rx="${r / (x1 - x0) * SW}"
    ry="${r / (y1 - y0) * SH}" fill="none" stroke="${c}" stroke-width="${w}" stroke-dasharray="${dash}"/>`);
  for (const ln of d.lines) out.push(polyline(ln, px, py));
  for (const m of d.points) m.xs.forEach((x, i) => out.push(mark(m, px(x), py(m.ys[i]))));
  out.push("</g>");
  for (const ln of d.lines) if (ln.text) out.push(`<text class="imap-line-text" x="${px(ln.xs[ln.xs.length - 1]) + 4}"
    y="${py(ln.ys[ln.ys.length - 1]) + F}" font-size="${F}">${esc(ln.text)}</text>`);
  for (const [v, t] of d.xticks) out.push(`<line x1="${px(v)}" x2="${px(v)}" y1="${T + SH}" y2="${T + SH + 5}" stroke="${d.dark}"/>`,
    `<text x="${px(v)}" y="${T + SH + F + 7}" text-anchor="middle" font-size="${F}">${esc(t.replace("-", "−"))}</text>`);
  for (const [v, t] of d.yticks) out.push(`<line x1="${L - 5}" x2="${L}" y1="${py(v)}" y2="${py(v)}" stroke="${d.dark}"/>`,
    `<text x="${L - 8}" y="${py(v) + F / 3}" text-anchor="end" font-size="${F}">${esc(t.replace("-", "−"))}</text>`);
  out.push(`<text x="${L + SW / 2}" y="${T + SH + 2 * F + 16}" text-anchor="middle" font-size="${F + 2}">${esc(d.xlabel)}</text>`,
    `<text class="imap-ylabel" transform="translate(${L - (d.ylabel_gap ?? 2 * F + 8)} ${T + SH / 2}) rotate(-90)" text-anchor="middle" font-size="${F + 2}">${esc(d.ylabel)}</text>`);
  if (d.bar) {
    const bx = L + 0.05 * S, bw = 0.75 * S, by = H - 48, stops = d.bar.colours.map((c, i, a) =>
      `<stop offset="${i / Math.max(a.length - 1, 1)}" stop-color="${c}"/>`).join("");
    out.push(`<defs><linearGradient id="g-${d.uid}">${stops}</linearGradient></defs>`,
      `<rect class="imap-bar" x="${bx}" y="${by}" width="${bw}" height="14" fill="url(#g-${d.uid})"/>`,
      `<text class="imap-bar-label" x="${bx + bw + 8}" y="${by + 12}" font-size="16">${esc(d.bar.label)}</text>`);
    for (const [f, t] of d.bar.ticks) out.push(`<line x1="${bx + f * bw}" x2="${bx + f * bw}" y1="${by + 14}" y2="${by + 19}" stroke="${d.dark}"/>`,
      `<text class="imap-bar-tick" x="${bx + f * bw}" y="${by + 34}" text-anchor="middle" font-size="14">${esc(t)}</text>`);
  }
  out.push(`<rect class="imap-plot" x="${L}" y="${T}" width="${SW}" height="${SH}" fill="none" stroke="${d.dark}"
            stroke-width="1" style="pointer-events:all;cursor:${d.clickable ? "crosshair" : "default"}"/></svg>`);
  if (d.legend.length) out.push(`<div class="imap-legend" style="display:flex;flex-wrap:wrap;justify-content:center;gap:2px 18px;
    max-width:${W}px;margin:2px auto 0;font-family:${esc(d.family)};font-size:${F}px">${d.legend.map(swatch).join("")}</div>`);
  return out.join("");
}
function value(v, f) {         // a read-out value in the Readout's format
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return f.endsWith("%") ? `${(100 * v).toFixed(+f.slice(1, -1) || 0)}%` : f === "d" ? String(Math.round(v))
                         : v.toFixed(+f.slice(1, -1));
}
function unpack(b64, Type) {   // a packed grid (ui/image_map.py _packed) as a typed array, row after row
  if (!b64) return null;
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  return new Type(bytes.buffer);
}
function readout(r, p) {       // the lattice values under data point p
  const g = (r.grids ??= { rows: unpack(r.rows, Float32Array), classes: unpack(r.classes, Uint16Array),
                           more: (r.more ?? []).map(m => unpack(m.rows, Float32Array)) });
  const [n, m] = r.shape;
  const i = Math.min(n - 1, Math.max(0, Math.round((p.y - r.y0) / r.dy)));
  const j = Math.min(m - 1, Math.max(0, Math.round((p.x - r.x0) / r.dx)));
  const k = i * m + j, lines = [`(${two(p.x)}, ${two(p.y)})`];
  if (g.classes) lines.push(`${esc(r.class_label)}: <b>${esc(r.class_names[g.classes[k]])}</b>`);
  if (g.rows) lines.push(`${esc(r.label)} ${value(g.rows[k], r.format || ".3f")}`);
  (r.more ?? []).forEach((e, q) => lines.push(`${esc(e.label)} ${value(g.more[q][k], e.format || ".3f")}`));
  return lines.join("<br>");
}
function nearest(d, e) {       // the hover text of the Line point nearest the pointer, within 16 px, or null
  const b = e.target.getBoundingClientRect(), [x0, x1, y0, y1] = d.bounds;
  let best = null, far = 16;
  for (const ln of d.lines) ln.hover.forEach((t, i) => {
    const dist = Math.hypot(b.left + (ln.xs[i] - x0) / (x1 - x0) * b.width - e.clientX,
                            b.top + (y1 - ln.ys[i]) / (y1 - y0) * b.height - e.clientY);
    if (t && dist < far) { far = dist; best = t; }
  });
  return best === null ? null : esc(best).replace(/\n/g, "<br>");
}
export default function ({ data, parentElement, setTriggerValue }) {
  let root = parentElement.querySelector(".imap");
  if (!root) {
    root = document.createElement("div");
    root.className = "imap";
    root.style.position = "relative";
    parentElement.appendChild(root);
  }
  // the same drawing but for the picture, the title and the read-out (a σ step on the smoothed map): swap those in
  // place instead of rebuilding every node (hundreds of data points), the tooltip and the listeners stay
  const layout = JSON.stringify({ ...data, image: null, title: null, readout: null, value_max: null });
  const same = root.__imap?.layout === layout;
  root.__imap = { data, send: setTriggerValue, layout };
  root.dataset.valueMax = data.value_max ?? "";
  if (same) {
    root.querySelector(".imap image")?.setAttribute("href", data.image);
    const title = root.querySelector(".imap-title");
    if (title) title.textContent = data.title;
    return;
  }
  root.innerHTML = svg(data) + '<div class="imap-tip" style="position:absolute;display:none;pointer-events:none;' +
    'background:#fff;border:1px solid #888;border-radius:3px;padding:2px 6px;font-size:15px;white-space:nowrap"></div>';
  const ylabel = root.querySelector(".imap-ylabel");     // a y title longer than the plot is squeezed to fit
  if (ylabel && ylabel.getComputedTextLength() > data.plot[3]) {
    ylabel.setAttribute("textLength", data.plot[3]);
    ylabel.setAttribute("lengthAdjust", "spacingAndGlyphs");
  }
  root.dataset.scaleTop = data.scale_top ?? "";
  if (root.__wired) return;
  root.__wired = true;
  const at = e => {             // the data coordinates under the pointer, or null outside the plot area
    const plot = root.querySelector(".imap-plot"), d = root.__imap.data;
    if (!plot || !e.target.closest || !e.target.closest(".imap-plot")) return null;
    const b = plot.getBoundingClientRect(), [x0, x1, y0, y1] = d.bounds;
    return { x: x0 + (e.clientX - b.left) / b.width * (x1 - x0), y: y1 - (e.clientY - b.top) / b.height * (y1 - y0) };
  };
  root.addEventListener("pointermove", e => {
    const tip = root.querySelector(".imap-tip"), p = at(e), d = root.__imap.data, r = d.readout;
    const text = !p ? null : r ? readout(r, p) : nearest(d, e);
    if (text === null) { tip.style.display = "none"; return; }
    const box = root.getBoundingClientRect();
    tip.innerHTML = text + (d.clickable ? "<br><i>click to inspect</i>" : "");
    tip.style.left = `${e.clientX - box.left + 14}px`;
    tip.style.top = `${e.clientY - box.top + 14}px`;
    tip.style.display = "block";
  });
  root.addEventListener("pointerleave", () => { root.querySelector(".imap-tip").style.display = "none"; });
  let down = null;
  root.addEventListener("pointerdown", e => { down = e.button === 0 ? { x: e.clientX, y: e.clientY, t: performance.now() } : null; });
  root.addEventListener("pointerup", e => {
    const d = down, p = at(e);
    down = null;
    if (!d || !p || !root.__imap.data.clickable || Math.hypot(e.clientX - d.x, e.clientY - d.y) > 4 || performance.now() - d.t > 1500) return;
    root.__imap.send("clicked", p);
  });
}
"""
_COMPONENT = st.components.v2.component("image_map", js=_JS)


def clicked(event) -> tuple[float, float] | None:
    """The (x, y) of a component event ``{"clicked": {"x": .., "y": ..}}``, or None when it holds no finite click."""
    value = (event or {}).get("clicked") if hasattr(event, "get") else None
    try:
        x, y = float(value["x"]), float(value["y"])
    except (TypeError, KeyError, ValueError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def draw(key: str, picture: MapPicture | LineChart, on_click: Callable[[float, float], None] | None = None) -> None:
    """Mount ``picture`` under the widget key ``key`` (element class ``st-key-<key>``); ``on_click(x, y)`` runs as
    the widget callback of a click on the plot area, before the rerun it starts."""
    def callback() -> None:
        point = clicked(st.session_state.get(key))
        if point is not None and on_click is not None:
            on_click(*point)
    _COMPONENT(key=key, data={**picture.data(), "uid": key, "clickable": on_click is not None},
               on_clicked_change=callback)
