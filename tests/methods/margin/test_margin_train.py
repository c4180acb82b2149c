"""Table 1 losses, margin training, the Appendix B curves/AUCs and the margin zoo entries."""
import hashlib
from dataclasses import asdict

import numpy as np
import pytest
import torch

from cert_core.models.data import make_toy
from cert_core.methods.lipschitz.bounds import lipschitz_upper_bound
from cert_core.methods.margin.train import LOSS_LABELS, LOSSES, MarginTrainConfig, margin_loss, train_margin
from cert_core.models.architectures import ModelConfig, build_model
from cert_core.models.bundles import load_model
from cert_core.methods.margin.curves import (auc, linear_corruption_curve, margin_radii, noise_accuracy_curve,
                                          normalized_noise_accuracy, radius_survival)
from cert_core.models.zoo import ZOO, load_zoo_model, zoo_path
from cert_core.models.zoo_build import TORCH_VERSION, build


def _model(k=2):
    return build_model(ModelConfig("ortho_mlp", (2,), k, width=16, depth=2), seed=0)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_is_finite_differentiable_and_zero_when_d_is_met(loss):
    model = _model(3)
    x, y = torch.randn(32, 2), torch.randint(0, 3, (32,))
    value = margin_loss(model, x, y, MarginTrainConfig(loss, d=0.5, sigma=0.2))
    value.backward()
    assert torch.isfinite(value) and value > 0
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    if loss in ("mscr", "mcr", "zhen", "mh"):  # hinge losses vanish at d = 0 for correctly classified points
        with torch.no_grad():
            pred = model(x).argmax(1)
        assert margin_loss(model, x, pred, MarginTrainConfig(loss, d=0.0, sigma=0.05)) <= 1e-6


def test_mcr_training_raises_margins_and_stays_one_lipschitz():
    ds = make_toy("moons", n_samples=300, noise=0.1, seed=0)
    model = _model()
    before = margin_radii(model.eval(), ds.x_test, ds.y_test, 1.0)[0].mean()
    result = train_margin(model, ds, MarginTrainConfig("mcr", d=0.3, epochs=15))
    radii, correct = margin_radii(model, ds.x_test, ds.y_test, lipschitz_upper_bound(model, (2,)))
    assert result.test_accuracy > 0.8 and radii.mean() > 2 * before
    assert lipschitz_upper_bound(model, (2,)) < 1.001
    with pytest.raises(ValueError, match="'loss' parameter of train_margin must be one of 'mscr'"):
        train_margin(model, ds, MarginTrainConfig("hinge"))


def test_auc_is_the_trapezoid_and_the_mean_radius():
    assert auc([1.0, 1.0, 0.0], 0.5) == pytest.approx(0.75)
    radii, correct = np.array([0.2, 0.5, 1.0, 0.0]), np.array([1, 1, 1, 0], bool)
    grid = np.linspace(0, 2, 2001)
    assert auc(radius_survival(radii, correct, grid), grid[1]) == pytest.approx(radii[correct].sum() / 4, abs=2e-3)
    with pytest.raises(ValueError, match="'step' parameter of auc"):
        auc([1, 0], 0)


def test_noise_accuracy_normalisation_keeps_clean_and_zeroes_the_floor():
    acc = np.array([0.98, 0.9, 0.6, 0.3, 0.12, 0.1])
    norm = normalized_noise_accuracy(acc)
    assert norm[0] == pytest.approx(0.98) and norm[-1] == pytest.approx(0.0)
    assert np.all(np.diff(norm) <= 1e-12) and np.all(norm <= acc + 1e-12)
    with pytest.raises(ValueError, match="'acc' parameter of normalized_noise_accuracy"):
        normalized_noise_accuracy([1.2, 0.5])


def test_curves_on_a_trained_zoo_model():
    loaded = load_zoo_model("moons-ortho-mscr-s0.2")
    ds = make_toy("moons", n_samples=600, noise=0.1, seed=0)
    noise = noise_accuracy_curve(loaded.model, ds.x_test, ds.y_test, [0.0, 0.5, 1.0, 3.0], samples=10)
    assert noise[0] == pytest.approx(loaded.metadata["accuracy"]) and noise[-1] < noise[0]
    corr = linear_corruption_curve(loaded.model, ds.x_test, ds.y_test, [0.0, 0.5, 1.0])
    assert corr[-1] == pytest.approx(loaded.metadata["accuracy"]) and corr[0] <= 0.7


def test_margin_zoo_entries_are_orthogonal_and_rebuild_bit_for_bit(tmp_path):
    entries = [e for e in ZOO if e.margin is not None]
    assert {e.margin["loss"] for e in entries} >= {"mscr", "mcr", "zhen"}
    for e in entries:      # the catalogue's recipe is plain data: every MarginTrainConfig field, spelled out
        assert asdict(MarginTrainConfig(**e.margin)) == e.margin and LOSS_LABELS[e.margin["loss"]] in e.description
        loaded = load_zoo_model(e.name)
        assert loaded.metadata["margin"] == e.margin and loaded.metadata["accuracy"] > 0.9
        assert lipschitz_upper_bound(loaded.model, loaded.input_shape) < 1.001
    name = "moons-ortho-mcr-s0"
    if load_zoo_model(name).metadata.get("torch_version") != TORCH_VERSION:
        pytest.skip("zoo built with another torch version")
    build([name], tmp_path)
    assert (hashlib.sha256((tmp_path / f"{name}.pt").read_bytes()).digest()
            == hashlib.sha256(zoo_path(name).read_bytes()).digest())
    assert load_model(tmp_path / f"{name}.pt").config.arch == "ortho_mlp"
