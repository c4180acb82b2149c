"""Cached calls of the Models page: accuracy under noise and the zoo's thumbnails."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from cert_core import grid_view
from cert_core.models.data import BOX_2D
from cert_core.models.train import noisy_accuracy
from ui.cache import zoo_model


@st.cache_data(show_spinner="Measuring accuracy under noise…", max_entries=32)
def noise_curve(model_key: str, _model: torch.nn.Module, dataset_key: str, _x: np.ndarray,
                _y: np.ndarray, sigmas: tuple) -> np.ndarray:
    return noisy_accuracy(_model, _x, _y, list(sigmas), samples=8, seed=0)


@st.cache_data(show_spinner=False, max_entries=64)
def zoo_thumbnail(name: str, resolution: int = 90) -> np.ndarray | None:
    """Base predictions of a 2D zoo model on the standard view (None for image models)."""
    loaded = zoo_model(name)
    if loaded.input_shape != (2,):
        return None
    return grid_view.base_predictions(loaded.model, BOX_2D, resolution)
