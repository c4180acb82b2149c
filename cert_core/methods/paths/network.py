"""A model as the steps the activation-path paper reads: affine maps and piecewise-linear neuron layers.

Implements Definition 1 of Jiang, "On explaining neural network robustness with activation path" (the paper in
``shared/papers/activation-paths-float-neurons-sc-rfp.md``):

* Definition 1: the generalised activation pattern. Each piecewise-linear activation has a breakpoint
  set Γ = (γ_1 < … < γ_q) splitting R into intervals U_0 … U_q; on U_a it is t -> d_a t + c_a.
  ReLU: Γ = (0,), d = (0, 1); LeakyReLU(s): Γ = (0,), d = (s, 1); Hardtanh(lo, hi) (and ReLU6):
  Γ = (lo, hi), d = (0, 1, 0), c = (lo, 0, hi). A value on a breakpoint goes to the lower interval;
  σ is continuous, so either side gives the same output. Max-pooling is piecewise linear too: its
  pattern is the arg-max inside each window (a 0/1 selection), so it is supported as a neuron layer.
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
from cert_core.models.isolated import IsolatedTorchScript

AFFINE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.Flatten, nn.Identity,
          nn.Dropout, nn.AvgPool2d)


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


def linear_part(m: nn.Module, t: torch.Tensor) -> torch.Tensor:
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


def network_inputs(x, net: Network, func: str, single: bool = False) -> torch.Tensor:
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
