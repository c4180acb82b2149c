"""Cached calls of the decision-boundaries page: the radius map, the abstain threshold, the inspector's rows,
noise samples and the Monte Carlo check. Keys are small hashables; models, contexts and big arrays are passed
with a leading underscore so Streamlit does not hash them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from cert_core import grid
from cert_core.stats import lower_confidence_bound
from ui.inspector import InspectorContext, run_providers


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


@st.cache_data(show_spinner=False, max_entries=128)
def radius_map(model_key: str, _probs: np.ndarray, bounds: tuple, resolution: int, sigma: float) -> np.ndarray:
    return grid.exact_radius(_probs, sigma)                                 # (R, R)


@st.cache_data(show_spinner=False, max_entries=128)
def local_base(model_key: str, _model: torch.nn.Module, bounds: tuple, resolution: int = 160) -> np.ndarray:
    return grid.base_predictions(_model, bounds, resolution)                # (r, r)


@st.cache_data(show_spinner=False, max_entries=64)
def abstain_threshold(n: int, alpha: float) -> float:
    """Smallest p_A at which CERTIFY's lower bound p̲_A clears 1/2 with n samples (it abstains below)."""
    n_a = np.arange(n // 2, n + 1)
    ok = np.atleast_1d(lower_confidence_bound(n_a, np.full_like(n_a, n), alpha)) >= 0.5
    return float(n_a[np.argmax(ok)] / n) if ok.any() else 1.0


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
