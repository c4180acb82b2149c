"""Cached cert_core.methods.ddrs.sigma calls for the per-input σ page (keys are small hashables; models and big
arrays are passed with a leading underscore), plus the Table-1-style comparison."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from cert_core import grid
from cert_core.methods.ddrs import sigma as ddrs
from cert_core.methods.ddrs import plane as ddrs_grid
from cert_core.metrics import average_certified_radius, certified_accuracy

TABLE_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
TABLE_COLUMNS = {"method": st.column_config.TextColumn("method", width="large"),
                 **{f"r = {r:g}": st.column_config.NumberColumn(f"r = {r:g}", format="%.1f", width="small",
                                                                 help=f"Certified accuracy (%) at radius {r:g}")
                    for r in TABLE_RADII},
                 "ACR": st.column_config.NumberColumn("ACR", format="%.3f", width="small",
                                                      help="Average certified radius (correct points, 0 otherwise)")}


@st.cache_data(show_spinner=False, max_entries=16)    # the page shows one spinner for the maps
def maps(model_key: str, _base: grid.BaseMap, bounds: tuple, resolution: int, max_sigma: float,
         sigma0: float, sigma_range: tuple, count: int) -> ddrs_grid.SigmaStarMaps:
    return ddrs_grid.sigma_star_maps(_base, ddrs_grid.sigma_grid(*sigma_range, count), sigma0)


@st.cache_data(show_spinner=False, max_entries=64)
def curve(model_key: str, _base: grid.BaseMap, resolution: int, point: tuple, sigma0: float,
          sigma_range: tuple) -> tuple[int, np.ndarray, np.ndarray]:
    sigmas = ddrs_grid.sigma_grid(*sigma_range, 60)
    cls, r = ddrs_grid.radius_curve(_base, point, sigmas, sigma0)
    return cls, sigmas, r


@st.cache_data(show_spinner="Running OptimizeSigma at the point…", max_entries=64)
def search_at(model_key: str, _model: torch.nn.Module, point: tuple, config: tuple, seed: int) -> ddrs.SigmaSearch:
    gen = torch.Generator().manual_seed(seed)
    return ddrs.optimize_sigma(_model, torch.tensor([point], dtype=torch.float32), ddrs.SigmaConfig(*config),
                               generator=gen)


@st.cache_data(show_spinner=False, max_entries=64)
def exact_at(model_key: str, _base: grid.BaseMap, resolution: int, point: tuple, cls: int,
             sigmas: tuple) -> np.ndarray:
    """Exact R(σ_k) for the class cls along a trajectory (σ beyond the padding is clipped)."""
    top = _base.max_sigma
    return np.array([float(ddrs_grid.class_radius(grid.probabilities_at(_base, point, min(s, top)), cls, min(s, top)))
                     for s in sigmas])


@dataclass(frozen=True)
class DDTestSet:
    sigma: np.ndarray        # (M,) σ*_x
    prediction: np.ndarray   # (M,) CERTIFY at σ*_x (−1 = abstain)
    radius: np.ndarray       # (M,)


@st.cache_data(show_spinner="OptimizeSigma + CERTIFY on every test point…", max_entries=16)
def dd_test_set(model_key: str, _model: torch.nn.Module, num_classes: int, dataset_key: str, _x: np.ndarray,
                config: tuple, n0: int, n: int, alpha: float, seed: int) -> DDTestSet:
    gen = torch.Generator().manual_seed(seed)
    xs = torch.as_tensor(_x, dtype=torch.float32)
    search = ddrs.optimize_sigma(_model, xs, ddrs.SigmaConfig(*config), generator=gen)
    certs = ddrs.certify_at_sigma(_model, num_classes, xs, search.sigma, n0, n, alpha, 20_000, gen)
    return DDTestSet(search.sigma, np.array([c.prediction for c in certs]), np.array([c.radius for c in certs]))


def query_order(m: int, how: str, seed: int) -> np.ndarray:
    if how == "reversed":
        return np.arange(m)[::-1]
    if how == "shuffled":
        return np.random.default_rng(seed).permutation(m)
    return np.arange(m)


def comparison(rows: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    """Table 1 of the paper: a row per method, certified accuracy (%) per radius and the ACR."""
    out = []
    for name, (radius, correct) in rows.items():
        acc = certified_accuracy(radius, correct, np.array(TABLE_RADII))
        row = {"method": name}
        row.update({f"r = {r:g}": round(100 * a, 1) for r, a in zip(TABLE_RADII, acc)})
        row["ACR"] = round(average_certified_radius(radius, correct), 3)
        out.append(row)
    return out
