"""Cached cert_core calls for the SRA page (models passed with a leading underscore, keyed by model key)."""
from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from cert_core import grid_view
from cert_core.methods.margin import sra
from cert_core.methods.lipschitz.bounds import layer_bounds
from cert_core.methods.margin.radii import (ClosedFormAudit, mcr, mscr_certificate, mscr_closed_form,
                                           mscr_closed_form_audit, smoothed_margin_mc)
from cert_core.methods.margin.train import LOSS_LABELS, MarginTrainConfig, train_margin
from cert_core.models.architectures import ModelConfig, build_model
from cert_core.methods.margin.curves import ReportParams, robustness_report
from cert_core.models.zoo import ZOO
from ui import state
from ui.cache import zoo_model

HEATMAP = pathlib.Path(__file__).resolve().parents[2] / "assets" / "sra_heatmap_moons.json"


@dataclass(frozen=True)
class Lipschitz:
    layers: tuple | None              # per-layer bounds (lipschitz.bounds.LayerBound); None for unsupported layers
    problem: str | None = None        # why there is no bound

    @property
    def k(self) -> float | None:
        """The guaranteed l2 bound K of the logit map: the product of the per-layer bounds."""
        return float(np.prod([b.upper for b in self.layers])) if self.layers else None


@st.cache_data(show_spinner=False, max_entries=64)
def lipschitz(model_key: str, _model, input_shape: tuple) -> Lipschitz:
    """Per-layer bounds, or the ValueError's message for unsupported models."""
    try:
        return Lipschitz(tuple(layer_bounds(_model, input_shape)))
    except ValueError as exc:
        return Lipschitz(None, str(exc))


@dataclass(frozen=True)
class PointParams:
    point: tuple[float, float]        # x
    eps: float                        # radius of the region Ω(x), an l2 ball
    sigma: float                      # noise ρ = N(0, σ²I)
    loss: str                         # "margin" | "zero_one"
    n: int                            # Monte Carlo samples of ρ


@st.cache_data(show_spinner="Analysing the point…", max_entries=128)
def point_analysis(model_key: str, _model, p: PointParams) -> sra.PointAnalysis:
    return sra.analyse_point(_model, p.point, p.eps, p.sigma, p.loss, n=p.n)


def extent(p: PointParams) -> tuple[float, float, float, float]:
    """The square Figure 1 draws: Ω(x) and three σ of noise around it."""
    half = p.eps + 3 * p.sigma + 0.2
    return (p.point[0] - half, p.point[0] + half, p.point[1] - half, p.point[1] + half)


@st.cache_data(show_spinner=False, max_entries=64)
def local_labels(model_key: str, _model, extent: tuple, resolution: int = 121) -> np.ndarray:
    x0, x1, y0, y1 = extent
    xs, ys = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    pts = np.stack([xs.ravel(), ys.ravel()], 1)
    return grid_view.predict_points(_model, pts).reshape(resolution, resolution)


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


@dataclass(frozen=True)
class ClosedFormParams:
    sigma: float                      # noise N(0, σ²I) of both MSCRs
    count: int = 100                  # the first test points
    n: int = 1000                     # Monte Carlo samples per point
    alpha: float = 0.001              # per-point level of the Monte Carlo error band
    seed: int = 0


@st.cache_data(show_spinner="Checking the closed form (Eq. 7) against Monte Carlo…", max_entries=32)
def closed_form_audit(model_key: str, _model, dataset_key: str, _x, k: float,
                      p: ClosedFormParams) -> ClosedFormAudit | str:
    """Eq. 7 vs the Monte Carlo MSCR of the base predictions on the first test points; why not, as a string."""
    x = torch.as_tensor(np.asarray(_x)[:p.count], dtype=torch.float32)
    with torch.no_grad():
        labels = _model(x).argmax(1)
    try:
        return mscr_closed_form_audit(_model, x, labels, p.sigma, k, p.n, p.alpha, torch.Generator().manual_seed(p.seed))
    except ValueError as exc:
        return str(exc)


@st.cache_data(show_spinner=False, max_entries=32)    # the page shows a progress bar over the reports
def report(model_key: str, _model, dataset_key: str, _x, _y, num_classes: int, k: float, rs_sigma: float):
    # Each CR curve gets its own grid, from 0 to just past the largest radius of its certificate: the margin
    # grid zooms onto an unconstrained net's tiny margin radii, the RS grid covers Cohen's radii (<~2.5 sigma).
    return robustness_report(_model, _x, _y, num_classes, k, ReportParams(radius_steps=101, rs_sigma=rs_sigma))


@dataclass(frozen=True)
class TrainParams:
    loss: str                         # a key of cert_core.methods.margin.train.LOSSES
    d: float                          # hinge target radius
    sigma: float                      # σ_x of the smoothed losses
    epochs: int

    def label(self) -> str:
        return f"{LOSS_LABELS[self.loss]} d={self.d:g} σ_x={self.sigma:g}"


def curve_reports(current, k: float, chosen: list[TrainParams],
                  on_step: Callable[[int, int, str], None] | None = None) -> tuple[dict, list[str]]:
    """Appendix B reports of the current model, the zoo's margin-trained models of its dataset and one short
    training per chosen loss: ({label: RobustnessCurves}, one message per training that failed).

    ``on_step(done, total, label)`` is called before each report (done = reports finished so far) and once at the
    end with done = total, so a page can show how much work remains."""
    data = current.dataset
    args = (current.dataset_key, data.x_test, data.y_test, current.num_classes)
    zoo = [e for e in ZOO if e.margin is not None and e.dataset_spec == data.spec and f"zoo:{e.name}" != current.key]
    total, step = 1 + len(zoo) + len(chosen), on_step or (lambda done, total, label: None)
    step(0, total, current.label)
    reports, problems = {current.label: report(current.key, current.model, *args, k, 0.25)}, []
    for e in zoo:
        step(len(reports) + len(problems), total, e.name)
        loaded = zoo_model(e.name)
        k_zoo = lipschitz(f"zoo:{e.name}", loaded.model, loaded.input_shape).k
        reports[e.name] = report(f"zoo:{e.name}", loaded.model, *args, k_zoo, 0.25)
    for p in chosen:
        step(len(reports) + len(problems), total, f"training {p.label()}")
        try:
            model = trained_per_loss(current.dataset_key, data, p.loss, p.d, p.sigma, p.epochs)
        except ValueError as exc:
            problems.append(f"{LOSS_LABELS[p.loss]} training failed: {exc}")
            continue
        key = f"loss:{LOSS_LABELS[p.loss]}:{p.d}:{p.sigma}:{p.epochs}:{current.dataset_key}"
        reports[p.label()] = report(key, model, *args, lipschitz(key, model, tuple(data.input_shape)).k, 0.25)
    step(total, total, "")
    return reports, problems


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


WARM_MODELS = (state.DEFAULT_MODEL, "digits-ortho-mscr-s0.1")   # the default model, then the digits model a class sees


def warm() -> None:
    """The start-up warm-up (ui/warmup.py): the Lipschitz bound a first load shows, per model in WARM_MODELS."""
    for name in WARM_MODELS:
        current = state.zoo_current_model(name)
        lipschitz(current.key, current.model, tuple(current.loaded.input_shape or ()))


def warm_later() -> None:
    """After every slice's ``warm``: the robustness curves per model in WARM_MODELS, for whoever opens their section
    (below the fold since issue 17; ~30 CPU-s, which no first load waits for any more)."""
    for name in WARM_MODELS:
        current = state.zoo_current_model(name)
        k = lipschitz(current.key, current.model, tuple(current.loaded.input_shape or ())).k
        if current.dataset is not None and k is not None:
            curve_reports(current, k, [])
