"""Cached cert_core calls. Keys are small hashables (a model key string, floats, tuples); models and
big arrays are passed with a leading underscore so Streamlit does not hash them."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from cert_core import grid
from cert_core.models.data import Dataset, load_dataset
from cert_core.metrics import certified_accuracy
from cert_core.models.bundles import LoadedModel
from cert_core.smoothing import Smooth
from cert_core.models.train import noisy_accuracy
from cert_core.models.zoo import load_zoo_model
from ui.inspector import InspectorContext, run_providers


@st.cache_resource(show_spinner="Loading the model…")
def zoo_model(name: str) -> LoadedModel:
    return load_zoo_model(name)


@st.cache_data(show_spinner="Loading the dataset…", max_entries=32)
def dataset_from_spec(spec_json: str) -> Dataset:
    return load_dataset(**json.loads(spec_json))


@st.cache_resource(show_spinner="Evaluating the base classifier on the grid…", max_entries=8)
def base_map(model_key: str, _model: torch.nn.Module, bounds: tuple, resolution: int,
             max_sigma: float) -> grid.BaseMap:
    return grid.evaluate_base(_model, bounds, resolution, max_sigma)


@st.cache_data(show_spinner=False, max_entries=256)
def smoothed(model_key: str, _base: grid.BaseMap, bounds: tuple, resolution: int, max_sigma: float,
             sigma: float) -> np.ndarray:
    return grid.blur(_base, sigma)                                          # (K, R, R)


@st.cache_data(show_spinner="Certifying the point…", max_entries=256)
def inspect(model_key: str, _ctx: InspectorContext, point: tuple, sigma: float, resolution: int,
            n0: int, n: int, alpha: float, seed: int):
    """Rows of every provider, their errors, and the MC certificate (for the histogram)."""
    rows, errors = run_providers(_ctx)
    return rows, errors, _ctx.certificate


@st.cache_data(show_spinner=False, max_entries=64)
def noise_samples(point: tuple, sigma: float, count: int, seed: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    return (torch.tensor(point) + sigma * torch.randn((count, 2), generator=gen)).numpy()   # (count, 2)


@dataclass(frozen=True)
class TestCertification:
    x: np.ndarray            # (M, 2) test points
    y: np.ndarray            # (M,) labels
    prediction: np.ndarray   # (M,) smoothed prediction or -1
    radius: np.ndarray       # (M,) certified radius (0 when abstaining)

    @property
    def correct(self) -> np.ndarray:
        return self.prediction == self.y

    def accuracy_at(self, r: float) -> float:
        return float(certified_accuracy(self.radius, self.correct, np.array([r]))[0])


@st.cache_data(show_spinner="Certifying the test set…", max_entries=32)
def certify_test_set(model_key: str, _model: torch.nn.Module, num_classes: int, dataset_key: str,
                     _x: np.ndarray, _y: np.ndarray, sigma: float, n0: int, n: int, alpha: float,
                     seed: int) -> TestCertification:
    smooth = Smooth(_model, num_classes, sigma)
    gen = torch.Generator().manual_seed(seed)
    certs = smooth.certify_batch(torch.as_tensor(_x, dtype=torch.float32), n0, n, alpha, 20_000, gen)
    return TestCertification(np.asarray(_x), np.asarray(_y), np.array([c.prediction for c in certs]),
                             np.array([c.radius for c in certs]))


@dataclass(frozen=True)
class MonteCarloCheck:
    points: np.ndarray       # (M, 2) coarse grid
    exact: np.ndarray        # (M,) convolved p of the exact top class
    estimate: np.ndarray     # (M,) Monte Carlo frequency of that class
    se: np.ndarray           # (M,) binomial standard error at the exact p
    slack: float             # grid discretisation bound on the convolved value

    @property
    def z(self) -> np.ndarray:
        return (self.estimate - self.exact) / np.maximum(self.se, 1e-12)

    @property
    def within(self) -> np.ndarray:
        return np.abs(self.estimate - self.exact) <= 3 * self.se + self.slack


@st.cache_data(show_spinner="Sampling the Monte Carlo check…", max_entries=32)
def monte_carlo_check(model_key: str, _model: torch.nn.Module, _base: grid.BaseMap, bounds: tuple,
                      resolution: int, max_sigma: float, sigma: float, size: int, n: int,
                      seed: int) -> MonteCarloCheck:
    xmin, xmax, ymin, ymax = bounds
    inset = 0.5 * (xmax - xmin) / size
    gx, gy = np.meshgrid(np.linspace(xmin + inset, xmax - inset, size),
                         np.linspace(ymin + inset, ymax - inset, size))
    pts = np.stack([gx.ravel(), gy.ravel()], 1)                             # (M, 2)
    exact_all = np.stack([grid.probabilities_at(_base, p, sigma) for p in pts])   # (M, K)
    top = exact_all.argmax(1)
    counts = grid.monte_carlo_counts(_model, pts, sigma, n, torch.Generator().manual_seed(seed))
    exact = exact_all[np.arange(len(pts)), top]
    estimate = counts[np.arange(len(pts)), top] / n
    se = np.sqrt(np.maximum(exact * (1 - exact), 0.25 / n) / n)
    return MonteCarloCheck(pts, exact, estimate, se, grid.discretisation_error(_base.view, sigma))


@st.cache_data(show_spinner="Measuring accuracy under noise…", max_entries=32)
def noise_curve(model_key: str, _model: torch.nn.Module, dataset_key: str, _x: np.ndarray,
                _y: np.ndarray, sigmas: tuple) -> np.ndarray:
    return noisy_accuracy(_model, _x, _y, list(sigmas), samples=8, seed=0)


@st.cache_data(show_spinner=False, max_entries=64)
def zoo_thumbnail(name: str, resolution: int = 90) -> np.ndarray | None:
    """Base predictions of a 2D zoo model on the standard view (None for image models)."""
    from cert_core.models.data import BOX_2D
    loaded = zoo_model(name)
    if loaded.input_shape != (2,):
        return None
    return grid.base_predictions(loaded.model, BOX_2D, resolution)


@st.cache_data(show_spinner=False, max_entries=128)
def radius_map(model_key: str, _probs: np.ndarray, bounds: tuple, resolution: int, sigma: float) -> np.ndarray:
    return grid.exact_radius(_probs, sigma)                                 # (R, R)


@st.cache_data(show_spinner=False, max_entries=128)
def local_base(model_key: str, _model: torch.nn.Module, bounds: tuple, resolution: int = 160) -> np.ndarray:
    return grid.base_predictions(_model, bounds, resolution)                # (r, r)


@st.cache_data(show_spinner=False, max_entries=64)
def abstain_threshold(n: int, alpha: float) -> float:
    """Smallest p_A at which CERTIFY's lower bound p̲_A clears 1/2 with n samples (it abstains below)."""
    from cert_core.stats import lower_confidence_bound
    n_a = np.arange(n // 2, n + 1)
    ok = np.atleast_1d(lower_confidence_bound(n_a, np.full_like(n_a, n), alpha)) >= 0.5
    return float(n_a[np.argmax(ok)] / n) if ok.any() else 1.0
