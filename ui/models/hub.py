"""Glue for the Models page: zoo cards, training with live progress, uploads."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from cert_core import grid_view
from cert_core.models.architectures import ModelConfig, build_model
from cert_core.models.bundles import LoadedModel, bundle_bytes
from cert_core.models.csv_dataset import parse_csv_rows
from cert_core.models.data import BOX_2D
from cert_core.models.dataset import Dataset
from cert_core.models.isolated import IsolatedModelStopped
from cert_core.models.train import TrainConfig, accuracy, train_model
from cert_core.models.zoo import ZOO, ZooEntry
from ui import cache, state
from ui.models import cache as models_cache
from ui.models import figures as charts

STATIC = {"staticPlot": True, "displayModeBar": False}
PROBE_SHAPES = ((2,), (1, 8, 8), (1, 28, 28), (3, 32, 32))


def rows_of(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def zoo_cards() -> list[ZooEntry]:
    return list(ZOO)


def _use(key: str) -> None:
    st.session_state["model_key"] = key       # a callback runs before the sidebar's selectbox


def render_card(entry: ZooEntry) -> None:
    key = f"zoo:{entry.name}"
    try:
        loaded = cache.zoo_model(entry.name)
    except (FileNotFoundError, ValueError) as exc:
        st.markdown(f"**{entry.name}**")
        st.error(str(exc))
        return
    labels = models_cache.zoo_thumbnail(entry.name)
    if labels is not None:
        data = cache.dataset_from_spec(json.dumps(entry.dataset_spec, sort_keys=True))
        fig = charts.thumbnail(labels, grid_view.make_view(BOX_2D, labels.shape[0]), (data.x_test, data.y_test))
    else:
        fig = charts.digit_thumbnail(_noisy_digit(entry.train.sigma_train, _digit_of(entry)), entry.train.sigma_train)
    st.plotly_chart(fig, key=f"thumb_{entry.name}", theme=None, config=STATIC)
    st.markdown(f"**{entry.name}**")
    acc = loaded.metadata.get("accuracy")
    st.caption(f"{card_text(entry.description)}  \nσ_train {entry.train.sigma_train:g} · test accuracy "
               + (f"{acc:.1%}" if isinstance(acc, (int, float)) else "unknown"))
    st.space("stretch")          # pushes the button to the card's bottom: a row's buttons line up
    is_current = st.session_state.get("model_key") == key
    st.button("Current model" if is_current else "Use this model", key=f"use_{entry.name}",
              disabled=is_current, on_click=_use, args=(key,), width="stretch",
              help=f"Make {entry.name} the model every page works on.")


def card_text(description: str) -> str:
    """A zoo description in the sidebar's notation: "64×3", "σ"; the training noise is dropped (the
    card's next line gives σ_train)."""
    text = re.sub(r", trained with Gaussian noise sigma=[0-9.]+$", "", description)
    text = re.sub(r"(\d)x(\d)", r"\1×\2", text)
    return text.replace("sigma_x", "σ_x").replace("sigma", "σ")


def _digit_of(entry: ZooEntry) -> int:
    """A different digit for each image card (in zoo order), so the thumbnails are told apart."""
    images = [e.name for e in ZOO if e.dataset_spec.get("name") == "digits"]
    return (3 * images.index(entry.name) + 2) % 10 if entry.name in images else 0


def _noisy_digit(sigma: float, digit: int = 0) -> np.ndarray:
    """A test image of ``digit`` with the noise the model was trained on."""
    data = cache.dataset_from_spec(json.dumps({"name": "digits", "seed": 0, "test_fraction": 0.3}, sort_keys=True))
    rng = np.random.default_rng(0)
    index = int(np.flatnonzero(data.y_test == digit)[0]) if (data.y_test == digit).any() else 0
    return np.clip(data.x_test[index, 0] + sigma * rng.standard_normal((8, 8)), 0, 1)


@dataclass(frozen=True)
class TrainParams:
    width: int          # hidden units per layer
    depth: int          # hidden layers
    activation: str     # "relu" | "leaky_relu"
    sigma_train: float  # Gaussian augmentation std
    epochs: int         # passes over the training split
    lr: float           # Adam step size
    seed: int           # weights, shuffling and noise


def train_and_select(data: Dataset, p: TrainParams, dataset_label: str) -> None:
    """Train with a progress bar and a live loss curve; keep the result and make it current."""
    if data.input_shape != (2,):
        raise ValueError(f"the dataset has inputs of shape {data.input_shape}; this trainer is for 2D points")
    config = ModelConfig("mlp", (2,), data.num_classes, width=p.width, depth=p.depth, activation=p.activation)
    model = build_model(config, seed=p.seed)
    bar, chart = st.progress(0.0, text="Training…"), st.empty()
    losses: list[float] = []
    every = max(1, p.epochs // 25)

    def progress(epoch: int, epochs: int, loss: float) -> None:
        losses.append(loss)
        if epoch % every == 0 or epoch == epochs:
            bar.progress(epoch / epochs, text=f"Epoch {epoch}/{epochs} · loss {loss:.4f}")
            chart.plotly_chart(charts.loss_curve(losses, epochs), key=f"live_loss_{epoch}", theme=None)

    result = train_model(model, data, TrainConfig(p.epochs, p.lr, 128, p.sigma_train, 0.0, p.seed), progress)
    label = f"{re.sub(r'[^a-z0-9]+', '-', dataset_label.lower()).strip('-')}-mlp-s{p.sigma_train:g}-trained"
    metadata = {"name": label, "description": f"MLP {p.width}×{p.depth} ({p.activation}) trained here on "
                f"{dataset_label}, σ_train = {p.sigma_train:g}", "dataset": data.spec,
                "class_names": list(data.class_names), "sigma_train": p.sigma_train,
                "accuracy": result.test_accuracy, "train_accuracy": result.train_accuracy, "seed": p.seed,
                "train": {"epochs": p.epochs, "lr": p.lr, "sigma_train": p.sigma_train, "seed": p.seed}}
    loaded = LoadedModel(model.eval(), config, metadata)
    key = state.add_user_model(label, loaded, data)
    st.session_state["last_trained"] = {"label": state.model_label(key), "losses": result.losses,
                                        "epochs": p.epochs, "test": result.test_accuracy,
                                        "train": result.train_accuracy, "seconds": result.seconds,
                                        "bundle": bundle_bytes(model, config, metadata)}
    st.rerun()


def render_trained(info: dict) -> None:
    st.success(f"Trained **{info['label']}** in {info['seconds']:.1f} s; it is now the current model.",
               icon=":material/check_circle:")
    a, b, c = st.columns([2, 1, 1])
    a.plotly_chart(charts.loss_curve(info["losses"], info["epochs"]), key="final_loss", theme=None)
    b.metric("Test accuracy", f"{info['test']:.1%}", help="Clean accuracy on the held-out split.")
    b.metric("Train accuracy", f"{info['train']:.1%}", help="Clean accuracy on the training split.")
    c.download_button("Download bundle", info["bundle"], file_name=f"{info['label']}.pt",
                      mime="application/octet-stream", icon=":material/download:", key="dl_bundle",
                      help="A .pt bundle (config, weights, metadata) you can upload again later.")


def _probe(model: torch.nn.Module) -> dict:
    """Input shape and class count of a TorchScript model (run in its own process), by trying common shapes;
    a model that hangs or dies is not tried again."""
    for shape in PROBE_SHAPES:
        try:
            with torch.no_grad():
                out = model(torch.zeros((2, *shape)))
        except IsolatedModelStopped as exc:
            raise ValueError(str(exc)) from None
        except Exception:       # this shape does not fit the model: try the next
            continue
        if isinstance(out, torch.Tensor) and out.ndim == 2 and out.shape[0] == 2 and out.shape[1] >= 2:
            return {"input_shape": list(shape), "num_classes": int(out.shape[1])}
    return {}


def select_uploaded(filename: str, loaded: LoadedModel) -> None:
    meta = dict(loaded.metadata)
    if loaded.config is None:
        meta.update(_probe(loaded.model))
        meta.setdefault("description", "TorchScript model uploaded in this session")
        if "input_shape" not in meta:
            raise ValueError("it is a TorchScript model, but it does not accept 2D points or 8×8, 28×28 or "
                             "32×32 images, so its input shape is unknown")
        loaded = LoadedModel(loaded.model, None, meta)
    dataset = _dataset_of(meta)
    state.add_user_model(meta.get("name") or filename.rsplit(".", 1)[0], loaded, dataset)


def _dataset_of(meta: dict) -> Dataset | None:
    spec = meta.get("dataset")
    if not isinstance(spec, dict) or spec.get("name") == "csv":
        return None
    try:
        return cache.dataset_from_spec(json.dumps(spec, sort_keys=True))
    except Exception:       # a bundle may name data this machine does not have
        return None


def csv_scaling(raw: bytes) -> str:
    """How ``load_csv`` moved the points into the view (it centres them on their mean and scales so
    that max |coord| = 2, see ``cert_core.models.dataset.standardise_2d``): the original ranges and the factor."""
    x, _ = parse_csv_rows(raw.decode("utf-8-sig"))                          # (N, 2), the file's numbers
    spread = float(np.abs(x - x.mean(axis=0)).max())
    factor = 2.0 / spread if spread > 0 else 1.0
    (a, c), (b, d) = x.min(axis=0), x.max(axis=0)
    return (f"Your points span x₁ ∈ [{a:.4g}, {b:.4g}], x₂ ∈ [{c:.4g}, {d:.4g}]. To fit the view [−3, 3]², "
            f"they were centred on their mean ({x[:, 0].mean():.4g}, {x[:, 1].mean():.4g}) and scaled by "
            f"×{factor:.4g} (so the largest |coordinate| is 2); the maps, training and accuracy below all "
            "use these rescaled points.")


def evaluate_on_csv(d: Dataset) -> None:
    try:
        current = state.current_model()
    except Exception as exc:
        st.error(f"The current model cannot be loaded: {exc}")
        return
    if not current.is_2d or current.num_classes != d.num_classes:
        st.warning(f"The current model **{current.label}** (input {current.loaded.input_shape}, "
                   f"{current.num_classes} classes) does not fit these 2D points with {d.num_classes} classes.")
        return
    x, y = np.concatenate([d.x_train, d.x_test]), np.concatenate([d.y_train, d.y_test])
    st.metric(f"Accuracy of {current.label} on your points", f"{accuracy(current.model, x, y):.1%}",
              help="Clean accuracy over every row of the CSV (labels mapped to 0..K-1 in sorted order).")


def accuracy_metrics(current: state.CurrentModel) -> None:
    d = current.dataset
    meta = current.loaded.metadata
    cols = st.columns(4)
    cols[0].metric("Test accuracy", f"{accuracy(current.model, d.x_test, d.y_test):.1%}",
                   help="Clean accuracy of the base classifier on the held-out split.")
    cols[1].metric("Train accuracy", f"{accuracy(current.model, d.x_train, d.y_train):.1%}",
                   help="Clean accuracy on the training split.")
    st_ = meta.get("sigma_train")
    cols[2].metric("σ_train", f"{st_:g}" if isinstance(st_, (int, float)) else "?",
                   help="Noise used as augmentation during training.")
    cols[3].metric("Classes", f"{current.num_classes}", help=", ".join(current.class_names))
