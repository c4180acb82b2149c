"""Cached cert_core calls for the Bernstein page (models passed with a leading underscore, keyed by model key)."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from cert_core import grid
from cert_core.methods.bernstein import polynomial as bernstein
from cert_core.methods.bernstein import plane as bernstein_plane
from cert_core.methods.bernstein.images import certify_images, pgd_upper_bound, split
from cert_core.metrics import certified_accuracy

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
    return grid.predict_points(_model, pts).reshape(MAP_RESOLUTION, MAP_RESOLUTION)          # (R, R)


@st.cache_data(show_spinner="Smoothing the decision regions…", max_entries=64)
def bernstein_labels(model_key: str, _poly, bounds: tuple, n: int, smooth: str) -> np.ndarray:
    return bernstein.grid_scores(_poly, MAP_RESOLUTION).argmax(0)                              # (R, R)


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
