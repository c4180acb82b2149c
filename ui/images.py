"""Decision regions as pictures: numpy in, RGB arrays and PNG data URIs out (no Streamlit here).

A region map is drawn as one PNG per map (``ui.image_map`` stretches it over its data coordinates): a 300 x 300
map then costs ~30 kB instead of megabytes of heatmap JSON, so dragging sigma stays instant. ``lattice_points``
places the maps' hover read-out (a 61 × 61 lattice of values read from the exact maps' pixels). Shared by the
decision-boundaries maps, the per-input σ maps and the model hub's thumbnails. ``value_image`` colours a
per-pixel quantity in a Plotly colour scale (the per-input σ maps: a PNG instead of a heatmap trace).
"""
from __future__ import annotations

import base64
import functools
import io

import numpy as np
import plotly.colors
from PIL import Image

from cert_core.grid_view import GridView
from ui import theme

WHITE = np.array([255, 255, 255], dtype=np.float64)


def boundary_mask(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or upper neighbour has another label (a 1-pixel boundary line)."""  # (R, R)
    m = np.zeros(labels.shape, dtype=bool)
    m[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    m[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return m


def stripes(shape: tuple[int, int], period: int = 8, width: int = 3) -> np.ndarray:
    """Diagonal hatching, for regions that must read as 'no answer' even in greyscale."""
    i, j = np.indices(shape)
    return (i + j) % period < width


def class_tints(labels: np.ndarray, strength: np.ndarray | float) -> np.ndarray:
    """RGB of each pixel: its class colour mixed with white by ``strength`` in [0, 1]."""  # (R, R, 3)
    colors = np.array([theme.hex_rgb(theme.class_color(k)) for k in range(int(labels.max()) + 1)], float)
    s = np.broadcast_to(np.asarray(strength, dtype=float), labels.shape)[..., None]
    return WHITE * (1 - s) + colors[labels] * s


def base_image(labels: np.ndarray) -> np.ndarray:
    rgb = class_tints(labels, 0.42)
    rgb[boundary_mask(labels)] = theme.hex_rgb(theme.DARK)
    return rgb.astype(np.uint8)


def smoothed_image(probs: np.ndarray, abstain_p: float | None = None,
                   base_labels: np.ndarray | None = None) -> np.ndarray:
    """Top class tinted by confidence; p_A < 1/2 hatched dark grey; p_A < ``abstain_p`` hatched light.

    ``base_labels`` adds the base boundary as a dotted line (the overlay view).
    """
    k = probs.shape[0]
    labels = probs.argmax(0)
    p_a = probs.max(0)
    confidence = np.clip((p_a - 1 / k) / (1 - 1 / k), 0, 1)
    rgb = class_tints(labels, 0.15 + 0.55 * confidence)
    hatch = stripes(labels.shape)
    if abstain_p is not None:
        band = (p_a < abstain_p) & hatch
        rgb[band] = 0.55 * rgb[band] + 0.45 * np.array(theme.hex_rgb(theme.GREY))
    never = (p_a < 0.5) & hatch
    rgb[never] = theme.hex_rgb("#5A5A5A")
    rgb[boundary_mask(labels)] = theme.hex_rgb(theme.DARK)
    if base_labels is not None:
        i, j = np.indices(labels.shape)
        dotted = boundary_mask(base_labels) & ((i + j) // 3 % 2 == 0)
        rgb[dotted] = theme.hex_rgb(theme.BLACK)
    return rgb.astype(np.uint8)


def colour_ramp(values: np.ndarray, colors: list[str]) -> np.ndarray:
    """RGB of ``values`` in [0, 1] (clipped) on the colour scale through ``colors`` (hex, evenly spaced stops),
    interpolated linearly per channel as Plotly does, so a colour bar with the same stops reads the picture."""
    stops = np.array([theme.hex_rgb(c) for c in colors], dtype=np.float64)          # (C, 3)
    at = np.linspace(0.0, 1.0, len(colors))
    v = np.clip(values, 0.0, 1.0)
    return np.stack([np.interp(v, at, stops[:, c]) for c in range(3)], -1)       # (*values.shape, 3)


def png_uri(rgb: np.ndarray, upscale: int = 2) -> str:
    """A data URI of ``rgb`` (row 0 = lowest y) as PNG, flipped so north is up."""
    img = np.repeat(np.repeat(rgb[::-1], upscale, 0), upscale, 1)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=False, compress_level=3)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def lattice_points(view: GridView, per_axis: int = 61) -> tuple[np.ndarray, np.ndarray]:
    """Click targets on a coarse lattice, and the map pixel (i, j) under each."""
    xmin, xmax, ymin, ymax = view.bounds
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, per_axis), np.linspace(ymin, ymax, per_axis))
    pts = np.stack([gx.ravel(), gy.ravel()], 1)                           # (L, 2)
    hx, hy = view.spacing
    ij = np.stack([np.rint((pts[:, 1] - ymin) / hy), np.rint((pts[:, 0] - xmin) / hx)], 1).astype(int)
    return pts, ij


def lattice_values(view: GridView, values: np.ndarray, per_axis: int = 61) -> tuple[tuple, np.ndarray]:
    """A map's values at the ``lattice_points``, for a hover read-out: ((x0, dx, y0, dy), the values (..., L, L)),
    lattice point (i, j) at (x0 + j·dx, y0 + i·dy) holding the value of the map pixel under it (no interpolation).
    ``values``: (..., R, R) on the view's grid, row i: y."""
    pts, ij = lattice_points(view, per_axis)
    steps = (float(pts[0, 0]), float(pts[1, 0] - pts[0, 0]), float(pts[0, 1]), float(pts[per_axis, 1] - pts[0, 1]))
    return steps, values[..., ij[:, 0], ij[:, 1]].reshape(*values.shape[:-2], per_axis, per_axis)


@functools.lru_cache(maxsize=8)
def _colour_table(colorscale: str, size: int = 256) -> np.ndarray:
    """``size`` RGB rows sampled from a Plotly colour scale (linear in RGB between its stops, as Plotly's heatmaps)."""
    rows = plotly.colors.sample_colorscale(plotly.colors.get_colorscale(colorscale), np.linspace(0, 1, size))
    return np.array([plotly.colors.unlabel_rgb(c) for c in rows], dtype=np.float64).round().astype(np.uint8)


def colour_stops(colorscale: str, count: int = 11) -> list[str]:
    """``count`` evenly spaced colours of the table ``value_image`` paints with, as CSS rgb(): a colour bar built
    from them (linear between stops) reads the picture."""
    table = _colour_table(colorscale)
    rows = table[np.rint(np.linspace(0, len(table) - 1, count)).astype(int)]
    return [f"rgb({r}, {g}, {b})" for r, g, b in rows]


def value_image(values: np.ndarray, zmin: float, zmax: float, colorscale: str, missing: str = "#BBBBBB") -> np.ndarray:
    """RGB of a per-pixel quantity in a Plotly colour scale over [zmin, zmax] (clipped at both ends, as a heatmap
    with that zmin/zmax draws it); non-finite pixels in ``missing``."""  # (R, R) -> (R, R, 3)
    table = _colour_table(colorscale)
    finite = np.isfinite(values)
    t = np.clip((np.where(finite, values, zmin) - zmin) / max(zmax - zmin, 1e-12), 0, 1)
    rgb = table[np.rint(t * (len(table) - 1)).astype(int)]
    rgb[~finite] = theme.hex_rgb(missing)
    return rgb
