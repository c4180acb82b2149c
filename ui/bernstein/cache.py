"""Cached cert_core calls for the Bernstein page (models passed with a leading underscore, keyed by model key)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from cert_core import grid_view
from cert_core.methods.bernstein import polynomial as bernstein
from cert_core.methods.bernstein import plane as bernstein_plane
from cert_core.methods.bernstein.images import certify_images, pgd_upper_bound, split
from cert_core.metrics import certified_accuracy
from cert_core.models.data import BOX_2D
from cert_core.models.zoo import ZOO
from ui.bernstein import provider
from ui.bernstein.figures import zoom_window
from ui.cache import dataset_from_spec, zoo_model

BOTTLENECKS = tuple(e.name for e in ZOO if e.config.arch == "bottleneck")
MAP_RESOLUTION = 201
ZOOM_RESOLUTION = 161


@st.cache_resource(show_spinner="Evaluating the model on the Bernstein lattice…", max_entries=32)
def plane_poly(model_key: str, _model, bounds: tuple, n: int, smooth: str) -> bernstein.BernsteinPolynomial:
    return bernstein_plane.fit_plane(_model, bounds, n, smooth)


@st.cache_data(show_spinner=False, max_entries=32)
def base_labels(model_key: str, _model, bounds: tuple) -> np.ndarray:
    box = bernstein_plane.unit_box(bounds)
    g = np.linspace(0, 1, MAP_RESOLUTION)
    gx, gy = np.meshgrid(g, g)
    pts = box.to_plane(np.stack([gx.ravel(), gy.ravel()], 1))
    return grid_view.predict_points(_model, pts).reshape(MAP_RESOLUTION, MAP_RESOLUTION)     # (R, R)


@st.cache_data(show_spinner="Smoothing the decision regions…", max_entries=64)
def bernstein_labels(model_key: str, _poly, bounds: tuple, n: int, smooth: str) -> np.ndarray:
    return bernstein_plane.grid_scores(_poly, MAP_RESOLUTION).argmax(0)                              # (R, R)


@st.cache_data(show_spinner=False, max_entries=64)
def zoom_labels(model_key: str, _poly, bounds: tuple, n: int, smooth: str, window: tuple) -> np.ndarray:
    """argmax B_n on a ZOOM_RESOLUTION² grid spanning ``window`` (u1 min, u1 max, u2 min, u2 max).   # (R, R)"""
    gx, gy = np.meshgrid(np.linspace(*window[:2], ZOOM_RESOLUTION), np.linspace(*window[2:], ZOOM_RESOLUTION))
    return _poly(np.stack([gx.ravel(), gy.ravel()], 1)).argmax(1).reshape(ZOOM_RESOLUTION, ZOOM_RESOLUTION)


@st.cache_data(show_spinner="Root-finding, grid distance and Lipschitz certificate…", max_entries=128)
def point_radii(model_key: str, _poly, bounds: tuple, n: int, smooth: str, point: tuple):
    return bernstein_plane.plane_radii(_poly, bounds, point, 401)


@st.cache_data(show_spinner="Certifying the test subset (Algorithm 2 + the sound certificate)…", max_entries=16)
def image_run(model_key: str, _model, _x, _y, size: int, n: int):
    return certify_images(_model, _x, _y, n)


@st.cache_data(show_spinner="Running PGD on the smoothed classifier…", max_entries=16)
def pgd_curve(model_key: str, _model, _x, _y, size: int, n: int, eps_grid: tuple) -> np.ndarray:
    parts = split(_model)
    poly = bernstein.fit(parts.head, n, parts.d)
    with torch.no_grad():
        correct = poly.predict(parts.extractor(torch.as_tensor(_x)).double().numpy()) == _y
    return np.array([float((correct & ~pgd_upper_bound(_model, poly, _x, _y, e, steps=20)).mean())
                     for e in eps_grid])


@st.cache_data(show_spinner="Ablation over n and d (sound certificate only)…", max_entries=8)
def ablation(keys: tuple, _models: tuple, _x, _y, size: int, degrees: tuple, radii: tuple) -> list[dict]:
    """Table 1 / Figure 6 (right): accuracy and sound certified accuracy for each (model, n)."""
    rows = []
    for key, model in zip(keys, _models):
        for n in degrees:
            try:
                run = certify_images(model, _x, _y, n, root_finding=False)
            except ValueError as exc:
                rows.append({"model": key, "d": split(model).d, "n": n, "note": str(exc)})
                continue
            acc = certified_accuracy(run.input_sound_radius, run.correct, np.array(radii))
            rows.append({"model": key, "d": split(model).d, "n": n,
                         "base accuracy": float((run.base_prediction == run.labels).mean()),
                         "Bernstein accuracy": float(run.correct.mean()),
                         **{f"certified @ {r:g}": float(a) for r, a in zip(radii, acc)},
                         "median sound input radius": float(np.median(run.input_sound_radius))})
    return rows


@dataclass(frozen=True)
class PlaneParams:
    n: int                            # Bernstein degree per axis
    smooth: str                       # "logits" (the paper) | "probabilities"
    point: tuple[float, float]        # the point certified, in plane units


@dataclass(frozen=True, eq=False)
class PlaneStudy:
    """Figure 3 and the three radii at the point, on the unit box u = (x + 3) / 6."""
    radii: bernstein_plane.PlaneRadii
    rows: list                        # the inspector's RadiusRows (ui.bernstein.provider.rows)
    u: tuple[float, float]            # the point on the unit box
    window: tuple                     # the zoom panel's extent on the unit box (frames every finite radius)
    base: np.ndarray                  # (R, R) labels of the model
    smoothed: np.ndarray              # (R, R) labels of B_n
    zoom: np.ndarray                  # (r, r) labels of B_n on the window


def plane_study(current, p: PlaneParams) -> PlaneStudy:
    poly = plane_poly(current.key, current.model, BOX_2D, p.n, p.smooth)
    radii = point_radii(current.key, poly, BOX_2D, p.n, p.smooth, p.point)
    rows = provider.rows(p.n, radii)
    u = ((p.point[0] + 3) / 6, (p.point[1] + 3) / 6)
    window = zoom_window(u, [r.radius / 6 for r in rows])
    return PlaneStudy(radii, rows, u, window, base_labels(current.key, current.model, BOX_2D),
                      bernstein_labels(current.key, poly, BOX_2D, p.n, p.smooth),
                      zoom_labels(current.key, poly, BOX_2D, p.n, p.smooth, window))


def bottlenecks(current) -> tuple[list[str], int]:
    """The image pipeline's model choices (the current model if it is not a zoo bottleneck, then the zoo's) and the
    default: the current model if it is a digits bottleneck, else the first zoo bottleneck."""
    zoo = [f"zoo:{b}" for b in BOTTLENECKS]
    options = ([current.key] if current.key not in zoo else []) + zoo
    use_current = current.key in options and current.key.startswith("zoo:digits-bottle")
    return options, options.index(current.key) if use_current else options.index(zoo[0])


def model_and_data(key: str, current):
    """The chosen model and its dataset (a zoo model's own, else the current model's; None if it has none)."""
    if not key.startswith("zoo:"):
        return current.loaded, current.dataset
    loaded = zoo_model(key[4:])
    spec = loaded.metadata.get("dataset")
    return loaded, dataset_from_spec(json.dumps(spec, sort_keys=True)) if spec else current.dataset


def radius_grid(run) -> tuple[np.ndarray, tuple[float, ...]]:
    """The input radii of the certified-accuracy curves (past the largest finite radius, at most 4) and the PGD
    budgets along them."""
    top = float(np.nanmax(np.r_[run.input_sound_radius[np.isfinite(run.input_sound_radius)], run.root_radius, 0.1]))
    grid_r = np.linspace(0, min(top * 1.05, 4.0), 60)
    return grid_r, tuple(float(e) for e in np.linspace(0, grid_r[-1], 7))
