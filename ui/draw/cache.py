"""Cached calls of the "Draw your data" page: the exact base and smoothed maps of the trained model."""
from __future__ import annotations

import numpy as np
import torch

from ui import cache, state

RESOLUTION = 200            # pixels per axis: the maps appear within a second of training


def maps(model_key: str, model: torch.nn.Module, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(base labels (R, R), smoothed probabilities (K, R, R)) on the view: the shared caches, so the
    Decision boundaries page at the same resolution reuses them and dragging σ only blurs again."""
    base = cache.base_map(model_key, model, state.VIEW, RESOLUTION, state.SIGMA_MAX)
    return base.crop(), cache.smoothed(model_key, base, state.VIEW, RESOLUTION, state.SIGMA_MAX, sigma)
