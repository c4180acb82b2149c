"""A certified l2 Lipschitz upper bound for Sequential models, layer by layer.

References: the lecture's Theorem 0 (an L-Lipschitz f is robust within (P_A - P_B) / (2L)) needs L; the SRA
paper (Rodrigues Crespo & Teramae, Eq. 5-6) needs the Lipschitz constant K of the logit map; Miyato et al.
(2018) spectral normalisation. The bound is the product of per-layer bounds (Lipschitz constants compose
multiplicatively), which is a guarantee but usually loose for deep networks (the lecture's point).

Per layer: ``cert_core.methods.lipschitz.spectral`` (guaranteed spectral norms of linear layers and pools);
the activations' constants are known exactly.

Shapes: ``input_shape`` excludes the batch dimension, e.g. (2,) or (1, 8, 8).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from cert_core.methods.lipschitz.spectral import avg_pool_norm, check_input_shape, max_pool_bound, spectral_norm
from cert_core.models.architectures import Normalize
from cert_core.models.orthogonal import BjorckLinear
from cert_core.models.isolated import IsolatedTorchScript
from cert_core.validation import check_float, check_int
from cert_core.tensors import flat_layers, model_device, model_dtype


@dataclass(frozen=True)
class LayerBound:
    index: int  # position in the flattened Sequential
    name: str  # layer class name
    input_shape: tuple[int, ...]  # shape the layer sees (no batch dim)
    upper: float  # guaranteed Lipschitz upper bound of this layer
    estimate: float  # lower estimate (== upper for layers whose constant is known exactly)
    note: str  # where the number comes from


SUPPORTED = ("Linear", "BjorckLinear", "Conv2d", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "MaxPool2d",
             "AvgPool2d", "Flatten", "Normalize", "Identity", "Dropout", "BatchNorm (eval)")


def _layer_bound(i, layer, shape, out_shape, tol, max_iter) -> tuple[float, float, str]:
    if isinstance(layer, (nn.Linear, nn.Conv2d, BjorckLinear)):
        s = spectral_norm(layer, shape, tol=tol, max_iter=max_iter)
        return s.upper, s.estimate, f"spectral norm ({s.method} bound, {s.iterations} power steps)"
    if isinstance(layer, (nn.ReLU, nn.Flatten, nn.Identity, nn.Dropout, nn.Tanh)):
        return 1.0, 1.0, "1-Lipschitz"
    if isinstance(layer, nn.LeakyReLU):
        c = max(1.0, abs(layer.negative_slope))
        return c, c, "max(1, |slope|)"
    if isinstance(layer, nn.Sigmoid):
        return 0.25, 0.25, "max derivative 1/4"
    if isinstance(layer, nn.MaxPool2d):
        c = max_pool_bound(layer, shape, out_shape)
        return c, c, "sqrt(most windows holding one input)"
    if isinstance(layer, nn.AvgPool2d):
        s = avg_pool_norm(layer, shape, tol, max_iter)
        return s.upper, s.estimate, f"operator norm of the pool's own divisors ({s.method} bound)"
    if isinstance(layer, Normalize):
        c = float((1.0 / layer.std).max())
        return c, c, "1 / min std"
    if isinstance(layer, nn.modules.batchnorm._BatchNorm) and not layer.training and layer.running_var is not None:
        scale = 1.0 / torch.sqrt(layer.running_var + layer.eps)
        if layer.weight is not None:
            scale = scale * layer.weight.abs()
        c = float(scale.max())
        return c, c, "max |gamma| / sqrt(var + eps)"
    raise ValueError(f"Layer {i} ({type(layer).__name__}) is not supported by lipschitz_upper_bound: no "
                     f"Lipschitz bound is known for it. Supported layers: {', '.join(SUPPORTED)}.")


def layer_bounds(model: nn.Module, input_shape: tuple[int, ...], tol: float = 1e-6,
                 max_iter: int = 1000) -> tuple[LayerBound, ...]:
    """Per-layer Lipschitz bounds of a Sequential model (nested Sequentials are flattened), in order."""
    func = "lipschitz_upper_bound"
    if isinstance(model, (torch.jit.ScriptModule, IsolatedTorchScript)) or not isinstance(model, nn.Sequential):
        raise ValueError(f"The 'model' parameter of {func} must be an nn.Sequential of supported layers. Got "
                         f"{type(model).__name__} instead (its layers cannot be inspected).")
    shape = check_input_shape(input_shape, func)
    check_float(tol, "tol", func, low=0.0, high=1.0, low_open=True)
    check_int(max_iter, "max_iter", func, low=1)
    x = torch.zeros((1, *shape), dtype=model_dtype(model), device=model_device(model))
    out = []
    with torch.no_grad():
        for i, layer in enumerate(flat_layers(model)):
            shape = tuple(x.shape[1:])
            try:
                x = layer(x)
            except Exception as exc:
                raise ValueError(f"Layer {i} ({type(layer).__name__}) cannot take inputs of shape "
                                 f"{shape}: {exc}") from None
            upper, est, note = _layer_bound(i, layer, shape, tuple(x.shape[1:]), tol, max_iter)
            out.append(LayerBound(i, type(layer).__name__, shape, upper, est, note))
    return tuple(out)


def lipschitz_upper_bound(model: nn.Module, input_shape: tuple[int, ...], tol: float = 1e-6,
                          max_iter: int = 1000) -> float:
    """A guaranteed upper bound on the l2 Lipschitz constant of ``model``: (B, *input_shape) -> (B, K).

    The product of per-layer guaranteed bounds (``layer_bounds``). Raises ValueError naming the first
    unsupported layer. Never below the true constant, hence never below any measured gradient norm.
    """
    return math.prod(b.upper for b in layer_bounds(model, input_shape, tol, max_iter))


def lipschitz_estimate(model: nn.Module, input_shape: tuple[int, ...], tol: float = 1e-6,
                       max_iter: int = 1000) -> float:
    """The product of per-layer power-iteration estimates: still an upper bound on the network's constant
    only if every layer estimate has converged to its true norm; shown for the gap, never used to certify."""
    return math.prod(b.estimate for b in layer_bounds(model, input_shape, tol, max_iter))


def spectral_normalize(model: nn.Module, input_shape: tuple[int, ...]) -> nn.Sequential:
    """A copy of ``model`` whose Linear/Conv2d weights are divided by their guaranteed spectral bounds
    (Miyato et al. 2018 with a certified divisor), so each such layer is 1-Lipschitz on ``input_shape``."""
    bounds = layer_bounds(model, input_shape)
    new = copy.deepcopy(model)
    with torch.no_grad():
        for b, layer in zip(bounds, flat_layers(new)):
            if isinstance(layer, (nn.Linear, nn.Conv2d)) and b.upper > 0:
                layer.weight.div_(b.upper)
    return new
