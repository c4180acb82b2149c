"""What every loader returns: a :class:`Dataset` (a train/test split with the spec that rebuilds it), the errors
a loader raises, and the steps loaders share (the seeded ``stratified_split``, ``standardise_2d`` of 2D points).
Shapes are in ``cert_core.models.data``'s docstring. A module of its own so that the loaders (``data``,
``csv_dataset``, ``image_folder``) share the types without importing each other.
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


def standardise_2d(x: np.ndarray) -> np.ndarray:
    """Centre ``x`` (N, 2) on its mean and scale isotropically so that max |coord| = 2."""
    x = x - x.mean(axis=0)
    scale = np.abs(x).max()
    return (x * (2.0 / scale) if scale > 0 else x).astype(np.float32)


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of indices; every class with >= 2 examples lands in both train and test."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(test_fraction * len(idx)))
        n_test = min(max(n_test, 1), len(idx) - 1) if len(idx) >= 2 else 0
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def split_dataset(name, x, y, seed, test_fraction, class_names, spec) -> Dataset:
    """The Dataset of ``x`` (N, *D) and labels ``y`` (N,), split by ``stratified_split`` (float32 x, int64 y)."""
    tr, te = stratified_split(y, test_fraction, seed)
    x, y = x.astype(np.float32), y.astype(np.int64)
    return Dataset(name, x[tr], y[tr], x[te], y[te], len(class_names), tuple(x.shape[1:]),
                   tuple(class_names), spec)
