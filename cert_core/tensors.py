"""Three small facts about models and inputs that every module needs, in one place: where a model lives (its
device and float dtype, from its first parameter), its layers in order (nested ``nn.Sequential`` flattened),
and an input as a float tensor. Engine level: imports torch and numpy only."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _first_parameter(model) -> torch.Tensor | None:
    return next(iter(model.parameters()), None) if isinstance(model, nn.Module) else None


def model_device(model, fallback: torch.device | str = "cpu") -> torch.device:
    """The device of the model's parameters; ``fallback`` for a model without any (or not an nn.Module)."""
    param = _first_parameter(model)
    return param.device if param is not None else torch.device(fallback)


def model_dtype(model, fallback: torch.dtype = torch.float32) -> torch.dtype:
    """The floating dtype of the model's parameters; ``fallback`` when it has none (or integer ones)."""
    param = _first_parameter(model)
    return param.dtype if param is not None and param.dtype.is_floating_point else fallback


def flat_layers(model: nn.Module) -> list[nn.Module]:
    """The leaf layers of a (possibly nested) ``nn.Sequential`` in forward order."""
    return [m for layer in model for m in (flat_layers(layer) if isinstance(layer, nn.Sequential) else [layer])]


def as_tensor(a, device=None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``a`` (tensor, numpy array or nested sequence) as a tensor on ``device`` with ``dtype`` (no copy if it is one)."""
    if not isinstance(a, torch.Tensor):
        a = torch.from_numpy(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else torch.as_tensor(a)
    return a.to(device=device, dtype=dtype)
