"""The architectures of base classifiers (MLP, small CNN, Bernstein's bottleneck, Björck MLP), built from a
frozen ``ModelConfig``.

``build_model`` returns one flat ``nn.Sequential`` of Normalize / Flatten / Linear / Conv2d / ReLU /
LeakyReLU / MaxPool2d, so later analyses (activation paths, Lipschitz bounds) can walk the layers in
order. It maps (B, *input_shape) -> (B, K) logits. Smoothing noise is added in input space, so any
normalisation is the model's first layer (``Normalize``), never a preprocessing step. ``parameter_shapes``
computes the state dict's keys and shapes from a config alone, so a file can be checked against a budget
(``MAX_PARAMETERS``) before anything is built.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from cert_core.models.orthogonal import BjorckLinear
from cert_core.validation import check_choice, check_int

ARCHS = ("mlp", "cnn", "bottleneck", "ortho_mlp")
ACTIVATIONS = ("relu", "leaky_relu")
# Budget checked BEFORE anything is allocated, so a small hostile file cannot cost gigabytes:
MAX_PARAMETERS = 50_000_000  # numbers in a built model (200 MB of float32); far above anything this app trains


@dataclass(frozen=True)
class ModelConfig:
    arch: str  # "mlp" | "cnn"
    input_shape: tuple[int, ...]  # (d,) or (C, H, W); the MLP flattens any shape
    num_classes: int  # K, the number of logits
    width: int = 64  # hidden units (mlp) / channels of the first conv block, doubled per block (cnn)
    depth: int = 3  # hidden layers (mlp) / conv blocks, each halving H and W (cnn)
    activation: str = "relu"  # "relu" | "leaky_relu"
    mean: tuple[float, ...] | None = None  # per-channel (or per-feature) mean of the Normalize layer
    std: tuple[float, ...] | None = None  # per-channel (or per-feature) std of the Normalize layer
    features: int | None = None  # d sigmoid features of a "bottleneck" model (None for other archs)


class Normalize(nn.Module):
    """(x - mean) / std with mean/std broadcast over channel dim 1; stored as buffers (in the state dict)."""

    def __init__(self, mean, std, ndim: int):
        super().__init__()
        shape = (1, -1) + (1,) * (ndim - 1)  # (1, C, 1, 1) for images, (1, d) for vectors
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(shape))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(shape))

    def forward(self, x):  # (B, *input_shape) -> same
        return (x - self.mean) / self.std


def _activation(name: str) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.LeakyReLU(0.01)


def _check_config(config: ModelConfig) -> None:
    func = "build_model"
    if not isinstance(config, ModelConfig):
        raise ValueError(f"The 'config' parameter of build_model must be a ModelConfig. Got {config!r} instead.")
    check_choice(config.arch, "arch", func, ARCHS)
    check_choice(config.activation, "activation", func, ACTIVATIONS)
    shape = config.input_shape
    if not (isinstance(shape, tuple) and shape and all(isinstance(s, int) and s > 0 for s in shape)):
        raise ValueError(f"The 'input_shape' parameter of build_model must be a non-empty tuple of positive ints. "
                         f"Got {shape!r} instead.")
    check_int(config.num_classes, "num_classes", func, low=2)
    check_int(config.width, "width", func, low=1, high=4096)
    check_int(config.depth, "depth", func, low=1, high=16)
    if (config.arch == "bottleneck") != (config.features is not None):
        raise ValueError(f"The 'features' parameter of build_model must be an int in [1, 16] exactly when "
                         f"arch is 'bottleneck'. Got features={config.features!r} for arch {config.arch!r}.")
    if config.features is not None:
        check_int(config.features, "features", func, low=1, high=16)
    if config.arch == "cnn" and (len(shape) != 3 or min(shape[1:]) < 2 ** config.depth):
        raise ValueError(f"The 'input_shape' parameter of build_model must be (C, H, W) with H, W >= "
                         f"2**depth = {2 ** config.depth} for a cnn. Got {shape!r} instead.")
    if (config.mean is None) != (config.std is None):
        raise ValueError("The 'mean' and 'std' parameters of build_model must be given together.")
    if config.mean is not None:
        n = shape[0]
        ok = len(config.mean) in (1, n) and len(config.std) in (1, n)
        if not ok or not all(math.isfinite(s) and s > 0 for s in config.std):
            raise ValueError(f"The 'mean'/'std' parameters of build_model must have 1 or {n} entries with std > 0. "
                             f"Got mean={config.mean!r}, std={config.std!r} instead.")


def _mlp_layers(c: ModelConfig) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Flatten()]
    d = math.prod(c.input_shape)
    for _ in range(c.depth):
        layers += [nn.Linear(d, c.width), _activation(c.activation)]
        d = c.width
    return layers + [nn.Linear(d, c.num_classes)]


def _ortho_mlp_layers(c: ModelConfig) -> list[nn.Module]:
    """SRA paper (App. C.1-C.2.1): an MLP whose weights are Björck-orthonormalised, so each layer and the
    whole logit map are 1-Lipschitz in l2 (times 1/min std if a Normalize layer is present)."""
    layers: list[nn.Module] = [nn.Flatten()]
    d = math.prod(c.input_shape)
    for _ in range(c.depth):
        layers += [BjorckLinear(d, c.width), _activation(c.activation)]
        d = c.width
    return layers + [BjorckLinear(d, c.num_classes)]


def _cnn_layers(c: ModelConfig) -> list[nn.Module]:
    channels, h, w = c.input_shape
    layers: list[nn.Module] = []
    for i in range(c.depth):
        out = c.width * 2 ** i
        layers += [nn.Conv2d(channels, out, 3, padding=1), _activation(c.activation), nn.MaxPool2d(2)]
        channels, h, w = out, h // 2, w // 2
    hidden = 4 * c.width  # one hidden fully connected layer before the logits
    return layers + [nn.Flatten(), nn.Linear(channels * h * w, hidden), _activation(c.activation),
                     nn.Linear(hidden, c.num_classes)]


def _bottleneck_layers(c: ModelConfig) -> list[nn.Module]:
    """Kao et al. (Bernstein paper, Fig. 2): a spectral-normalised feature extractor G (Eq. 1-2) into
    d = ``features`` sigmoid features in [0, 1]^d, then a small head. The Sigmoid marks where G ends."""
    sn = nn.utils.parametrizations.spectral_norm
    layers: list[nn.Module] = [nn.Flatten()]
    d = math.prod(c.input_shape)
    for _ in range(c.depth):
        layers += [sn(nn.Linear(d, c.width)), _activation(c.activation)]
        d = c.width
    return layers + [sn(nn.Linear(d, c.features)), nn.Sigmoid(),
                     nn.Linear(c.features, c.width), _activation(c.activation), nn.Linear(c.width, c.num_classes)]


def config_dict(config: ModelConfig) -> dict:
    """asdict without ``features`` when unused, so bundles of the other archs keep their exact bytes."""
    raw = asdict(config)
    if raw["features"] is None:
        del raw["features"]
    return raw


def _linear(shapes: dict, i: int, d_in: int, d_out: int, spectral: bool = False) -> None:
    weight = f"{i}.parametrizations.weight.original" if spectral else f"{i}.weight"
    shapes[weight], shapes[f"{i}.bias"] = (d_out, d_in), (d_out,)
    if spectral:  # the power iteration's vectors u (out) and v (in) are buffers of the parametrization
        shapes[f"{i}.parametrizations.weight.0._u"], shapes[f"{i}.parametrizations.weight.0._v"] = (d_out,), (d_in,)


def parameter_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The keys and shapes of ``build_model(config).state_dict()``, computed from the config alone.

    Nothing is allocated, so a file's config is checked against ``MAX_PARAMETERS`` and against the tensors
    the file holds before any model is built (tests keep this in step with the layer builders above).
    """
    _check_config(config)
    c, shapes = config, {}
    at = 0 if c.mean is None else 1  # a Normalize layer shifts every index by one
    if c.mean is not None:
        pad = (1,) * (len(c.input_shape) - 1)
        shapes["0.mean"], shapes["0.std"] = (1, len(c.mean), *pad), (1, len(c.std), *pad)
    if c.arch == "cnn":
        channels, h, w = c.input_shape
        for i in range(c.depth):  # Conv2d, activation, MaxPool2d per block
            out = c.width * 2 ** i
            shapes[f"{at + 3 * i}.weight"], shapes[f"{at + 3 * i}.bias"] = (out, channels, 3, 3), (out,)
            channels, h, w = out, h // 2, w // 2
        i = at + 3 * c.depth + 1  # after the Flatten
        _linear(shapes, i, channels * h * w, 4 * c.width)
        _linear(shapes, i + 2, 4 * c.width, c.num_classes)
        return shapes
    d, spectral = math.prod(c.input_shape), c.arch == "bottleneck"
    for j in range(c.depth):  # Flatten, then (Linear, activation) per hidden layer
        _linear(shapes, at + 1 + 2 * j, d, c.width, spectral)
        d = c.width
    i = at + 1 + 2 * c.depth
    if spectral:  # Linear -> features, Sigmoid, Linear, activation, Linear
        _linear(shapes, i, d, c.features, spectral=True)
        _linear(shapes, i + 2, c.features, c.width)
        _linear(shapes, i + 4, c.width, c.num_classes)
    else:
        _linear(shapes, i, d, c.num_classes)
    return shapes


def check_parameter_budget(shapes: dict[str, tuple[int, ...]], func: str = "build_model") -> int:
    """The number of parameters and buffers in ``shapes``; ValueError naming the limit above ``MAX_PARAMETERS``."""
    count = sum(math.prod(s) for s in shapes.values())
    if count > MAX_PARAMETERS:
        raise ValueError(f"The 'config' parameter of {func} must describe at most {MAX_PARAMETERS:,} parameters "
                         f"(cert_core.models.architectures.MAX_PARAMETERS). Got a model with {count:,} instead.")
    return count


def build_model(config: ModelConfig, seed: int | None = None) -> nn.Sequential:
    """A fresh model for ``config``: (B, *input_shape) -> (B, K) logits, float32, CPU, train mode.

    With ``seed`` the initial weights are a pure function of (config, seed) and the global RNG is untouched.
    Raises ValueError, before allocating anything, for a config over ``MAX_PARAMETERS``.
    """
    check_parameter_budget(parameter_shapes(config))
    if seed is not None:
        check_int(seed, "seed", "build_model", low=0)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_model(config)
    layers = {"mlp": _mlp_layers, "cnn": _cnn_layers, "bottleneck": _bottleneck_layers,
              "ortho_mlp": _ortho_mlp_layers}[config.arch](config)
    if config.mean is not None:
        layers.insert(0, Normalize(config.mean, config.std, len(config.input_shape)))
    return nn.Sequential(*layers)
