"""Cached cert_core calls that several pages share: zoo models, datasets, the exact 2D base and smoothed maps
and a certified test set (a page's own caches live in ``ui/<page>/cache.py``). Keys are small hashables (a
model key string, floats, tuples); models and big arrays are passed with a leading underscore so Streamlit does
not hash them."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from cert_core import grid
from cert_core.models import drawn
from cert_core.models.data import load_dataset
from cert_core.models.dataset import Dataset
from cert_core.metrics import certified_accuracy
from cert_core.models.bundles import LoadedModel
from cert_core.smoothing import Smooth
from cert_core.models.zoo import load_zoo_model


@st.cache_resource(show_spinner="Loading the model…")
def zoo_model(name: str) -> LoadedModel:
    return load_zoo_model(name)


@st.cache_data(show_spinner="Loading the dataset…", max_entries=32)
def dataset_from_spec(spec_json: str) -> Dataset:
    return load_dataset(**json.loads(spec_json))


@st.cache_resource(show_spinner="Retraining the drawn model from the link…", max_entries=16)
def drawn_model(points: str, sigma_train: float, epochs: int, seed: int) -> LoadedModel:
    """The model a drawn link names (``cert_core.models.drawn.train_drawn``, seeded: the model it was made with)."""
    return drawn.train_drawn(drawn.decode_points(points), drawn.DrawnTraining(sigma_train, epochs, seed))[0]


@st.cache_resource(show_spinner="Evaluating the base classifier on the grid…", max_entries=8)
def base_map(model_key: str, _model: torch.nn.Module, bounds: tuple, resolution: int,
             max_sigma: float) -> grid.BaseMap:
    return grid.evaluate_base(_model, bounds, resolution, max_sigma)


@st.cache_data(show_spinner=False, max_entries=256)
def smoothed(model_key: str, _base: grid.BaseMap, bounds: tuple, resolution: int, max_sigma: float,
             sigma: float) -> np.ndarray:
    return grid.blur(_base, sigma)                                          # (K, R, R)


@dataclass(frozen=True)
class TestCertification:
    x: np.ndarray            # (M, 2) test points
    y: np.ndarray            # (M,) labels
    prediction: np.ndarray   # (M,) smoothed prediction or -1
    radius: np.ndarray       # (M,) certified radius (0 when abstaining)

    @property
    def correct(self) -> np.ndarray:
        return self.prediction == self.y

    def accuracy_at(self, r: float) -> float:
        return float(certified_accuracy(self.radius, self.correct, np.array([r]))[0])


@st.cache_data(show_spinner="Certifying the test set…", max_entries=32)
def certify_test_set(model_key: str, _model: torch.nn.Module, num_classes: int, dataset_key: str,
                     _x: np.ndarray, _y: np.ndarray, sigma: float, n0: int, n: int, alpha: float,
                     seed: int) -> TestCertification:
    smooth = Smooth(_model, num_classes, sigma)
    gen = torch.Generator().manual_seed(seed)
    certs = smooth.certify_batch(torch.as_tensor(_x, dtype=torch.float32), n0, n, alpha, 20_000, gen)
    return TestCertification(np.asarray(_x), np.asarray(_y), np.array([c.prediction for c in certs]),
                             np.array([c.radius for c in certs]))


