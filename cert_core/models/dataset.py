"""What every loader returns: a :class:`Dataset` (a train/test split with the spec that rebuilds it), and the errors
a loader raises. Shapes are in ``cert_core.models.data``'s docstring. A module of its own so that the loaders
(``data``, ``image_folder``) share the types without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)  # eq=False: arrays make field-wise equality ambiguous; hash by identity
class Dataset:
    """A train/test split with its provenance; see the module docstring for shapes."""
    name: str
    x_train: np.ndarray  # (N_train, *input_shape) float32
    y_train: np.ndarray  # (N_train,) int64
    x_test: np.ndarray  # (N_test, *input_shape) float32
    y_test: np.ndarray  # (N_test,) int64
    num_classes: int
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    spec: dict  # kwargs for load_dataset that rebuild exactly this dataset


class DataError(ValueError):
    """The data could not be used (bad CSV, ...); the message names the problem."""


class DatasetUnavailable(DataError):
    """A torchvision dataset is not in the local folder; the message names the folder."""
