"""The sequential certificate of one 2D point and its path: after every look, the samples drawn so far and the
anytime-valid lower bound p̲_A and radius certified then (``Smooth.certify_sequential``'s ``on_look``).

Anytime mode (no target radius): with probability ≥ 1 − α the bound is correct *at every look at once* (Ville's
inequality over a fixed ladder of thresholds), so the whole curve is a certificate, not only its end. The budget
max n is the inspector's fixed n, so the row compares like with like: the same n, the same α, far fewer samples.

Shapes: L looks.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from cert_core.smoothing import Certificate, Smooth

SALT = 17          # this provider's noise stream, apart from CERTIFY's (seed * 1_000_003 + salt, as the inspector's)
LOOK_GROWTH = 1.25  # a look after every 25% more votes (runs: 10%): half the looks, so a click costs ~0.1 s of CPU
MEMO_SIZE = 256     # paths kept per model
_PATHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # model -> {PathParams: SequentialPath}
_PATHS_LOCK = threading.Lock()      # the inspector's background job and the page's path chart ask at the same time


@dataclass(frozen=True)
class PathParams:
    point: tuple[float, float]      # the clicked point
    sigma: float                    # noise level σ
    n0: int                         # selection samples (as CERTIFY)
    max_n: int                      # budget of votes (the inspector's fixed n)
    alpha: float                    # failure probability
    seed: int                       # the inspector's seed


@dataclass(frozen=True, eq=False)
class SequentialPath:
    certificate: Certificate        # the sequential certificate at stopping (n0 + n = samples drawn)
    samples: np.ndarray             # (L,) samples drawn (n0 + votes) at each look
    p_lower: np.ndarray             # (L,) the certified lower bound on p_A then (0 before anything is certified)
    radius: np.ndarray              # (L,) the certified radius then (0: abstain so far)

    @property
    def drawn(self) -> int:
        return self.certificate.n0 + self.certificate.n


def sequential_path(model: torch.nn.Module, num_classes: int, p: PathParams) -> SequentialPath:
    """Anytime sequential CERTIFY at ``p.point`` with every look recorded (2D MLP on CPU: well under 0.3 s)."""
    looks: list[tuple[int, float, float]] = []

    def record(test) -> None:
        looks.append((int(test.n[0]), float(test.p_lower()[0]), float(test.radius()[0])))

    smooth = Smooth(model, num_classes, p.sigma)
    generator = torch.Generator().manual_seed(p.seed * 1_000_003 + SALT)
    cert = smooth.certify_sequential(torch.tensor(p.point, dtype=torch.float32), p.alpha, None, p.max_n, p.n0,
                                     10_000, generator, on_look=record, look_growth=LOOK_GROWTH)
    votes, p_lower, radius = (np.asarray(c) for c in zip(*looks))
    return SequentialPath(cert, p.n0 + votes, p_lower, radius)


def shared_path(model: torch.nn.Module, num_classes: int, params: PathParams) -> SequentialPath:
    """``sequential_path`` once per (model object, params): the inspector's row (which sees the model, not its
    key; computed in the background job) and the chart under the table share one computation per click, the second
    caller waiting for the first. Dropped with the model (weak keys)."""
    with _PATHS_LOCK:
        memo = _PATHS.setdefault(model, {})
        if params not in memo:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[params] = sequential_path(model, num_classes, params)
        return memo[params]


@st.cache_data(show_spinner=False, max_entries=256)
def cached_path(model_key: str, _model: torch.nn.Module, num_classes: int, params: PathParams) -> SequentialPath:
    return shared_path(_model, num_classes, params)


def path_params(point, sigma: float, n0: int, n: int, alpha: float, seed: int) -> PathParams:
    return PathParams(tuple(map(float, point)), float(sigma), int(n0), int(n), float(alpha), int(seed))


def stop_reason(path: SequentialPath) -> str:
    """Why sampling stopped, in words."""
    cert = path.certificate
    return {"certified": "the top of the ladder was certified",
            "futile": "the radius could not grow by another 10% within the budget",
            "budget": "the budget was spent"}.get(cert.stop, cert.stop)


def summary(path: SequentialPath, fixed: Certificate) -> str:
    """'stopped after 640 samples; fixed n = 10,000 gives radius 0.71' and what that means."""
    cert = path.certificate
    got = "abstains" if cert.abstained else f"certifies radius {cert.radius:.3f}"
    ref = "abstains" if fixed.abstained else f"gives radius {fixed.radius:.3f}"
    total = fixed.n0 + fixed.n
    return (f"Stopped after {path.drawn:,} samples ({stop_reason(path)}) and {got}; fixed n = {fixed.n:,} "
            f"({total:,} samples with n₀) {ref}: {total / path.drawn:.1f}× the samples for the same α.")
