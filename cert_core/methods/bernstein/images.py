"""The Bernstein paper's image pipeline (Kao, Ko & Lu, Fig. 2, Algorithm 2, Eq. 4) on a bottleneck model.

A bottleneck model (``ModelConfig(arch="bottleneck")``) is G -> Sigmoid -> head: a spectral-normalised
feature extractor G maps an image to x0 = G(I) in [0, 1]^d, and the head classifies features. We
Bernstein-smooth the head (``cert_core.methods.bernstein.polynomial``), certify x0 in feature space, and move radii to input
space with Eq. 4: ||G(I) - G(I')||_2 <= L_G ||I - I'||_2, so a feature-space l2 certificate R gives the
input-space certificate R / L_G.

The paper assumes L_G = 1 because every layer is spectrally normalised. That is not what one gets: the
normalisation divides by a power-iteration *estimate* (slightly below the true norm) and the product of
layer norms is what composes. We use the guaranteed bound ``lipschitz.lipschitz_upper_bound(G)``, which
also counts the Sigmoid's 1/4. Input-space radii exist for p = 2 only (L_G is an l2 constant).

Shapes: M images of shape D, d features, K classes.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cert_core.methods.bernstein import polynomial as bernstein
from cert_core.methods.bernstein import radii as bernstein_radii
from cert_core.methods.lipschitz.bounds import lipschitz_estimate, lipschitz_upper_bound
from cert_core.validation import check_choice, check_int


@dataclass(frozen=True, eq=False)
class Bottleneck:
    extractor: nn.Sequential  # G: (M, *D) -> (M, d), ends with the Sigmoid
    head: nn.Sequential       # (M, d) -> (M, K)
    d: int                    # number of features


def split(model: nn.Module) -> Bottleneck:
    """Split a Sequential at its Sigmoid layer into (G, head); ValueError for a model with no bottleneck."""
    layers = list(model) if isinstance(model, nn.Sequential) else []
    cut = [i for i, m in enumerate(layers) if isinstance(m, nn.Sigmoid)]
    if not cut or cut[-1] == len(layers) - 1:
        raise ValueError("This model has no bottleneck: Bernstein certification needs a feature extractor "
                         "that ends in a Sigmoid (features in [0, 1]^d) followed by a head, e.g. the zoo's "
                         "digits-bottleneck-d3-s0. Pick or train a model with arch 'bottleneck'.")
    i = cut[-1]
    extractor, head = model[:i + 1], model[i + 1:]
    first = next((m for m in head if isinstance(m, nn.Linear)), None)
    if first is None:
        raise ValueError("This model's head (after the Sigmoid) has no Linear layer, so d is unknown.")
    return Bottleneck(extractor, head, first.in_features)


@dataclass(frozen=True, eq=False)
class ImageCertification:
    """Per-example results of Algorithm 2 and of the sound certificate, in feature and input space."""
    labels: np.ndarray           # (M,) true classes
    base_prediction: np.ndarray  # (M,) argmax of the unsmoothed model
    prediction: np.ndarray       # (M,) argmax of the Bernstein-smoothed head at G(I)
    features: np.ndarray         # (M, d) x0 = G(I)
    root_radius: np.ndarray      # (M,) Alg. 2's ||x0 - sol||_2 in feature space (no guarantee)
    on_boundary: np.ndarray      # (M,) bool: LM's projected solution really changes the class
    sound_radius: np.ndarray     # (M,) feature-space Lipschitz certificate (guaranteed on [0,1]^d)
    lipschitz_g: float           # guaranteed upper bound on G's l2 Lipschitz constant
    lipschitz_g_estimate: float  # product of power-iteration estimates (what "SN gives 1" hopes for)
    n: int                       # Bernstein degree
    seconds_per_example: float   # wall clock of the certification loop / M

    @property
    def correct(self) -> np.ndarray:
        return self.prediction == self.labels

    @property
    def input_sound_radius(self) -> np.ndarray:
        """Eq. 4 with the bound we computed: a guaranteed input-space l2 radius."""   # (M,)
        return self.sound_radius / self.lipschitz_g

    @property
    def input_root_radius(self) -> np.ndarray:
        """Alg. 2's feature radius through Eq. 4 (input perturbation needed to reach *that* point)."""
        return self.root_radius / self.lipschitz_g


def certify_images(model: nn.Module, x, y, n: int, smooth: str = "logits", max_nfev: int | None = None,
                   poly: bernstein.BernsteinPolynomial | None = None, root_finding: bool = True) -> ImageCertification:
    """Algorithm 2 for every image in ``x`` (M, *D) plus the sound certificate; deterministic.
    ``root_finding=False`` skips LM (root radii are NaN): the sound certificate alone is ~1000x cheaper."""
    func = "certify_images"
    n = check_int(n, "n", func, 1, bernstein.MAX_DEGREE)
    smooth = check_choice(smooth, "smooth", func, bernstein.SMOOTH_MODES)
    parts = split(model)
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    labels = np.asarray(y, dtype=np.int64).reshape(-1)
    if len(x) != len(labels) or len(x) == 0:
        raise ValueError(f"The 'x' and 'y' parameters of {func} must hold the same number (>= 1) of "
                         f"examples. Got {len(x)} and {len(labels)} instead.")
    shape = tuple(x.shape[1:])
    lip = lipschitz_upper_bound(parts.extractor, shape)
    lip_est = lipschitz_estimate(parts.extractor, shape)
    poly = poly if poly is not None else bernstein.fit(parts.head, n, parts.d, smooth)
    model.eval()
    with torch.no_grad():
        feats = parts.extractor(x).double().numpy()                        # (M, d)
        base = model(x).argmax(1).numpy()                                   # (M,)
    start = time.perf_counter()
    roots = [bernstein_radii.root_finding_radius(poly, f, 2.0, max_nfev) if root_finding else None for f in feats]
    certs = [bernstein_radii.lipschitz_certificate(poly, f, 2.0) for f in feats]
    per = (time.perf_counter() - start) / len(feats)
    return ImageCertification(labels, base, np.array([c.prediction for c in certs]), feats,
                              np.array([r.radius if r else np.nan for r in roots]),
                              np.array([bool(r and r.on_boundary) for r in roots]),
                              np.array([c.radius for c in certs]), lip, lip_est, n, per)


def pgd_upper_bound(model: nn.Module, poly: bernstein.BernsteinPolynomial, x, y, eps: float,
                    steps: int = 20, seed: int = 0) -> np.ndarray:
    """Figure 5's empirical check: l2 PGD on the *smoothed* classifier head~(G(I)) (end-to-end
    differentiable, as the paper notes). True where an attack of size <= eps flips a correct prediction,
    so "correct and not flipped" is an upper bound on certified accuracy at eps.      # (M,) bool"""
    parts = split(model)
    coeffs = torch.as_tensor(poly.coeffs)
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    labels = torch.as_tensor(np.asarray(y), dtype=torch.int64)

    def smoothed(inp):
        f = parts.extractor(inp).double()                                   # (M, d)
        out = coeffs.unsqueeze(0).expand(len(f), *coeffs.shape)
        k = torch.arange(poly.n + 1, dtype=torch.float64)
        binom = torch.tensor([math.comb(poly.n, int(i)) for i in k], dtype=torch.float64)
        for j in range(poly.d):
            t = f[:, j:j + 1]
            b = binom * t ** k * (1 - t) ** (poly.n - k)                    # (M, n+1)
            out = torch.einsum("mk,mk...->m...", b, out)
        return out                                                          # (M, K)

    gen = torch.Generator().manual_seed(seed)
    delta = torch.randn(x.shape, generator=gen) * 1e-3
    for _ in range(steps if eps > 0 else 0):
        delta.requires_grad_(True)
        loss = nn.functional.cross_entropy(smoothed(x + delta), labels)
        (grad,) = torch.autograd.grad(loss, delta)
        g = grad.reshape(len(x), -1)
        step = (g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)).reshape(x.shape) * (2.5 * eps / steps)
        delta = (delta.detach() + step).reshape(len(x), -1)
        delta = (delta * (eps / delta.norm(dim=1, keepdim=True).clamp_min(eps))).reshape(x.shape)
    with torch.no_grad():
        clean = smoothed(x).argmax(1)
        adv = smoothed(x + delta).argmax(1) if eps > 0 else clean
    return ((clean == labels) & (adv != labels)).numpy()
