"""cert_core.tensors: where a model lives, its layers in order, inputs as tensors."""
import numpy as np
import torch
from torch import nn

from cert_core.tensors import as_tensor, flat_layers, model_device, model_dtype


def test_device_and_dtype_come_from_the_parameters_else_the_fallback():
    assert model_device(nn.Linear(2, 2).double()) == torch.device("cpu")
    assert model_dtype(nn.Linear(2, 2).double()) == torch.float64
    assert model_device(nn.ReLU(), "meta") == torch.device("meta") and model_dtype(nn.ReLU()) == torch.float32
    assert model_device(lambda x: x) == torch.device("cpu")                       # not a module at all


def test_flat_layers_unnests_sequentials_in_forward_order():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)
    assert flat_layers(nn.Sequential(a, nn.Sequential(b, nn.Sequential(c)))) == [a, b, c]


def test_as_tensor_takes_arrays_lists_and_tensors():
    t = as_tensor(np.arange(3), dtype=torch.float32)
    assert t.dtype == torch.float32 and t.tolist() == [0.0, 1.0, 2.0]
    assert as_tensor([[1, 2]]).shape == (1, 2)
    x = torch.ones(2)
    assert as_tensor(x) is x                                                      # no copy when nothing changes
