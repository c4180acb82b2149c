"""Cached cert_core calls for the SRA page (models passed with a leading underscore, keyed by model key)."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import streamlit as st
import torch

from cert_core import grid
from cert_core.methods.margin import sra
from cert_core.methods.lipschitz.bounds import layer_bounds
from cert_core.methods.margin.radii import mcr, mscr_certificate, mscr_closed_form, smoothed_margin_mc
from cert_core.methods.margin.train import MarginTrainConfig, train_margin
from cert_core.models.bundles import ModelConfig, build_model
from cert_core.methods.margin.curves import ReportParams, robustness_report

HEATMAP = pathlib.Path(__file__).resolve().parents[2] / "assets" / "sra_heatmap_moons.json"


@st.cache_data(show_spinner=False, max_entries=64)
def lipschitz_layers(model_key: str, _model, input_shape: tuple):
    """Per-layer bounds, or the ValueError's message for unsupported models."""
    try:
        return layer_bounds(_model, input_shape), None
    except ValueError as exc:
        return None, str(exc)


@st.cache_data(show_spinner="Analysing the point…", max_entries=128)
def point_analysis(model_key: str, _model, point: tuple, eps: float, sigma: float, loss: str, n: int):
    return sra.analyse_point(_model, point, eps, sigma, loss, n=n)


@st.cache_data(show_spinner=False, max_entries=64)
def local_labels(model_key: str, _model, extent: tuple, resolution: int = 121) -> np.ndarray:
    x0, x1, y0, y1 = extent
    xs, ys = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    pts = np.stack([xs.ravel(), ys.ravel()], 1)
    return grid.predict_points(_model, pts).reshape(resolution, resolution)


@st.cache_data(show_spinner="Computing the radii at the point…", max_entries=128)
def point_radii(model_key: str, _model, point: tuple, sigma: float, k: float, n: int, alpha: float) -> dict:
    x = torch.tensor([point], dtype=torch.float32)
    with torch.no_grad():
        logits = _model(x)
    c = logits.argmax(1)
    out = {"MCR (Eq. 6)": float(mcr(logits, c, k).clamp_min(0)[0])}
    samples = smoothed_margin_mc(_model, x, c, sigma, n=n, generator=torch.Generator().manual_seed(0))
    out["MSCR, Monte Carlo (Eq. 5)"] = float(mscr_certificate(samples, k, sigma, alpha)[0])
    try:
        with torch.no_grad():
            out["MSCR, closed form (Eq. 7)"] = float(mscr_closed_form(_model, x, c, sigma, k).clamp_min(0)[0])
    except ValueError:
        pass
    return out


@st.cache_data(show_spinner="Computing the robustness curves…", max_entries=32)
def report(model_key: str, _model, dataset_key: str, _x, _y, num_classes: int, k: float, rs_sigma: float):
    # Each CR curve gets its own grid, from 0 to just past the largest radius of its certificate: the margin
    # grid zooms onto an unconstrained net's tiny margin radii, the RS grid covers Cohen's radii (<~2.5 sigma).
    return robustness_report(_model, _x, _y, num_classes, k, ReportParams(radius_steps=101, rs_sigma=rs_sigma))


@st.cache_resource(show_spinner="Training one small orthogonal MLP per loss (a few seconds each)…", max_entries=16)
def trained_per_loss(dataset_key: str, _dataset, loss: str, d: float, sigma: float, epochs: int):
    model = build_model(ModelConfig("ortho_mlp", _dataset.input_shape, _dataset.num_classes, width=32, depth=2),
                        seed=0)
    train_margin(model, _dataset, MarginTrainConfig(loss, d=d, sigma=sigma, epochs=epochs))
    return model


@st.cache_data(show_spinner=False)
def heatmap_data() -> dict | None:
    try:
        return json.loads(HEATMAP.read_text())
    except (OSError, ValueError):
        return None
