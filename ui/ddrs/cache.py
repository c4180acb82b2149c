"""Cached cert_core.methods.ddrs.sigma / memory calls for the per-input σ page (keys are small hashables; models and
big arrays are passed with a leading underscore), plus the Table-1-style comparison."""
from __future__ import annotations

from dataclasses import astuple, dataclass, replace

import numpy as np
import streamlit as st
import torch

from cert_core import grid
from cert_core.methods.ddrs import memory as ddrs_memory
from cert_core.methods.ddrs import sigma as ddrs
from cert_core.methods.ddrs import plane as ddrs_grid
from cert_core.metrics import average_certified_radius, certified_accuracy
from ui import cache, state
from ui.cache import certify_test_set
from ui.ddrs import figures as ddrs_figures

TABLE_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
NUMBER_WIDTH = 70   # px: "r = 1.25" and "100.0" fit; Streamlit's "small" (75) overflowed the section's expander
TABLE_COLUMNS = {"method": st.column_config.TextColumn("method", width="large"),
                 **{f"r = {r:g}": st.column_config.NumberColumn(f"r = {r:g}", format="%.1f", width=NUMBER_WIDTH,
                                                                 help=f"Certified accuracy (%) at radius {r:g}")
                    for r in TABLE_RADII},
                 "ACR": st.column_config.NumberColumn("ACR", format="%.3f", width=NUMBER_WIDTH,
                                                      help="Average certified radius (correct points, 0 otherwise)")}


@st.cache_data(show_spinner=False, max_entries=16)    # the page shows one spinner for the maps
def maps(model_key: str, _base: grid.BaseMap, bounds: tuple, resolution: int, max_sigma: float,
         sigma0: float, sigma_range: tuple, count: int) -> ddrs_grid.SigmaStarMaps:
    return ddrs_grid.sigma_star_maps(_base, ddrs_grid.sigma_grid(*sigma_range, count), sigma0)


@st.cache_resource(show_spinner=False, max_entries=32)
def map_figures(model_key: str, _maps: ddrs_grid.SigmaStarMaps, _view, resolution: int, sigma0: float,
                sigma_range: tuple, count: int, point: tuple | None) -> dict:
    """``ddrs_figures.three_maps`` of the maps that ``maps`` returns for these keys, with the point starred: the
    three pictures (PNG, read-out lattice) are the same for every visitor and every σ step back. Shared between
    sessions as st.cache_resource (no copy per call; frozen MapPictures, only read)."""
    return ddrs_figures.three_maps(_view, _maps, sigma0, sigma_range[1], point)


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


PRESET_CHOICES = ("explorer", "paper", "authors", "fixed-top-class", "custom")   # the page's default first
MEMORY_RULE_LABELS = {"paper": "paper: min(r, rᵢ − d)", "authors": "authors' code: rᵢ − d, abstentions kept"}
MEMORY_RULE_NAMES = {"paper": "the paper's memory rule", "authors": "the authors' memory rule"}


@dataclass(frozen=True)
class PageParams:
    sigma0: float                     # the sidebar's σ: OptimizeSigma's start and the fixed-σ baseline
    sigma_range: tuple[float, float]  # σ searched for σ*(x) by the exact maps
    count: int                        # σ values in that range (one exact Gaussian convolution each)
    resolution: int                   # pixels per axis of the exact maps
    steps: int                        # custom: K, gradient-ascent steps of OptimizeSigma (Algorithm 1)
    lr: float                         # custom: its step size
    n_opt: int                        # custom: its Monte Carlo samples per step
    n_cert: int                       # CERTIFY samples at σ*ₓ
    alpha: float
    order: str                        # the memory's query order: "test order" | "reversed" | "shuffled"
    seed: int
    preset: str = "explorer"          # PRESET_CHOICES: a named SigmaConfig.preset, or "custom" (the fields above)
    rule: str = "paper"               # custom: OptimizeSigma's rule (ddrs.SIGMA_RULES)
    memory_rule: str = "paper"        # the memory's rule (ddrs_memory.MEMORY_RULES)

    @classmethod
    def defaults(cls, sigma0: float) -> "PageParams":
        """What the page's widgets give before anyone touches them (the start-up warm-up computes these)."""
        return cls(sigma0, (0.05, 1.5), 24, 150, 20, 0.05, 32, 1000, 0.001, "test order", 0)

    @property
    def sigma_config(self) -> ddrs.SigmaConfig:
        if self.preset != "custom":
            return ddrs.SigmaConfig.preset(self.preset, self.sigma0)
        floor = 0.01 if self.rule == "fixed-top-class" else 0.0
        return ddrs.SigmaConfig(self.sigma0, self.steps, self.lr, self.n_opt, floor, ddrs.CLAMP, self.rule)

    @property
    def config(self) -> tuple:
        """OptimizeSigma's settings, as ``ddrs.SigmaConfig(*config)`` takes them."""
        return astuple(self.sigma_config)


@st.cache_data(show_spinner="OptimizeSigma with n = 1 under both rules…", max_entries=64)
def one_sample_rules(model_key: str, _model: torch.nn.Module, _base: grid.BaseMap, resolution: int, point: tuple,
                     config: tuple, seed: int) -> list[dict]:
    """The paper's 1-sample setting (the page's K and α, n = 1) at the point, under each rule, same noise."""
    rows = []
    for rule in ddrs.SIGMA_RULES:
        cfg = replace(ddrs.SigmaConfig(*config), n=1, rule=rule, min_sigma=0.01 if rule == "fixed-top-class" else 0.0)
        search = ddrs.optimize_sigma(_model, torch.tensor([point], dtype=torch.float32), cfg,
                                     generator=torch.Generator().manual_seed(seed))
        s = float(search.sigma[0])
        probs = grid.probabilities_at(_base, point, min(s, _base.max_sigma))
        rows.append({"rule": rule, "σ* (n = 1)": f"{s:.3f}", "σ* range on the path":
                     f"{np.abs(search.sigmas).min():.2f} – {np.abs(search.sigmas).max():.2f}",
                     "class at σ*": int(np.argmax(probs)),
                     "exact radius at σ*": f"{float(grid.exact_radius(probs, min(s, _base.max_sigma))):.3f}"})
    return rows


@dataclass(frozen=True)
class PointStudy:
    cls: int                          # the class at σ₀
    sigmas: np.ndarray                # (60,) σ grid of the exact curve
    curve: np.ndarray                 # (60,) exact R(σ) for cls
    search: ddrs.SigmaSearch          # OptimizeSigma's path from σ₀
    exact: np.ndarray                 # (K + 1,) exact R along that path
    distance: float                   # to the σ₀-smoothed boundary (the map's pixel under the point)

    @property
    def claimed(self) -> float:
        """The largest per-input σ radius at the point: OptimizeSigma's or the grid's best."""
        return max(float(self.exact[-1]), float(self.curve.max()))


def point_study(model_key: str, model, base: grid.BaseMap, maps_: ddrs_grid.SigmaStarMaps, p: PageParams,
                point: tuple) -> PointStudy:
    """The exact R(σ) curve at the point, OptimizeSigma's path on it, and the distance it must not exceed."""
    cls, sigmas, r = curve(model_key, base, p.resolution, point, p.sigma0, p.sigma_range)
    search = search_at(model_key, model, point, p.config, p.seed)
    exact = exact_at(model_key, base, p.resolution, point, cls, tuple(search.sigmas[0]))
    view = base.view
    i = int(np.rint((point[1] - view.bounds[2]) / view.spacing[1]))
    j = int(np.rint((point[0] - view.bounds[0]) / view.spacing[0]))
    return PointStudy(cls, sigmas, r, search, exact, float(maps_.distance[i, j]))


@dataclass(frozen=True)
class MemoryStudy:
    answers: list[ddrs_memory.MemoryAnswer]  # one per test point, in input order
    memory: ddrs_memory.CertificationMemory
    table: list[dict]                 # Table 1: fixed σ, per-input σ without and with the memory

    @property
    def relabelled(self) -> int:
        return sum(a.case == "relabelled" for a in self.answers)


def memory_study(current, p: PageParams) -> MemoryStudy:
    """Per-input σ* + CERTIFY on the test set, answered through the memory in the chosen order, next to Cohen's
    fixed σ₀ (the same n, α and seed)."""
    data = current.dataset
    dd = dd_test_set(current.key, current.model, current.num_classes, current.dataset_key, data.x_test, p.config,
                     100, p.n_cert, p.alpha, p.seed)
    fixed = certify_test_set(current.key, current.model, current.num_classes, current.dataset_key, data.x_test,
                             data.y_test, p.sigma0, 100, p.n_cert, p.alpha, p.seed)
    answers, memory = ddrs_memory.memory_certify(data.x_test, dd.prediction, dd.radius,
                                          query_order(len(data.x_test), p.order, p.seed), p.memory_rule)
    y, kept = data.y_test, f"per-input σ* + memory ({p.order}), {MEMORY_RULE_NAMES[p.memory_rule]}"
    table = comparison({
        f"Cohen, fixed σ = {p.sigma0:g}": (fixed.radius, fixed.prediction == y),
        "per-input σ*, no memory (not sound)": (dd.radius, dd.prediction == y),
        kept: (np.array([a.radius for a in answers]), np.array([a.prediction for a in answers]) == y)})
    return MemoryStudy(answers, memory, table)


WARM_SIGMA_STEPS = 5     # σ₀ slider steps each side of the default that the warm-up precomputes (11 ≤ max_entries)


def warm_sigmas(sigma0: float = state.DEFAULT_SIGMA, steps: int = WARM_SIGMA_STEPS) -> list[float]:
    """σ₀ = the default, then one slider step up, one down, two up, ...: the values a lecturer reaches first."""
    out = [sigma0]
    for k in range(1, steps + 1):
        out += [s for s in (sigma0 + k * state.SIGMA_STEP, sigma0 - k * state.SIGMA_STEP)
                if state.SIGMA_MIN <= s <= state.SIGMA_MAX]
    return [round(s, 2) for s in out]


def warm() -> None:
    """The start-up warm-up (ui/warmup.py): the default model's maps at the page's defaults (what a first load draws;
    the memory study below the fold is computed once its section is opened, see ``warm_later``)."""
    warm_at(state.DEFAULT_SIGMA)


def warm_later() -> None:
    """After every slice's ``warm``: the maps at the σ₀ values next to the default (``warm_sigmas``), so that the
    first σ steps find them computed, then the memory study at the default σ₀, for whoever opens its section.
    Only the maps: a memory study (OptimizeSigma + CERTIFY on the test set) costs ~10 CPU-s per σ₀, and eleven of
    them kept the server's GIL busy for minutes after a start, while the first visitors loaded their pages."""
    for sigma0 in warm_sigmas()[1:]:
        warm_at(sigma0)
    warm_at(state.DEFAULT_SIGMA, memory=True)


def warm_at(sigma0: float, memory: bool = False) -> None:
    """The maps and their figures (and with ``memory`` the memory study) of the default model at the page's default
    widgets and this σ₀."""
    current = state.zoo_current_model(state.DEFAULT_MODEL)
    p = PageParams.defaults(sigma0)
    base = cache.base_map(current.key, current.model, state.VIEW, p.resolution, state.SIGMA_MAX)
    mp = maps(current.key, base, state.VIEW, p.resolution, state.SIGMA_MAX, p.sigma0, p.sigma_range, p.count)
    map_figures(current.key, mp, base.view, p.resolution, p.sigma0, p.sigma_range, p.count, None)
    if memory and current.dataset is not None:
        memory_study(current, p)
