"""Soundness audit of certified radii: search inside the claimed ball for a point predicted differently.

Why SC-RFP needs it (what the paper does not say). SC-RFP's base function f_x (Algorithm 1, see
``cert_core.methods.paths.scrfp``) depends on the input x, so its smoothed classifier is g'(x) = argmax_c
P(f_x(x + ε) = c). Theorem 3 applies Cohen et al.'s radius to p'_A(x); Cohen's proof needs ONE base
function for all points of the ball, so the radius certifies smooth(f_x) at x, not g' at x' ≠ x,
which uses f_{x'}. A certificate claims g'(x') = c_A for every ‖x' − x‖ < R; a point that breaks it
is a counterexample. Cohen et al.'s certificate goes through the same audit and must pass.

* 2D (``audit_2d``): exact search. Query points on a fine square grid inside the ball; g' at each one
  is computed exactly by Gaussian convolution (``cert_core.grid``). f_{x'} depends on x' only through
  the activation pattern of x' (Algorithm 1 compares with the clean pattern), so queries are grouped
  by pattern and each group's base function is convolved once. A violation is counted only when the
  winning class beats c_A by more than twice the grid's discretisation bound (0.4 h / σ).
* Images (``audit_attack``): candidates from PGD on the smoothed classifier (and on the base model)
  inside the ball, verified with PREDICT (a violation: PREDICT returns a class ≠ c_A; wrong with
  probability ≤ α). An attack finding none is evidence, not proof.

Shapes: Q queries, K classes, D the input shape.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cert_core import grid, grid_view
from cert_core.attacks import pgd, smoothed_pgd
from cert_core.methods.paths.network import as_network
from cert_core.methods.paths.neurons import activation_patterns
from cert_core.methods.paths.scrfp import ScRfpSmooth, center_patterns, scrfp_forward
from cert_core.smoothing import ABSTAIN, Smooth
from cert_core.validation import check_finite_scores, check_float, check_int


@dataclass(frozen=True)
class PointAudit:
    index: int                       # position in the audited batch
    prediction: int                  # c_A of the certificate, or ABSTAIN
    radius: float                    # the claimed certified radius
    violated: bool                   # a point inside the ball is predicted differently
    counterexample: tuple | None     # that point (flattened), the nearest one found
    distance: float                  # ‖x' − x‖₂ of the counterexample (nan if none)
    counter_prediction: int          # g'(x'), or ABSTAIN when no counterexample
    margin: float                    # p_top(x') − p_{c_A}(x') (exact 2D); nan for attacks
    checked: int                     # query points / verified candidates examined


@dataclass(frozen=True)
class AuditResult:
    method: str                      # "SC-RFP (η = 0.5)" or "Cohen et al."
    sigma: float
    eta: float | None                # None for Cohen et al.
    search: str                      # "exact grid" | "attack"
    points: tuple[PointAudit, ...]
    error: float                     # probability slack of the exact grid (0 for attacks)

    @property
    def certified(self) -> int:
        return sum(p.prediction != ABSTAIN and p.radius > 0 for p in self.points)

    @property
    def violations(self) -> int:
        return sum(p.violated for p in self.points)

    @property
    def violation_rate(self) -> float:
        """Violations among certified (non-abstained, radius > 0) points."""
        return self.violations / self.certified if self.certified else 0.0

    def worst(self) -> PointAudit | None:
        """The counterexample deepest inside its ball (smallest distance / radius)."""
        bad = [p for p in self.points if p.violated]
        return min(bad, key=lambda p: p.distance / p.radius) if bad else None


def smoother(model: nn.Module, num_classes: int, sigma: float, eta: float | None, pool: str = "paper"):
    """Cohen et al.'s ``Smooth`` (eta None) or SC-RFP's ``ScRfpSmooth`` (``pool``: its masks) with one interface."""
    return Smooth(model, num_classes, sigma) if eta is None else ScRfpSmooth(model, num_classes, sigma, eta, pool)


def exact_probabilities(model: nn.Module, queries: np.ndarray, sigma: float, eta: float | None = None,
                        spacing: float | None = None, pool: str = "paper") -> tuple[np.ndarray, float]:
    """Exact smoothed probabilities of Cohen's g (eta None) or SC-RFP's g' at 2D ``queries`` (Q, 2).

    Returns (probs (Q, K), slack) where slack = 0.4 h / σ bounds the grid error of each probability.
    """
    func = "exact_probabilities"
    sigma = check_float(sigma, "sigma", func, 0, None, low_open=True)
    q = np.asarray(queries, dtype=np.float64).reshape(-1, 2)
    h = sigma / 6 if spacing is None else check_float(spacing, "spacing", func, 0, None, True)
    net = as_network(model)
    qt = torch.as_tensor(q, dtype=torch.float32)
    if eta is None:
        groups = np.zeros(len(q), dtype=np.int64)
    else:
        key = torch.cat([p.flatten(1) for p in activation_patterns(net, qt)], 1)   # (Q, ΣU)
        groups = torch.unique(key, dim=0, return_inverse=True)[1].numpy()
    pad = int(math.ceil(grid.TRUNCATE * sigma / h)) + 1
    views, owners, pts = [], [], []
    for g in range(groups.max() + 1):
        idx = np.flatnonzero(groups == g)
        lo = q[idx].min(0) - h
        res = int(min(grid_view.MAX_RESOLUTION,
                      max(grid_view.MIN_RESOLUTION, math.ceil((q[idx].max(0) + h - lo).max() / h) + 1)))
        view = grid_view.make_view((lo[0], lo[0] + (res - 1) * h, lo[1], lo[1] + (res - 1) * h), res, func)
        t = h * (np.arange(res + 2 * pad) - pad)
        gx, gy = np.meshgrid(lo[0] + t, lo[1] + t)
        views.append((idx, view))
        pts.append(np.stack([gx.ravel(), gy.ravel()], 1))
        owners.append(np.full(gx.size, g))                 # the group's first query is its SC-RFP centre
    reps = torch.as_tensor(np.array([v[0][0] for v in views]))
    labels, k = _labels(net, np.concatenate(pts), np.concatenate(owners), qt[reps], eta, pool)
    probs, start = np.zeros((len(q), k)), 0
    for (idx, view), p in zip(views, pts):
        side = view.resolution + 2 * pad
        base = grid.BaseMap(view, labels[start:start + len(p)].reshape(side, side), (pad, pad), k, sigma)
        probs[idx] = np.stack([grid.probabilities_at(base, x, sigma) for x in q[idx]])
        start += len(p)
    return probs, grid.discretisation_error(views[0][1], sigma)


def _labels(net, points: np.ndarray, owners: np.ndarray, centres: torch.Tensor, eta, pool: str = "paper",
            chunk: int = 65_536):
    """argmax of f (eta None) or of f_{x_o} for each point's owner centre o, in chunks."""  # (P,), K
    out, k = [], None
    clean_all = center_patterns(net, centres, batched=True) if eta is not None else None  # [(G, *U)]
    with torch.no_grad():
        for s in range(0, len(points), chunk):
            z = torch.as_tensor(points[s:s + chunk], dtype=torch.float32)
            if eta is None:
                logits = net_forward(net, z)
            else:
                rows = torch.as_tensor(owners[s:s + chunk])
                clean = [p[rows] for p in clean_all]
                logits = scrfp_forward(net, clean, z, eta, pool)
            k = logits.shape[1]
            check_finite_scores(logits, "grid points of a batch")         # these labels are the exact votes
            out.append(logits.argmax(1).numpy())
    return np.concatenate(out), k


def net_forward(net, z: torch.Tensor) -> torch.Tensor:
    for s in net.steps:
        z = s(z)
    return z


def ball_grid(center, radius: float, resolution: int) -> np.ndarray:
    """Points of a square grid strictly inside the disc of ``radius`` around a 2D centre."""  # (Q, 2)
    c = np.asarray(center, dtype=np.float64)
    t = np.linspace(-radius, radius, resolution)
    gx, gy = np.meshgrid(t, t)
    pts = np.stack([gx.ravel(), gy.ravel()], 1)
    return c + pts[np.hypot(*pts.T) < radius * (1 - 1e-9)]


def audit_point(i, x, cert, model, sigma, eta, resolution, spacing, pool: str = "paper") -> PointAudit:
    """Exact search of one 2D certificate's ball (``resolution`` queries per axis); see ``audit_2d``."""
    if cert.abstained or cert.radius <= 0:
        return PointAudit(i, cert.prediction, cert.radius, False, None, math.nan, ABSTAIN, math.nan, 0)
    queries = ball_grid(x, cert.radius, resolution)
    probs, slack = exact_probabilities(model, queries, sigma, eta, spacing, pool)
    margin = probs.max(1) - probs[:, cert.prediction]                              # (Q,)
    bad = np.flatnonzero((probs.argmax(1) != cert.prediction) & (margin > 2 * slack))
    if bad.size == 0:
        return PointAudit(i, cert.prediction, cert.radius, False, None, math.nan, ABSTAIN, math.nan, len(queries))
    dist = np.hypot(*(queries[bad] - x).T)
    j = bad[int(np.argmin(dist))]
    return PointAudit(i, cert.prediction, cert.radius, True, tuple(map(float, queries[j])), float(dist.min()),
                      int(probs[j].argmax()), float(margin[j]), len(queries))


def audit_2d(model: nn.Module, xs, num_classes: int, sigma: float, eta: float | None = None, n0: int = 100,
             n: int = 10_000, alpha: float = 0.001, resolution: int = 41, spacing: float | None = None,
             seed: int = 0, pool: str = "paper") -> AuditResult:
    """Certify each 2D point of ``xs`` (M, 2) with CERTIFY (Cohen, or SC-RFP with ``eta`` and ``pool``) and search
    its ball exactly for a point where the same classifier predicts another class."""
    func = "audit_2d"
    resolution = check_int(resolution, "resolution", func, 5, 401)
    xs = np.asarray(xs, dtype=np.float64).reshape(-1, 2)
    smooth = smoother(model, num_classes, sigma, eta, pool)
    gen = torch.Generator().manual_seed(check_int(seed, "seed", func, 0))
    out, slack = [], 0.4 * (sigma / 6 if spacing is None else spacing) / sigma
    for i, x in enumerate(xs):
        cert = smooth.certify(torch.as_tensor(x, dtype=torch.float32), n0, n, alpha, 10_000, gen)
        out.append(audit_point(i, x, cert, model, sigma, eta, resolution, spacing, pool))
    return AuditResult(method_name(eta, pool), sigma, eta, "exact grid", tuple(out), slack)


def audit_attack(model: nn.Module, xs, num_classes: int, sigma: float, eta: float | None = None, n0: int = 100,
                 n: int = 1000, alpha: float = 0.001, samples: int = 32, steps: int = 10,
                 seed: int = 0, pool: str = "paper") -> AuditResult:
    """The audit for any input shape: PGD candidates inside each claimed ball, verified with PREDICT."""
    xs = torch.as_tensor(xs, dtype=torch.float32)
    smooth = smoother(model, num_classes, sigma, eta, pool)
    gen = torch.Generator().manual_seed(check_int(seed, "seed", "audit_attack", 0))
    net = as_network(model) if eta is not None else None
    forward = (lambda q, z: model(z)) if eta is None else (lambda q, z: scrfp_forward(net, q, z, eta, pool))
    out = []
    for i, x in enumerate(xs):
        cert = smooth.certify(x, n0, n, alpha, 10_000, gen)
        if cert.abstained or cert.radius <= 0:
            out.append(PointAudit(i, cert.prediction, cert.radius, False, None, math.nan, ABSTAIN, math.nan, 0))
            continue
        eps = cert.radius * (1 - 1e-6)
        y = torch.tensor([cert.prediction])
        candidates = [smoothed_pgd(forward, x, cert.prediction, eps, sigma, samples, steps, gen),
                      pgd(model, x[None], y, eps, "l2", steps)[0]]
        found = None
        for c in candidates:
            pred = smooth.predict(c, n, alpha, 10_000, gen)
            if pred not in (ABSTAIN, cert.prediction):
                found = (c, pred)
                break
        if found is None:
            out.append(PointAudit(i, cert.prediction, cert.radius, False, None, math.nan, ABSTAIN, math.nan,
                                  len(candidates)))
        else:
            c, pred = found
            out.append(PointAudit(i, cert.prediction, cert.radius, True, tuple(c.flatten().tolist()),
                                  float((c - x).norm()), pred, math.nan, len(candidates)))
    return AuditResult(method_name(eta, pool), sigma, eta, "attack", tuple(out), 0.0)


def method_name(eta, pool: str = "paper") -> str:
    if eta is None:
        return "Cohen et al."
    return f"SC-RFP (η = {eta:g})" if pool == "paper" else f"SC-RFP (η = {eta:g}, {pool})"


def constructed_network() -> nn.Sequential:
    """A 2-neuron ReLU network on which SC-RFP's certificate provably fails.

    f(x) = [0, −ReLU(x₁) + ReLU(−x₁) − 0.05]: class 1 iff x₁ < −0.05 (a linear boundary). Around a centre
    with x₁ > 0, SC-RFP (η = 1) removes the neuron that switches on for x₁ < 0, so f_x predicts class 0
    everywhere and CERTIFY claims a radius of ~3.7σ; but g' at (−0.2, 0) uses its own f_{x'} and predicts
    class 1, well inside that ball. Cohen's radius for the same point is the distance to x₁ = −0.05.
    """
    first, second = nn.Linear(2, 2), nn.Linear(2, 2)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
        first.bias.zero_()
        second.weight.copy_(torch.tensor([[0.0, 0.0], [-1.0, 1.0]]))
        second.bias.copy_(torch.tensor([0.0, -0.05]))
    return nn.Sequential(first, nn.ReLU(), second).eval()
