"""Tests for cert_core.models.train: learning, determinism, noise augmentation, (noisy) accuracy."""
import numpy as np
import pytest
import torch

from cert_core.models.data import make_toy
from cert_core.models.architectures import ModelConfig, build_model
from cert_core.models.train import TrainConfig, TrainResult, accuracy, noisy_accuracy, train_model

CONFIG = ModelConfig("mlp", (2,), 2, width=32, depth=2)


@pytest.fixture(scope="module")
def moons():
    return make_toy("moons", n_samples=300, noise=0.1, seed=0)


def _train(ds, **kw):
    model = build_model(CONFIG, seed=0)
    result = train_model(model, ds, TrainConfig(**({"epochs": 30} | kw)))
    return model, result


def test_loss_decreases_and_it_learns(moons):
    calls = []
    model = build_model(CONFIG, seed=0)
    result = train_model(model, moons, TrainConfig(epochs=30), progress=lambda *a: calls.append(a))
    assert isinstance(result, TrainResult) and len(result.losses) == 30
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert result.test_accuracy > 0.95 and result.train_accuracy > 0.95
    assert [c[0] for c in calls] == list(range(1, 31)) and calls[-1][1] == 30 and calls[-1][2] == result.losses[-1]
    assert not model.training  # returned in eval mode


def test_deterministic_weights(moons):
    (a, ra), (b, rb) = _train(moons, sigma_train=0.3), _train(moons, sigma_train=0.3)
    assert ra.losses == rb.losses
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_training_does_not_depend_on_global_rng(moons):
    torch.manual_seed(1)
    a, _ = _train(moons, epochs=3)
    torch.manual_seed(2)
    b, _ = _train(moons, epochs=3)
    assert torch.equal(a[1].weight, b[1].weight)


def test_seed_changes_the_run(moons):
    (_, ra), (_, rb) = _train(moons, epochs=5, seed=0), _train(moons, epochs=5, seed=1)
    assert ra.losses != rb.losses


def test_noise_augmentation_is_applied(moons):
    (clean, rc), (noisy, rn) = _train(moons, sigma_train=0.0), _train(moons, sigma_train=0.5)
    assert not torch.equal(clean[1].weight, noisy[1].weight)
    # training on x + N(0, 0.5^2) makes the classes overlap: the final noisy loss stays far above the clean one
    assert rn.losses[-1] > rc.losses[-1] + 0.1
    # and the noise-trained model is the more accurate one under that noise
    x, y = moons.x_test, moons.y_test
    assert noisy_accuracy(noisy, x, y, [0.5], samples=20)[0] > noisy_accuracy(clean, x, y, [0.5], samples=20)[0]


def test_accuracy_matches_a_hand_count(moons):
    model, _ = _train(moons, epochs=5)
    with torch.no_grad():
        pred = model(torch.from_numpy(moons.x_test)).argmax(1).numpy()
    expected = float(np.mean(pred == moons.y_test))
    assert accuracy(model, moons.x_test, moons.y_test) == expected
    assert accuracy(model, torch.from_numpy(moons.x_test), torch.from_numpy(moons.y_test), batch_size=7) == expected


def test_noisy_accuracy_shape_seed_and_trend(moons):
    model, _ = _train(moons)
    sigmas = [0.0, 0.5, 3.0]
    acc = noisy_accuracy(model, moons.x_test, moons.y_test, sigmas, samples=10, seed=3)
    assert acc.shape == (3,)
    assert acc[0] == accuracy(model, moons.x_test, moons.y_test)  # sigma 0 is the clean accuracy
    assert acc[0] > acc[1] > acc[2]
    np.testing.assert_array_equal(acc, noisy_accuracy(model, moons.x_test, moons.y_test, sigmas, samples=10, seed=3))
    assert not np.array_equal(acc, noisy_accuracy(model, moons.x_test, moons.y_test, sigmas, samples=10, seed=4))


def test_mode_is_restored_by_accuracy(moons):
    model = build_model(CONFIG, seed=0).train()
    accuracy(model, moons.x_test, moons.y_test)
    assert model.training


@pytest.mark.parametrize("kw, match", [
    (dict(epochs=0), "The 'epochs' parameter of train_model must be an int in"),
    (dict(lr=0.0), r"The 'lr' parameter of train_model must be a float in \(0, 10\]"),
    (dict(sigma_train=-0.1), "'sigma_train' parameter"),
    (dict(batch_size=1.5), "'batch_size' parameter"),
])
def test_bad_train_config(moons, kw, match):
    with pytest.raises(ValueError, match=match):
        train_model(build_model(CONFIG), moons, TrainConfig(**kw))


def test_bad_noisy_accuracy_arguments(moons):
    model = build_model(CONFIG)
    with pytest.raises(ValueError, match="The 'sigmas' parameter of noisy_accuracy"):
        noisy_accuracy(model, moons.x_test, moons.y_test, [-1.0])
    with pytest.raises(ValueError, match="The 'samples' parameter of noisy_accuracy"):
        noisy_accuracy(model, moons.x_test, moons.y_test, [0.1], samples=0)
