"""FGSM and PGD on base classifiers and on Gaussian-smoothed classifiers (empirical upper bounds).

* FGSM (Goodfellow et al., 2014): x + ε sign(∇ CE) for L∞, x + ε ∇/‖∇‖ for L2.
* PGD (Madry et al., 2018): ``steps`` projected gradient steps from x (optionally a random start).
* Smoothed PGD (Salman et al., 2019): PGD on the soft smoothed score log E_ε softmax(f(x' + ε))_y,
  with a shared, seeded set of noise samples. ``forward(query, noisy)`` gives the base logits used
  around ``query``, so the same attack runs on Cohen's g (forward ignores query) and on SC-RFP's g'
  (forward = the network repressed relative to the query; its masks are piecewise constant in the
  query and carry no gradient, so the gradient is the straight-through one).

An attack only proves a radius is *too large* when the found point is verified (``cert_core.methods.paths.audit``);
it never proves a certificate sound. Shapes: x (B, *D), y (B,), logits (B, K).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from cert_core.validation import check_choice, check_float, check_int

NORMS = ("linf", "l2")


def _normalise(g: torch.Tensor, norm: str) -> torch.Tensor:
    if norm == "linf":
        return g.sign()
    flat = g.flatten(1).norm(dim=1).clamp_min(1e-12)
    return g / flat.view((-1,) + (1,) * (g.ndim - 1))


def project(delta: torch.Tensor, eps: torch.Tensor | float, norm: str) -> torch.Tensor:
    """Project perturbations onto the ε-ball of ``norm`` (ε per row or shared)."""
    eps = torch.as_tensor(eps, dtype=delta.dtype, device=delta.device).reshape(-1, *([1] * (delta.ndim - 1)))
    if norm == "linf":
        return torch.maximum(torch.minimum(delta, eps), -eps)
    n = delta.flatten(1).norm(dim=1).view(-1, *([1] * (delta.ndim - 1)))
    return delta * torch.clamp(eps / n.clamp_min(1e-12), max=1.0)


def _grad(loss_fn, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = loss_fn(x)
        return torch.autograd.grad(loss, x)[0]


def _check(eps, norm, func):
    check_choice(norm, "norm", func, NORMS)
    return check_float(eps, "eps", func, 0, None)


def fgsm(model, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str = "linf") -> torch.Tensor:
    """One signed (L∞) or normalised (L2) gradient step of size ε on the cross-entropy."""
    eps = _check(eps, norm, "fgsm")
    g = _grad(lambda v: F.cross_entropy(model(v), y, reduction="sum"), x)
    return (x + eps * _normalise(g, norm)).detach()


def pgd(model, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str = "linf", steps: int = 20,
        step_size: float | None = None, random_start: bool = False,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """PGD on the cross-entropy inside the ε-ball; returns the final iterate (B, *D)."""
    eps = _check(eps, norm, "pgd")
    steps = check_int(steps, "steps", "pgd", 1, 10_000)
    alpha = 2.5 * eps / steps if step_size is None else check_float(step_size, "step_size", "pgd", 0, None, True)
    delta = torch.zeros_like(x)
    if random_start:
        delta = project(eps * torch.randn(x.shape, generator=generator).to(x), eps, norm)
    for _ in range(steps):
        g = _grad(lambda v: F.cross_entropy(model(v), y, reduction="sum"), x + delta)
        delta = project(delta + alpha * _normalise(g, norm), eps, norm)
    return (x + delta).detach()


def smoothed_pgd(forward: Callable, x: torch.Tensor, y: int, eps: float, sigma: float, samples: int = 64,
                 steps: int = 20, generator: torch.Generator | None = None) -> torch.Tensor:
    """L2 PGD on the smoothed classifier's soft score around one input x (D); returns x' with ‖x' − x‖ ≤ ε.

    ``forward(query (D), noisy (S, *D)) -> (S, K)`` is the base function used around ``query``.
    """
    eps = check_float(eps, "eps", "smoothed_pgd", 0, None)
    sigma = check_float(sigma, "sigma", "smoothed_pgd", 0, None, low_open=True)
    samples = check_int(samples, "samples", "smoothed_pgd", 1, 100_000)
    steps = check_int(steps, "steps", "smoothed_pgd", 1, 10_000)
    noise = sigma * torch.randn((samples, *x.shape), generator=generator).to(x)            # (S, *D)
    alpha = 2.5 * eps / steps

    def loss(v):  # −log of the smoothed soft probability of y; ascend it
        probs = F.softmax(forward(v[0].detach(), v + noise), dim=1).mean(0)                  # (K,)
        return -torch.log(probs[y].clamp_min(1e-12))

    delta = torch.zeros_like(x)[None]
    for _ in range(steps):
        g = _grad(loss, x[None] + delta)
        delta = project(delta + alpha * _normalise(g, "l2"), eps, "l2")
    return (x + delta[0]).detach()
