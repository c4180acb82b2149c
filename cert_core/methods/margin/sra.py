"""Smoothed Robustness Analysis (SRA) at one point, numerically: Figure 1 and Theorem 1 of Rodrigues Crespo &
Teramae, and the test-set robustness report (Appendix B) behind the page's curves and Figure 2 heatmap.

For a loss T with constant Gamma (Condition 1: 0-1 loss, Gamma = 1/2, Thm. 2; margin loss, Gamma = 0, Prop. 3)
a region Omega(x) (here the l2 ball of radius eps) and a noise rho = N(0, sigma^2 I):

* average case:  E_{x' ~ rho(x)} T(x') < Gamma                      (Omega = {x})
* worst case:    max_{x~ in Omega} T(x~) < Gamma                     (rho = delta)
* smoothed:      max_{x~ in Omega} E_{x' ~ rho(x~)} T(x') < Gamma    (Theorem 1, Eq. 1)

``analyse_point`` evaluates the maxima on a lattice of the ball and the expectations with ``n`` shared
Gaussian samples (common random numbers): a NUMERICAL ILLUSTRATION, not a certificate (a lattice can miss a
thin region and Monte Carlo has error). Certified radii for the same point come from ``cert_core.methods.margin.radii``.
Shapes: points (P, 2), noise (n, 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cert_core.methods.margin.radii import margin
from cert_core.validation import check_choice, check_float, check_int

GAMMA = {"zero_one": 0.5, "margin": 0.0}


@dataclass(frozen=True)
class PointAnalysis:
    loss: str  # "zero_one" | "margin"
    gamma: float  # Condition 1's constant for the loss
    label: int  # c: the class analysed (the base prediction at x)
    average: float  # E_rho(x) T
    worst: float  # max over the lattice of Omega of T
    smoothed: float  # max over the lattice of Omega of E_rho(x~) T
    worst_point: tuple[float, float]  # where the worst-case max is attained
    smoothed_point: tuple[float, float]  # where the smoothed max is attained

    def safe(self, value: float) -> bool:
        return value < self.gamma


def disk_lattice(center, radius: float, per_axis: int) -> np.ndarray:
    """Points of a square lattice inside the closed disk, plus 4 per_axis points on its circle: (P, 2)."""
    t = np.linspace(-radius, radius, per_axis)
    gx, gy = np.meshgrid(t, t)
    inside = gx ** 2 + gy ** 2 <= radius ** 2 + 1e-12
    angles = np.linspace(0, 2 * np.pi, 4 * per_axis, endpoint=False)
    ring = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.asarray(center, dtype=np.float64) + np.concatenate([np.stack([gx[inside], gy[inside]], 1), ring])


def _loss(model, points: torch.Tensor, label: int, loss: str) -> torch.Tensor:
    logits = model(points)
    labels = torch.full((len(points),), label, dtype=torch.int64)
    if loss == "margin":
        return margin(logits, labels)
    return (logits.argmax(1) != labels).to(logits.dtype)


@torch.no_grad()
def analyse_point(model, point, eps: float, sigma: float, loss: str = "margin", n: int = 500,
                  per_axis: int = 21, seed: int = 0) -> PointAnalysis:
    """Average, worst and smoothed analyses of Figure 1 at ``point`` for a 2D model (see module doc)."""
    func = "analyse_point"
    check_choice(loss, "loss", func, tuple(GAMMA))
    check_float(eps, "eps", func, low=0.0, high=100.0)
    check_float(sigma, "sigma", func, low=0.0, high=100.0)
    check_int(n, "n", func, low=1, high=100_000)
    check_int(per_axis, "per_axis", func, low=3, high=201)
    x = torch.tensor([point], dtype=torch.float32)
    label = int(model(x).argmax(1))
    region = torch.tensor(disk_lattice(point, eps, per_axis), dtype=torch.float32)  # (P, 2)
    noise = sigma * torch.randn((n, 2), generator=torch.Generator().manual_seed(seed))  # (n, 2)
    t_region = _loss(model, region, label, loss)  # (P,)
    smoothed = torch.stack([_loss(model, (p + noise), label, loss).mean() for p in region])  # (P,)
    average = float(_loss(model, x + noise, label, loss).mean())
    iw, isx = int(t_region.argmax()), int(smoothed.argmax())
    return PointAnalysis(loss, GAMMA[loss], label, average, float(t_region[iw]), float(smoothed[isx]),
                         tuple(region[iw].tolist()), tuple(region[isx].tolist()))
