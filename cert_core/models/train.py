"""Training with Gaussian noise augmentation, and (noisy) accuracy of a base classifier.

Reference: Cohen, Rosenfeld & Kolter (2019), "Certified Adversarial Robustness via Randomized
Smoothing", Sec. 3.3: the base classifier is trained on x + N(0, sigma_train^2 I) so that it is accurate
under the noise the smoothed classifier will add. Noise is added in input space, before the model (and
so before any Normalize layer inside it).

Determinism: shuffling and noise come from the function's own ``torch.Generator`` seeded with
``TrainConfig.seed``, never from global RNG state, so on CPU the same (initial weights, data, config)
give bit-identical weights. Shapes: x (N, *D) float32, y (N,) int64, logits (B, K).
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cert_core.models.dataset import Dataset
from cert_core.validation import check_float, check_int
from cert_core.tensors import model_device


@contextlib.contextmanager
def deterministic_training():
    """Single-threaded, deterministic kernels while training (the zoo build, a drawn dataset's model): the same seed
    gives bit-identical weights on any core count, and a tiny MLP trains far faster on one thread. Restores the
    global settings afterwards (they are process-wide: another session computing meanwhile runs single-threaded)."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)  # float reductions then do not depend on the core count
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(det)
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 200  # full passes over the training split
    lr: float = 1e-2  # Adam learning rate
    batch_size: int = 128  # examples per optimiser step (the last batch of an epoch may be smaller)
    sigma_train: float = 0.0  # std of the Gaussian noise added to every batch (0 = clean training)
    weight_decay: float = 0.0  # Adam's L2 penalty
    seed: int = 0  # seeds the shuffling and noise generator (not the initial weights: see build_model)


@dataclass(frozen=True)
class TrainResult:
    losses: tuple[float, ...]  # mean training loss (on noisy inputs) per epoch
    train_accuracy: float  # clean accuracy on the training split after training
    test_accuracy: float  # clean accuracy on the test split after training
    seconds: float  # wall-clock training time


def _check_train_config(config: TrainConfig) -> None:
    func = "train_model"
    if not isinstance(config, TrainConfig):
        raise ValueError(f"The 'config' parameter of train_model must be a TrainConfig. Got {config!r} instead.")
    check_int(config.epochs, "epochs", func, low=1, high=100_000)
    check_float(config.lr, "lr", func, low=0.0, high=10.0, low_open=True)
    check_int(config.batch_size, "batch_size", func, low=1)
    check_float(config.sigma_train, "sigma_train", func, low=0.0, high=100.0)
    check_float(config.weight_decay, "weight_decay", func, low=0.0)
    check_int(config.seed, "seed", func, low=0)


def _as_tensor(a, device, dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a, dtype=dtype).to(device)


def fit(model: nn.Module, dataset: Dataset, batch_loss, *, epochs: int, batch_size: int, optimizer,
        seed: int, progress=None, hint: str = "lower the learning rate") -> TrainResult:
    """The epoch loop shared by every trainer: shuffle, ``batch_loss(xb, yb)`` -> scalar, Adam step.

    Shuffling uses a CPU generator seeded with ``seed`` (the same order on every device), so on CPU the
    same (initial weights, data, loss) give bit-identical weights. A non-finite loss raises ValueError
    (with ``hint``) instead of silently training on NaN. Returns the clean accuracies; model in eval mode.
    """
    device = model_device(model)
    x = _as_tensor(dataset.x_train, device, torch.float32)  # (N, *D)
    y = _as_tensor(dataset.y_train, device, torch.int64)  # (N,)
    shuffle_gen = torch.Generator().manual_seed(seed)
    losses, start = [], time.perf_counter()
    model.train()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(y), generator=shuffle_gen).to(device)
        total = 0.0
        for idx in order.split(batch_size):
            loss = batch_loss(x[idx], y[idx])
            if not torch.isfinite(loss):
                model.eval()
                raise ValueError(f"the training loss became {loss.item()} at epoch {epoch}; {hint}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / len(y))
        if progress is not None:
            progress(epoch, epochs, losses[-1])
    seconds = time.perf_counter() - start
    model.eval()
    return TrainResult(tuple(losses), accuracy(model, dataset.x_train, dataset.y_train),
                       accuracy(model, dataset.x_test, dataset.y_test), seconds)


def train_model(model: nn.Module, dataset: Dataset, config: TrainConfig, progress=None) -> TrainResult:
    """Train ``model`` in place with Adam and cross-entropy on x + N(0, sigma_train^2); returns it in eval mode.

    ``progress(epoch, epochs, loss)`` is called after each epoch (epoch counts from 1). The device is the
    model's. Deterministic on CPU for a fixed seed (see the module docstring).
    """
    _check_train_config(config)
    device = model_device(model)
    noise_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    loss_fn = nn.CrossEntropyLoss()

    def batch_loss(xb, yb):  # (B, *D), (B,)
        if config.sigma_train > 0:
            xb = xb + config.sigma_train * torch.randn(xb.shape, generator=noise_gen, device=device)
        return loss_fn(model(xb), yb)  # logits (B, K)

    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return fit(model, dataset, batch_loss, epochs=config.epochs, batch_size=config.batch_size, optimizer=opt,
               seed=config.seed, progress=progress)


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Argmax predictions (N,) in eval mode; restores the model's train/eval mode."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(xb).argmax(dim=1) for xb in x.split(batch_size)])
    finally:
        model.train(was_training)


def accuracy(model: nn.Module, x, y, batch_size: int = 1024) -> float:
    """Clean accuracy of ``model`` on x (N, *D), y (N,) (numpy or torch). Deterministic."""
    batch_size = check_int(batch_size, "batch_size", "accuracy", low=1)
    device = model_device(model)
    x = _as_tensor(x, device, torch.float32)
    y = _as_tensor(y, device, torch.int64)
    if len(y) == 0:
        return float("nan")
    return float((_predict(model, x, batch_size) == y).double().mean().item())


def noisy_accuracy(model: nn.Module, x, y, sigmas, samples: int = 1, seed: int = 0,
                   batch_size: int = 1024) -> np.ndarray:
    """Accuracy of the base model on x + N(0, sigma^2 I), averaged over ``samples`` draws; one value per sigma.

    Returns an array of shape (len(sigmas),). Seeded: the same seed gives the same numbers.
    """
    func = "noisy_accuracy"
    samples = check_int(samples, "samples", func, low=1, high=10_000)
    seed = check_int(seed, "seed", func, low=0)
    sigmas = [check_float(s, "sigmas", func, low=0.0) for s in np.atleast_1d(np.asarray(sigmas, dtype=float))]
    device = model_device(model)
    x = _as_tensor(x, device, torch.float32)  # (N, *D)
    y = _as_tensor(y, device, torch.int64)  # (N,)
    gen = torch.Generator(device=device).manual_seed(seed)
    out = np.empty(len(sigmas))
    for i, sigma in enumerate(sigmas):
        hits = 0
        for _ in range(samples):
            noisy = x + sigma * torch.randn(x.shape, generator=gen, device=device)
            hits += int((_predict(model, noisy, batch_size) == y).sum().item())
        out[i] = hits / (samples * len(y))
    return out
