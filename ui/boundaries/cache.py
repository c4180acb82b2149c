"""Cached calls of the decision-boundaries page: the exact maps, the points shown on them, the inspector's rows,
the noise cloud and the Monte Carlo check. Keys are small hashables; models, contexts and big arrays are passed
with a leading underscore so Streamlit does not hash them."""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st
import torch

from cert_core import grid, grid_view, monte_carlo
from cert_core.stats import lower_confidence_bound
from ui import cache, sigma_scrub, state, warmup
from ui.boundaries import explorer, figures
from ui.cache import certify_test_set
from ui.images import base_image, png_uri, smoothed_image
from ui.inspector import InspectorContext, run_providers


DEFAULT_RESOLUTION = 300      # the page's grid resolution until the user picks another (the warm-up computes it)


@st.cache_data(show_spinner="Certifying the point…", max_entries=256)
def inspect(model_key: str, _ctx: InspectorContext, point: tuple, sigma: float, resolution: int,
            n0: int, n: int, alpha: float, seed: int):
    """Rows of the fast providers, their errors, and the MC certificate (for the histogram)."""
    rows, errors = run_providers(_ctx, "fast")
    return rows, errors, _ctx.certificate


# one background worker for the slow providers (seconds per point), so a click answers with the fast rows at once;
# a job is keyed like ``inspect`` and kept for the process (the next visitor of the same point gets it done)
_SLOW_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inspector-slow-rows")
_SLOW_KEEP = 256


@st.cache_resource(show_spinner=False)
def _slow_jobs() -> dict[tuple, Future]:
    return {}


def slow_rows(key: tuple, ctx: InspectorContext) -> Future:
    """The slow providers' (rows, errors) for ``key`` (inspect's arguments), computed off the script thread.

    A new point withdraws the jobs that have not started yet (an earlier click the user has moved on from)."""
    jobs = _slow_jobs()
    job = jobs.get(key)
    if job is None or job.cancelled():
        for old_key, old in list(jobs.items()):
            if old.cancel() or len(jobs) > _SLOW_KEEP and old.done():
                jobs.pop(old_key, None)
        job = jobs[key] = _SLOW_WORKER.submit(run_providers, ctx, "slow")
    return job


@st.cache_data(show_spinner=False, max_entries=64)
def noise_samples(point: tuple, sigma: float, count: int, seed: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    return (torch.tensor(point) + sigma * torch.randn((count, 2), generator=gen)).numpy()   # (count, 2)


@st.cache_data(show_spinner=False, max_entries=128)
def radius_map(model_key: str, _probs: np.ndarray, bounds: tuple, resolution: int, sigma: float) -> np.ndarray:
    return grid.exact_radius(_probs, sigma)                                 # (R, R)


@st.cache_data(show_spinner=False, max_entries=128)
def local_base(model_key: str, _model: torch.nn.Module, bounds: tuple, resolution: int = 160) -> np.ndarray:
    return grid_view.base_predictions(_model, bounds, resolution)           # (r, r)


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
    counts = monte_carlo.monte_carlo_counts(_model, pts, sigma, n, torch.Generator().manual_seed(seed))
    exact = exact_all[np.arange(len(pts)), top]
    estimate = counts[np.arange(len(pts)), top] / n
    se = np.sqrt(np.maximum(exact * (1 - exact), 0.25 / n) / n)
    return MonteCarloCheck(pts, exact, estimate, se, grid.discretisation_error(_base.view, sigma))


@dataclass(frozen=True)
class CertifyParams:
    n0: int                   # CERTIFY selection samples
    n: int                    # CERTIFY estimation samples
    alpha: float              # failure probability
    seed: int


@dataclass(frozen=True, eq=False)
class Maps:
    """The exact maps of the view at one σ: f on the padded grid, g's class probabilities and radius."""
    base: grid.BaseMap
    probs: np.ndarray         # (K, R, R) exact smoothed probabilities
    radius: np.ndarray        # (R, R) exact certified radius
    abstain_p: float          # CERTIFY abstains below this p_A with the chosen n and α

    @property
    def view(self) -> grid_view.GridView:
        return self.base.view


def maps(current, sigma: float, resolution: int, c: CertifyParams) -> Maps:
    """Cached: f once per model and resolution, then one blur per σ (so the σ slider is instant)."""
    base = cache.base_map(current.key, current.model, state.VIEW, resolution, state.SIGMA_MAX)
    probs = cache.smoothed(current.key, base, state.VIEW, resolution, state.SIGMA_MAX, sigma)
    return Maps(base, probs, radius_map(current.key, probs, state.VIEW, resolution, sigma),
                abstain_threshold(c.n, c.alpha))


@st.cache_data(show_spinner=False, max_entries=512)
def smoothed_png(model_key: str, _base: grid.BaseMap, bounds: tuple, resolution: int, max_sigma: float,
                 sigma: float, abstain_p: float, overlay: bool) -> str:
    """The smoothed map's picture at σ (a PNG data URI, ~58 kB at 300 px): the page's map and each σ-scrub frame
    (ui/sigma_scrub.py) are this one string. Blurs without caching the (K, R, R) probabilities, so a scrub window
    does not crowd ``ui.cache.smoothed``."""
    probs = grid.blur(_base, sigma)                                         # (K, R, R)
    return png_uri(smoothed_image(probs, abstain_p, _base.crop() if overlay else None))


@st.cache_data(show_spinner=False, max_entries=32)
def base_png(model_key: str, _base: grid.BaseMap, bounds: tuple, resolution: int, max_sigma: float) -> str:
    """The base map's picture (encoded once per model and resolution, not once per rerun)."""
    return png_uri(base_image(_base.crop()))


@st.cache_data(show_spinner=False, max_entries=64)
def radius_png(model_key: str, _radius: np.ndarray, bounds: tuple, resolution: int, sigma: float) -> str:
    """The exact radius map's picture (``figures.radius_image``), encoded once per model, resolution and σ (a click
    reruns the page without re-encoding it)."""
    return figures.radius_image(_radius, sigma)


def map_frame(current, m: Maps, sigma: float, overlay: bool) -> str:
    """The smoothed map's picture of ``m``'s model, view and style at any σ (cached)."""
    return smoothed_png(current.key, m.base, state.VIEW, m.view.resolution, state.SIGMA_MAX, round(sigma, 6),
                        m.abstain_p, overlay)


def map_images(current, m: Maps, sigma: float, overlay: bool) -> tuple[str, str]:
    """(base, smoothed) pictures of the maps at σ, cached: a rerun re-encodes neither."""
    return (base_png(current.key, m.base, state.VIEW, m.view.resolution, state.SIGMA_MAX),
            map_frame(current, m, sigma, overlay))


def frames_id(current, m: Maps, overlay: bool) -> str:
    """What a smoothed picture depends on besides σ (model, resolution, style): ui/sigma_scrub.py's frames id."""
    return f"{current.key}|{m.view.resolution}|{m.abstain_p:.6g}|{'overlay' if overlay else 'side'}"


def scrub_smoothed_map(current, m: Maps, sigma: float, overlay: bool, selector: str) -> None:
    """Let the sidebar σ scrub the smoothed map (the chart matching ``selector``) in the browser: ui/sigma_scrub.py
    with this page's frames and title. The run sends the frames made so far and makes at most the two next to σ;
    ``look_ahead`` makes the rest of the window, and the next steps' maps, after the run."""
    sigma_scrub.scrub("sigma_scrub", selector, sigma, frames_id(current, m, overlay), partial(map_frame, current, m,
                                                                                             overlay=overlay),
                      explorer.smoothed_title(sigma_scrub.TITLE_SIGMA, overlay), most_new=AHEAD_IN_RUN)
    look_ahead(current, m, sigma, overlay)


# One background worker prepares what the next σ step needs while the browser draws this one: the maps at σ ± one
# slider step (blur, exact radius, their pictures) and the σ-scrub window's frames. Every value is the cached call
# the page makes (exact, not an interpolation); a run that comes first computes it itself, as before.
_AHEAD_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix=warmup.BACKGROUND_PREFIX + "boundaries-ahead")
AHEAD_STEPS = 1               # slider steps either side of σ whose maps are prepared
AHEAD_IN_RUN = 2              # frames a run makes itself when the look-ahead has not (σ ± one step)
AHEAD_NICE = 10               # the worker's thread yields the cores to the browser and the script (Linux)
_ahead_lock = threading.Lock()
_ahead_jobs: dict[tuple, Future] = {}


def _prepare(current, m: Maps, sigma: float, overlay: bool) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), AHEAD_NICE)   # this thread only (Linux)
    except (AttributeError, OSError):
        pass
    res = m.view.resolution
    for s in sigma_scrub.window(sigma, AHEAD_STEPS)[1:]:
        probs = cache.smoothed(current.key, m.base, state.VIEW, res, state.SIGMA_MAX, s)
        radius_png(current.key, radius_map(current.key, probs, state.VIEW, res, s), state.VIEW, res, s)
        map_frame(current, m, s, overlay)
    sigma_scrub.frames(frames_id(current, m, overlay), partial(map_frame, current, m, overlay=overlay), sigma,
                       wider=AHEAD_STEPS)


def look_ahead(current, m: Maps, sigma: float, overlay: bool) -> Future:
    """Start (or find) the background job preparing the steps around σ; a new σ withdraws jobs not yet started."""
    key = (frames_id(current, m, overlay), round(sigma, 6))
    with _ahead_lock:
        job = _ahead_jobs.get(key)
        if job is None or job.cancelled():
            for old_key, old in list(_ahead_jobs.items()):
                if old.cancel() or old.done():
                    _ahead_jobs.pop(old_key, None)
            job = _ahead_jobs[key] = _AHEAD_WORKER.submit(_prepare, current, m, sigma, overlay)
    return job


def shown_points(current, show: str, sigma: float, c: CertifyParams):
    """The map's data points (x, labels), or the test set's certification (1,000 samples each), or neither."""
    data = current.dataset
    if data is None or show == "none":
        return None, None
    if show == "test certificates":
        return None, certify_test_set(current.key, current.model, current.num_classes, current.dataset_key,
                                      data.x_test, data.y_test, sigma, c.n0, 1000, c.alpha, c.seed)
    return ((data.x_train, data.y_train) if show == "training data" else (data.x_test, data.y_test)), None


def inspect_point(current, m: Maps, point: tuple, sigma: float, c: CertifyParams):
    """The fast providers' rows at the point, their errors, Cohen's certificate (cached per settings) and a call
    that starts (or finds) the job computing the slow providers' rows in the background (a Future of (rows,
    errors)): the inspector makes it once its first answer is drawn, so the job does not hold the CPU meanwhile."""
    ctx = InspectorContext(current.model, current.num_classes, point, sigma, m.base, m.probs, c.n0, c.n, c.alpha,
                           c.seed)
    key = (current.key, point, sigma, m.view.resolution, c.n0, c.n, c.alpha, c.seed)
    rows, errors, cert = inspect(current.key, ctx, *key[1:])
    return rows, errors, cert, partial(slow_rows, key, ctx)


@dataclass(frozen=True, eq=False)
class Cloud:
    samples: np.ndarray       # (600, 2) x + N(0, σ²I)
    votes: np.ndarray         # (600,) f's class at each sample
    labels: np.ndarray        # (240, 240) f around the point
    view: grid_view.GridView  # the window: the noise and every finite circle


def cloud(current, point: tuple, sigma: float, seed: int, rows, view: grid_view.GridView) -> Cloud:
    local = explorer.local_bounds(point, sigma, rows, view)
    samples = noise_samples(point, sigma, 600, seed)
    return Cloud(samples, grid_view.predict_points(current.model, samples),
                 local_base(current.key, current.model, local, 240), grid_view.make_view(local, 240))


def warm() -> None:
    """The start-up warm-up (ui/warmup.py): the default model's maps at the page's defaults."""
    current = state.zoo_current_model(state.DEFAULT_MODEL)
    maps(current, state.DEFAULT_SIGMA, DEFAULT_RESOLUTION, CertifyParams(100, 10_000, 0.001, 0))


def warm_later() -> None:
    """The σ-scrub frames around the default σ of the default model's maps (ui/sigma_scrub.py), so a first drag
    previews its whole window."""
    current = state.zoo_current_model(state.DEFAULT_MODEL)
    m = maps(current, state.DEFAULT_SIGMA, DEFAULT_RESOLUTION, CertifyParams(100, 10_000, 0.001, 0))
    sigma_scrub.frames(frames_id(current, m, False), lambda s: map_frame(current, m, s, False), state.DEFAULT_SIGMA)
