"""Activation patterns, float and fixed neurons, fixed/float path sums (SC-RFP itself: ``scrfp``).

Implements Jiang, "On explaining neural network robustness with activation path" (the paper in
``shared/papers/activation-paths-float-neurons-sc-rfp.md``), on the networks of ``cert_core.methods.paths.network``:

* Definition 3: a neuron is *fixed* in a region R if its pattern is the same at every point of R, else
  *float*. R is represented by the centre x and a finite set of points (noise samples, a grid, x').
* Definition 4/5, Appendix B (Lemma 2): f(x') is the sum of the values of all input paths and bias
  paths; Theorem 1.1: f = Z_fixed + Z_float, Z_fixed the paths whose every neuron is fixed.
  ``path_sums`` computes both parts *independently* with two streams (fixed-only paths / paths that
  crossed a float neuron), so their sum equals f only because the decomposition is exact. A bias
  enters the fixed stream at its layer and is judged by the neurons after it; an intercept c_a
  (Hardtanh's saturation) is a path that starts at its neuron (our extension of Appendix B).

Shapes: B batch, D input shape, K classes; per neuron layer, U is the unit shape (e.g. (64,) or (C, H, W)).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cert_core.methods.paths.network import MaxPool, Network, as_network, linear_part, network_inputs
from cert_core.validation import check_choice, check_float, check_int

REGIONS = ("pairwise", "set")


# ------------------------------------------------------------------------------ patterns and neurons
def forward_patterns(net: Network, x: torch.Tensor):
    """f(x) and the pattern of every neuron layer at x, for a network from ``as_network``."""   # (B, K), [(B, *U)]
    patterns, h = [], x
    with torch.no_grad():
        for s in net.steps:
            if not isinstance(s, nn.Module):
                patterns.append(s.pattern(h))
            h = s(h)
    return h, patterns


def activation_patterns(model, x: torch.Tensor) -> list[torch.Tensor]:
    """Definition 1: the pattern of each neuron layer at each input.   x (B, *D) -> [(B, *U)] integer."""
    net = as_network(model)
    return forward_patterns(net, network_inputs(x, net, "activation_patterns"))[1]


def float_neurons(model, center: torch.Tensor, points: torch.Tensor, region: str = "set") -> list[torch.Tensor]:
    """Definition 3: float-neuron masks of the region spanned by ``center`` (D) and ``points`` (N, *D).

    region="set": one mask for R = {center} ∪ points, shape (1, *U) per layer (True = float).
    region="pairwise": one mask per point for R = {center, point}, shape (N, *U) (Algorithm 1, Table 1).
    """
    check_choice(region, "region", "float_neurons", REGIONS)
    net = as_network(model)
    pts = network_inputs(points, net, "float_neurons")
    c = network_inputs(center, net, "float_neurons", single=True)
    pc = forward_patterns(net, c)[1]
    pp = forward_patterns(net, pts)[1]
    masks = [a != b for a, b in zip(pc, pp)]                            # [(N, *U)]
    return masks if region == "pairwise" else [m.any(0, keepdim=True) for m in masks]


@dataclass(frozen=True)
class FixedRatio:
    """Figure 2: the fraction of neurons whose pattern at x + ε equals the pattern at x."""
    layers: tuple[str, ...]          # neuron-layer labels
    per_layer: tuple[float, ...]     # mean fixed ratio per layer, over inputs and noise samples
    overall: float                   # fixed neurons / all neurons, over inputs and samples
    per_input: tuple[float, ...]     # overall fixed ratio of each input, (M,)
    sigma: float
    samples: int


def fixed_ratio(model, xs: torch.Tensor, sigma: float, samples: int = 32,
                generator: torch.Generator | None = None) -> FixedRatio:
    """Fixed-neuron ratio between x and x + ε, ε ~ N(0, σ² I), per layer and overall (Figure 2)."""
    func = "fixed_ratio"
    sigma = check_float(sigma, "sigma", func, 0, None)
    samples = check_int(samples, "samples", func, 1, 100_000)
    net = as_network(model)
    xs = network_inputs(xs, net, func)
    m = xs.shape[0]
    noisy = xs.repeat_interleave(samples, 0)
    noisy = noisy + sigma * torch.randn(noisy.shape, generator=generator, dtype=noisy.dtype).to(noisy.device)
    pc = forward_patterns(net, xs)[1]
    pn = forward_patterns(net, noisy)[1]
    same = [(b.view(m, samples, -1) == a.view(m, 1, -1)).double() for a, b in zip(pc, pn)]  # [(M, S, U)]
    per_layer = tuple(float(s.mean()) for s in same)
    fixed = torch.cat(same, dim=2)                                                       # (M, S, ΣU)
    return FixedRatio(net.layer_names, per_layer, float(fixed.mean()), tuple(fixed.mean((1, 2)).tolist()),
                      sigma, samples)


# ------------------------------------------------------------------------------ path sums (Theorem 1)
def path_sums(model, points: torch.Tensor, patterns: list, fixed: list):
    """(Z_fixed, Z_float) at ``points`` (N, *D) for given per-layer ``patterns`` (slopes used on every path)
    and ``fixed`` masks (True = fixed neuron), both broadcastable to (N, *U).        -> (N, K), (N, K)

    Exact path-sum semantics of Lemma 2: every input path and bias path is counted once, in Z_fixed if all
    its neurons are fixed, else in Z_float. With patterns = the points' own patterns, Z_fixed + Z_float = f.
    """
    net = as_network(model)
    fs, ts = network_inputs(points, net, "path_sums"), None
    ts = torch.zeros_like(fs)
    layer = 0
    with torch.no_grad():
        for s in net.steps:
            if isinstance(s, nn.Module):
                fs, ts = s(fs), linear_part(s, ts)          # biases start new paths in the fixed stream
                continue
            p, keep = patterns[layer], fixed[layer].to(torch.bool)
            layer += 1
            if isinstance(s, MaxPool):
                sf, st = s.select(fs, p.expand(fs.shape[0], *p.shape[1:])), s.select(ts, p.expand(ts.shape[0], *p.shape[1:]))
                fs, ts = torch.where(keep, sf, 0.0), torch.where(keep, st, sf + st)
            else:
                d, c = s.affine(p, fs)
                fs, ts = torch.where(keep, d * fs + c, 0.0), torch.where(keep, d * ts, d * (fs + ts) + c)
    return fs, ts


@dataclass(frozen=True)
class Decomposition:
    """f = Z_fixed + Z_float at each point (Theorem 1.1)."""
    output: torch.Tensor             # (N, K) f(x') from the model's own forward
    fixed: torch.Tensor              # (N, K) Z_fixed(x', A'; R)
    float: torch.Tensor              # (N, K) Z_float(x', A'; R)
    float_masks: tuple               # per layer (1 or N, *U), True = float neuron of R
    float_ratio: torch.Tensor        # (1 or N,) fraction of float neurons


def decompose(model, center: torch.Tensor, points: torch.Tensor, region: str = "pairwise",
              dtype: torch.dtype = torch.float64) -> Decomposition:
    """Theorem 1.1 at each point x' of ``points`` for the region R of ``center`` and the points.

    region="pairwise": R = {x, x'} per point, as in Table 1 and Algorithm 1 (Z_fixed is then affine only
    where the float set does not change). region="set": R = {x} ∪ points (e.g. a grid), so one float set
    holds for every point and Z_fixed is one affine map over R (Lemma 3, Figure 6a). Computed in ``dtype``.
    """
    net = as_network(model, dtype)
    masks = float_neurons(net, center, points, region)
    pts = network_inputs(points, net, "decompose")
    out, own = forward_patterns(net, pts)
    z_fixed, z_float = path_sums(net, pts, own, [~m for m in masks])
    total = sum(m.flatten(1).sum(1) for m in masks) / sum(m[0].numel() for m in masks)
    return Decomposition(out, z_fixed, z_float, tuple(masks), total.to(dtype))


def jacobian(model, x: torch.Tensor) -> torch.Tensor:
    """J(x) = ∂f/∂x of each input, flattened.   x (B, *D) -> (B, K, prod D)."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = model(x)
        rows = [torch.autograd.grad(out[:, k].sum(), x, retain_graph=True)[0].flatten(1) for k in range(out.shape[1])]
    return torch.stack(rows, 1)
