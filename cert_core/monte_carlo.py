"""The Monte Carlo check of the exact 2D maps: votes of f(p + eps), eps ~ N(0, sigma^2 I), at 2D points, counted
by the product's own sampler (``Smooth.sample_counts``; Cohen et al., 2019, PREDICT), to compare with
``cert_core.grid``'s exact probabilities within sampling error plus ``grid.discretisation_error``.

Shapes: M = points, K = classes.
"""
from __future__ import annotations

import numpy as np
import torch

from cert_core.grid_view import check_2d_model
from cert_core.smoothing import Smooth
from cert_core.validation import check_float, check_int


def monte_carlo_counts(model: torch.nn.Module, points, sigma: float, n: int,
                       generator: torch.Generator | None = None, batch_size: int = 100_000) -> np.ndarray:
    """Counts of f(p + eps) = k over n Gaussian samples per point (the PREDICT picture).  # (M, K)

    The very sampler certificates use (``Smooth.sample_counts``), so the Monte Carlo check against the exact
    maps validates the code that certifies, not a twin of it."""
    sigma = check_float(sigma, "sigma", "monte_carlo_counts", 0, None, low_open=True)
    n = check_int(n, "n", "monte_carlo_counts", 1, None)
    k = check_2d_model(model, "monte_carlo_counts")
    pts = torch.as_tensor(np.asarray(points, dtype=np.float32)).reshape(-1, 2)   # (M, 2)
    return Smooth(model, k, sigma).sample_counts(pts, n, batch_size, generator).cpu().numpy()
