"""Activation patterns, float and fixed neurons, fixed/float path sums and SC-RFP.

Implements Jiang, "On explaining neural network robustness with activation path" (the paper in
``shared/papers/activation-paths-float-neurons-sc-rfp.md``):

* Definition 1: the generalised activation pattern. Each piecewise-linear activation has a breakpoint
  set Γ = (γ_1 < … < γ_q) splitting R into intervals U_0 … U_q; on U_a it is t -> d_a t + c_a.
  ReLU: Γ = (0,), d = (0, 1); LeakyReLU(s): Γ = (0,), d = (s, 1); Hardtanh(lo, hi) (and ReLU6):
  Γ = (lo, hi), d = (0, 1, 0), c = (lo, 0, hi). A value on a breakpoint goes to the lower interval;
  σ is continuous, so either side gives the same output. Max-pooling is piecewise linear too: its
  pattern is the arg-max inside each window (a 0/1 selection), so it is supported as a neuron layer.
* Definition 3: a neuron is *fixed* in a region R if its pattern is the same at every point of R, else
  *float*. R is represented by the centre x and a finite set of points (noise samples, a grid, x').
* Definition 4/5, Appendix B (Lemma 2): f(x') is the sum of the values of all input paths and bias
  paths; Theorem 1.1: f = Z_fixed + Z_float, Z_fixed the paths whose every neuron is fixed.
  ``path_sums`` computes both parts *independently* with two streams (fixed-only paths / paths that
  crossed a float neuron), so their sum equals f only because the decomposition is exact. A bias
  enters the fixed stream at its layer and is judged by the neurons after it; an intercept c_a
  (Hardtanh's saturation) is a path that starts at its neuron (our extension of Appendix B).
* Algorithm 1 (SC-RFP): layer by layer, units whose pattern at x + ε differs from x are float and their
  pre-activations are scaled by (1 − η). ``ScRfpSmooth`` runs Cohen et al.'s PREDICT/CERTIFY on it.
  ``pool`` says which masks are repressed. "paper" (default): only the activations' masks I_i^T, as
  Algorithm 1 prints them (z_i before σ) and as APCT's DualNet does (its hooks sit on the blocks' ReLUs
  only; max-pool windows pass through untouched). "repress-max-pool": our extension that also treats a
  max-pool window whose arg-max moved as float and scales its output by (1 − η); on a CNN it changes the
  votes and p_A (see ``tests/test_paths.py``), so it is a named variant, never the default.
  NOT SOUND: the base function depends on x, so the radius certifies smooth(f_x) at x only, not the
  SC-RFP classifier at nearby points (see ``cert_core.methods.paths.audit``).
* A ``BjorckLinear`` (orthogonal) layer is affine at inference: it is materialised as an nn.Linear holding
  its orthonormalised weight, so 1-Lipschitz models decompose like any ReLU network.

Shapes: B batch, D input shape, K classes; per neuron layer, U is the unit shape (e.g. (64,) or (C, H, W)).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cert_core.models.orthogonal import BjorckLinear
from cert_core.smoothing import Certificate, Smooth
from cert_core.validation import check_choice, check_float, check_int
from cert_core.models.isolated import IsolatedTorchScript

AFFINE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.Flatten, nn.Identity,
          nn.Dropout, nn.AvgPool2d)
REGIONS = ("pairwise", "set")
POOLS = ("paper", "repress-max-pool")   # SC-RFP: which neuron layers Algorithm 1 represses (see the docstring)


# ------------------------------------------------------------------------------ the network as steps
@dataclass(frozen=True, eq=False)
class Activation:
    """An elementwise piecewise-linear activation: breakpoints Γ, slope d_a and intercept c_a per interval."""
    name: str
    breakpoints: tuple[float, ...]   # Γ, increasing
    slopes: tuple[float, ...]        # d_a, len(Γ) + 1
    intercepts: tuple[float, ...]    # c_a, len(Γ) + 1
    fn: nn.Module                    # the layer itself (its fast kernel computes σ)

    def pattern(self, z: torch.Tensor) -> torch.Tensor:
        """Interval index a of each pre-activation (Definition 1): how many breakpoints lie below z."""
        a = (z > self.breakpoints[0]).to(torch.uint8)
        for g in self.breakpoints[1:]:
            a += z > g
        return a                                                                 # uint8, same shape

    def affine(self, pattern: torch.Tensor, like: torch.Tensor):
        """(d, c) of each unit for a given pattern."""
        d = torch.tensor(self.slopes, dtype=like.dtype, device=like.device)[pattern.long()]
        c = torch.tensor(self.intercepts, dtype=like.dtype, device=like.device)[pattern.long()]
        return d, c

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.fn(z)


@dataclass(frozen=True, eq=False)
class MaxPool:
    """2D max-pooling as a neuron layer; its pattern is the flat arg-max index of each window."""
    module: nn.MaxPool2d
    name: str = "MaxPool2d"

    def pattern(self, z: torch.Tensor) -> torch.Tensor:
        m = self.module
        return F.max_pool2d(z, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, True)[1]

    @staticmethod
    def select(z: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """z at the selected window positions: (B, C, H, W), (B, C, h, w) -> (B, C, h, w)."""
        return z.flatten(2).gather(2, idx.flatten(2)).view(idx.shape)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.module(z)


def _activation(module: nn.Module):
    if isinstance(module, nn.ReLU):
        return Activation("ReLU", (0.0,), (0.0, 1.0), (0.0, 0.0), module)
    if isinstance(module, nn.LeakyReLU):
        s = float(module.negative_slope)
        return Activation(f"LeakyReLU({s:g})", (0.0,), (s, 1.0), (0.0, 0.0), module)
    if isinstance(module, nn.Hardtanh):  # ReLU6 is a Hardtanh(0, 6)
        lo, hi = float(module.min_val), float(module.max_val)
        return Activation(f"Hardtanh({lo:g}, {hi:g})", (lo, hi), (0.0, 1.0, 0.0), (lo, 0.0, hi), module)
    if isinstance(module, nn.MaxPool2d):
        if module.return_indices:
            raise ValueError("MaxPool2d(return_indices=True) returns a tuple; activation paths need a plain MaxPool2d.")
        return MaxPool(module)
    return None


def _is_affine(module: nn.Module) -> bool:
    from cert_core.models.architectures import Normalize  # the zoo's in-model normalisation is an affine map
    return isinstance(module, AFFINE + (Normalize,))


def _flat(model: nn.Module, prefix: str = ""):
    if isinstance(model, (torch.jit.ScriptModule, IsolatedTorchScript)):
        raise ValueError("The 'model' parameter of activation paths cannot be a TorchScript model: its layers "
                         "cannot be followed one by one. Load it as a bundle (cert_core.models.bundles.save_bundle).")
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"The 'model' parameter of activation paths must be an nn.Sequential of Linear / Conv2d / "
                         f"BatchNorm / Flatten and ReLU / LeakyReLU / Hardtanh / MaxPool2d layers. Got "
                         f"{type(model).__name__}{' at ' + prefix if prefix else ''}, whose forward cannot be "
                         f"followed layer by layer.")
    for i, m in enumerate(model):
        name = f"{prefix}{i}"
        if isinstance(m, nn.Sequential):
            yield from _flat(m, name + ".")
        else:
            yield name, m


@dataclass(frozen=True, eq=False)
class Network:
    """A model as a sequence of affine modules and neuron layers (activations, max-pools)."""
    steps: tuple            # nn.Module (affine) | Activation | MaxPool
    layer_names: tuple      # one label per neuron layer, e.g. "layer 2: ReLU"

    @property
    def neuron_layers(self) -> list:
        return [s for s in self.steps if not isinstance(s, nn.Module)]


def as_network(model: nn.Module, dtype: torch.dtype | None = None) -> Network:
    """Parse ``model`` (an nn.Sequential, nested allowed) into a ``Network``; ValueError names any
    unsupported layer. With ``dtype`` the network works on a copy of the model in that dtype."""
    if isinstance(model, Network):
        return model
    steps, names = [], []
    if dtype is not None and isinstance(model, nn.Module) and not isinstance(
            model, (torch.jit.ScriptModule, IsolatedTorchScript)):
        model = copy.deepcopy(model).to(dtype)
    for name, m in _flat(model):
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.running_mean is None:
            raise ValueError(f"Layer {name} ({type(m).__name__}) has no running statistics, so it is not affine in "
                             "eval mode; activation paths need BatchNorm with track_running_stats=True.")
        act = _activation(m)
        if isinstance(m, BjorckLinear):
            steps.append(_materialise_bjorck(m))
        elif act is not None:
            steps.append(act)
            names.append(f"layer {name}: {act.name}")
        elif _is_affine(m):
            steps.append(m.eval())
        else:
            raise ValueError(f"Layer {name} ({type(m).__name__}) is not supported by activation paths: they need "
                             "affine layers (Linear, BjorckLinear, Conv2d, BatchNorm, Flatten) and piecewise-linear activations "
                             "(ReLU, LeakyReLU, Hardtanh, MaxPool2d); smooth activations have no activation pattern.")
    if not names:
        raise ValueError("The 'model' parameter of activation paths has no piecewise-linear activation: "
                         "it is affine, so every neuron path is trivially fixed.")
    return Network(tuple(steps), tuple(names))


def _materialise_bjorck(m: BjorckLinear) -> nn.Linear:
    """A Björck layer at inference is the affine map x -> A x + b with A = ``m.ortho_weight()`` (the
    orthonormalised matrix it applies): a plain nn.Linear holding a detached copy of A and b."""
    with torch.no_grad():
        w = m.ortho_weight().detach().clone()
        lin = nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, device=w.device, dtype=w.dtype)
        lin.weight.copy_(w)
        if m.bias is not None:
            lin.bias.copy_(m.bias)
    return lin.eval()


def _linear_part(m: nn.Module, t: torch.Tensor) -> torch.Tensor:
    """The affine module without its bias (the same map on path values that carry no bias)."""
    from cert_core.models.architectures import Normalize
    if isinstance(m, nn.Linear):
        return F.linear(t, m.weight)
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        return m._conv_forward(t, m.weight, None)
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        scale = torch.rsqrt(m.running_var + m.eps)
        scale = scale * m.weight if m.weight is not None else scale
        return t * scale.view((1, -1) + (1,) * (t.ndim - 2))
    if isinstance(m, Normalize):
        return t / m.std
    return m(t)  # Flatten, Identity, Dropout (eval), AvgPool2d: linear, no bias


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
    return forward_patterns(net, _inputs(x, net, "activation_patterns"))[1]


def float_neurons(model, center: torch.Tensor, points: torch.Tensor, region: str = "set") -> list[torch.Tensor]:
    """Definition 3: float-neuron masks of the region spanned by ``center`` (D) and ``points`` (N, *D).

    region="set": one mask for R = {center} ∪ points, shape (1, *U) per layer (True = float).
    region="pairwise": one mask per point for R = {center, point}, shape (N, *U) (Algorithm 1, Table 1).
    """
    check_choice(region, "region", "float_neurons", REGIONS)
    net = as_network(model)
    pts = _inputs(points, net, "float_neurons")
    c = _inputs(center, net, "float_neurons", single=True)
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
    xs = _inputs(xs, net, func)
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
    fs, ts = _inputs(points, net, "path_sums"), None
    ts = torch.zeros_like(fs)
    layer = 0
    with torch.no_grad():
        for s in net.steps:
            if isinstance(s, nn.Module):
                fs, ts = s(fs), _linear_part(s, ts)          # biases start new paths in the fixed stream
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
    pts = _inputs(points, net, "decompose")
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


# ------------------------------------------------------------------------------ SC-RFP (Algorithm 1)
def center_patterns(model, center: torch.Tensor, batched: bool = False) -> list[torch.Tensor]:
    """The clean patterns of SC-RFP's centre x (D), or of one centre per row (N, *D) when ``batched``."""
    net = as_network(model)
    return forward_patterns(net, _inputs(center, net, "scrfp_forward", single=not batched))[1]  # [(1|N, *U)]


def scrfp_forward(model, center, noisy: torch.Tensor, eta: float, pool: str = "paper") -> torch.Tensor:
    """Algorithm 1's inner loop: logits of the repressed network at ``noisy`` (N, *D) -> (N, K).

    ``center`` is x (D), or precomputed ``center_patterns`` (one centre, or one per row of ``noisy``). At every
    activation layer, units whose pattern at the (repressed) noisy input differs from the clean pattern at x
    have their pre-activation scaled by (1 − η) before the activation. Max-pooling is left as it is
    (pool="paper", Algorithm 1's masks), or, with pool="repress-max-pool", a window whose arg-max moved gives
    (1 − η) max (positive homogeneity). η = 0 gives f exactly.
    """
    eta = check_float(eta, "eta", "scrfp_forward", 0, 1)
    pool = check_choice(pool, "pool", "scrfp_forward", POOLS)
    net = as_network(model)
    clean = center if isinstance(center, list) else center_patterns(net, center)
    h = _inputs(noisy, net, "scrfp_forward")
    layer = 0
    for s in net.steps:
        if isinstance(s, nn.Module):
            h = s(h)
            continue
        layer += 1
        if isinstance(s, MaxPool):
            if pool == "paper":
                h = s(h)                                                         # not a block of Algorithm 1
            else:
                floating = s.pattern(h) != clean[layer - 1]                       # (N, *U)
                h = torch.where(floating, (1.0 - eta) * s(h), s(h))
        else:
            floating = s.pattern(h) != clean[layer - 1]                           # (N, *U)
            h = s(torch.where(floating, (1.0 - eta) * h, h))
    return h


class Repressed(nn.Module):
    """f_x of SC-RFP: the network repressed relative to a fixed centre x; maps (B, *D) -> (B, K)."""

    def __init__(self, model, center: torch.Tensor, eta: float, pool: str = "paper"):
        super().__init__()
        self.net = as_network(model)
        self.register_buffer("center", torch.as_tensor(center).detach().clone())
        self.eta = check_float(eta, "eta", "Repressed", 0, 1)
        self.pool = check_choice(pool, "pool", "Repressed", POOLS)
        self.clean = center_patterns(self.net, self.center)
        self._params = nn.ParameterList([p for s in self.net.steps if isinstance(s, nn.Module) for p in s.parameters()])

    def forward(self, x):
        return scrfp_forward(self.net, self.clean, x, self.eta, self.pool)


class ScRfpSmooth:
    """The SC-RFP smoothed classifier g'(x) = argmax_c P(f_x(x + ε) = c) with PREDICT / CERTIFY.

    ``certify`` returns the radius the paper claims (Theorem 3: Cohen's formula on SC-RFP's counts).
    That radius is NOT a guarantee for g' at nearby points, whose base function f_{x'} differs.
    ``pool`` picks the masks: "paper" (Algorithm 1, the default) or the named "repress-max-pool" variant.
    """

    def __init__(self, model: nn.Module, num_classes: int, sigma: float, eta: float, pool: str = "paper"):
        self.net = as_network(model)
        self.num_classes = check_int(num_classes, "num_classes", "ScRfpSmooth", low=2)
        self.sigma = check_float(sigma, "sigma", "ScRfpSmooth", 0, None, low_open=True)
        self.eta = check_float(eta, "eta", "ScRfpSmooth", 0, 1)
        self.pool = check_choice(pool, "pool", "ScRfpSmooth", POOLS)

    def at(self, x: torch.Tensor) -> Smooth:
        """Cohen's smoothing of the repressed base function f_x of centre x."""
        return Smooth(Repressed(self.net, x, self.eta, self.pool), self.num_classes, self.sigma)

    def predict(self, x, n: int, alpha: float, batch_size: int = 1000, generator=None) -> int:
        return self.at(torch.as_tensor(x)).predict(x, n, alpha, batch_size, generator)

    def certify(self, x, n0: int, n: int, alpha: float, batch_size: int = 1000, generator=None) -> Certificate:
        return self.at(torch.as_tensor(x)).certify(x, n0, n, alpha, batch_size, generator)

    def certify_batch(self, xs, n0: int, n: int, alpha: float, batch_size: int = 1000,
                      generator=None) -> list[Certificate]:
        return [self.certify(x, n0, n, alpha, batch_size, generator) for x in torch.as_tensor(xs)]


def _inputs(x, net: Network, func: str, single: bool = False) -> torch.Tensor:
    """A float tensor in the network's dtype; ``single`` adds the batch axis to one input."""
    x = torch.as_tensor(x)
    if not torch.is_floating_point(x):
        x = x.float()
    if not torch.isfinite(x).all():
        raise ValueError(f"The inputs of {func} must be finite. Got NaN or inf instead.")
    p = next((q for s in net.steps if isinstance(s, nn.Module) for q in s.parameters()), None)
    if p is not None:
        x = x.to(device=p.device, dtype=p.dtype)
    return x.unsqueeze(0) if single else x
