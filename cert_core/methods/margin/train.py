"""The losses of Table 1 of "Smoothed Robustness Analysis" (SRA, Sec. 4.1) and a training loop for them.

All certified-radius losses are hinges ReLU(d - eps(x, c, sigma_x)) averaged over the batch:

* "mscr":   eps = MSCR, Eq. 5 with the closed-form smoothed margin Eq. 7 (moments propagated, App. C.2);
* "mcr":    eps = MCR, Eq. 6 (the clean margin; sigma_x unused);
* "zhen":   eps = sigma_x (mu_c - mu_1) / sqrt(var_c + var_1), the RS radius lower bound Eq. 9;
* "mh":     multiclass hinge sum_{i != c} max(0, d - (o_c - o_i)) (sigma_x unused);
* "sce":    softmax cross-entropy on clean logits (d and sigma_x unused);
* "sc_sce": softmax cross-entropy on the propagated mean logits mu(x) at sigma_x (d unused).

The radii divide by the network's Lipschitz constant K (``lipschitz``, 1 for orthogonal networks, the
paper's setting). Moment-based losses need a model ``propagate_moments`` supports (no pooling).
Shapes: x (B, *D), y (B,), logits (B, K). ``sigma`` is the noise std sigma_x (the paper tabulates sigma_x^2).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cert_core.models.dataset import Dataset
from cert_core.methods.margin.radii import SQRT2, margin, propagate_moments, rs_radius_lower_bound, smoothed_margin_from_moments
from cert_core.models.train import TrainResult, fit
from cert_core.validation import check_choice, check_float, check_int

LOSSES = ("mscr", "mcr", "zhen", "mh", "sce", "sc_sce")
LOSS_LABELS = {"mscr": "MSCR", "mcr": "MCR", "zhen": "Zhen", "mh": "MH", "sce": "SCE", "sc_sce": "SC-SCE"}


@dataclass(frozen=True)
class MarginTrainConfig:
    loss: str = "mscr"  # one of LOSSES
    d: float = 0.5  # hinge target radius (MSCR/MCR/Zhen) or margin (MH)
    sigma: float = 0.1  # sigma_x: input noise std of the smoothed losses (MSCR, Zhen, SC-SCE)
    lipschitz: float = 1.0  # K, the network's Lipschitz constant used in the radii
    epochs: int = 60  # full passes over the training split
    lr: float = 1e-2  # Adam learning rate (paper: 0.01 on MNIST, App. C.5)
    batch_size: int = 128  # examples per step
    seed: int = 0  # seeds the shuffling


def _check(config: MarginTrainConfig) -> None:
    func = "train_margin"
    if not isinstance(config, MarginTrainConfig):
        raise ValueError(f"The 'config' parameter of {func} must be a MarginTrainConfig. Got {config!r} instead.")
    check_choice(config.loss, "loss", func, LOSSES)
    check_float(config.d, "d", func, low=0.0, high=1e3)
    check_float(config.sigma, "sigma", func, low=0.0, high=100.0)
    check_float(config.lipschitz, "lipschitz", func, low=0.0, low_open=True)
    check_int(config.epochs, "epochs", func, low=1, high=100_000)
    check_float(config.lr, "lr", func, low=0.0, high=10.0, low_open=True)
    check_int(config.batch_size, "batch_size", func, low=1)
    check_int(config.seed, "seed", func, low=0)


def margin_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: MarginTrainConfig) -> torch.Tensor:
    """The batch mean of the Table 1 loss ``config.loss`` (a scalar, differentiable in the weights)."""
    name, d, s, k = config.loss, config.d, config.sigma, config.lipschitz
    if name in ("mscr", "zhen", "sc_sce"):
        mean, var = propagate_moments(model, x, s)  # (B, K) each
        if name == "mscr":
            return torch.relu(d + smoothed_margin_from_moments(mean, var, y) / (SQRT2 * k)).mean()
        if name == "zhen":
            radius = rs_radius_lower_bound(mean, var, y, s) / k if s > 0 else torch.zeros_like(y, dtype=x.dtype)
            return torch.relu(d - radius.clamp(min=-1e3, max=1e3)).mean()
        return nn.functional.cross_entropy(mean, y)
    logits = model(x)
    if name == "mcr":
        return torch.relu(d + margin(logits, y) / (SQRT2 * k)).mean()
    if name == "mh":
        gaps = logits.gather(1, y[:, None]) - logits  # (B, K): o_c - o_i
        hinge = torch.relu(d - gaps).scatter(1, y[:, None], 0.0)
        return hinge.sum(dim=1).mean()
    return nn.functional.cross_entropy(logits, y)


def train_margin(model: nn.Module, dataset: Dataset, config: MarginTrainConfig, progress=None) -> TrainResult:
    """Train ``model`` in place with Adam on ``margin_loss``; returns the clean accuracies (model in eval mode).

    Deterministic on CPU for fixed initial weights and ``seed``. ``progress(epoch, epochs, loss)`` per epoch.
    """
    _check(config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    return fit(model, dataset, lambda xb, yb: margin_loss(model, xb, yb, config), epochs=config.epochs,
               batch_size=config.batch_size, optimizer=opt, seed=config.seed, progress=progress,
               hint=f"the {LOSS_LABELS[config.loss]} loss diverged: lower the learning rate or use an orthogonal model")
