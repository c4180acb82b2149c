"""The Bernstein image pipeline (bottleneck split, Eq. 4 with the computed L_G, PGD audit), the 2D
unit-box map and the regression demo."""
import functools
import io
import math

import numpy as np
import pytest
import torch

from cert_core.methods.bernstein import polynomial as B
from cert_core.methods.bernstein import plane as P
from cert_core.methods.bernstein.images import certify_images, pgd_upper_bound, split
from cert_core.models.data import BOX_2D, load_dataset
from cert_core.methods.lipschitz.bounds import lipschitz_upper_bound
from cert_core.models.architectures import ModelConfig, build_model
from cert_core.models.bundles import bundle_bytes, load_model
from cert_core.models.zoo import load_zoo_model


@functools.lru_cache(maxsize=None)
def _digits():
    return load_dataset(name="digits", seed=0, test_fraction=0.3)


@functools.lru_cache(maxsize=None)
def _run(n=6):
    model = load_zoo_model("digits-bottleneck-d3-s0").model
    ds = _digits()
    return model, certify_images(model, ds.x_test[:12], ds.y_test[:12], n)


def test_bottleneck_bundle_round_trip_and_plain_bundles_keep_their_config_keys():
    config = ModelConfig("bottleneck", (1, 8, 8), 10, width=16, depth=1, features=4)
    model = build_model(config, seed=0).eval()
    loaded = load_model(bundle_bytes(model, config, {}))
    x = torch.rand(3, 1, 8, 8)
    assert loaded.config == config and torch.equal(loaded.model(x), model(x))
    assert split(loaded.model).d == 4
    plain = torch.load(io.BytesIO(bundle_bytes(build_model(ModelConfig("mlp", (2,), 2)), ModelConfig("mlp", (2,), 2),
                                               {})), weights_only=True)
    assert "features" not in plain["config"]      # the other archs' bundles keep their exact bytes


@pytest.mark.parametrize("kwargs,match", [
    ({"arch": "bottleneck"}, "The 'features' parameter of build_model must be an int in \\[1, 16\\] exactly when"),
    ({"arch": "mlp", "features": 3}, "exactly when arch is 'bottleneck'"),
    ({"arch": "bottleneck", "features": 40}, "The 'features' parameter of build_model must be an int in \\[1, 16\\]"),
])
def test_bad_bottleneck_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_model(ModelConfig(input_shape=(1, 8, 8), num_classes=10, **kwargs))


def test_a_model_with_no_bottleneck_is_refused_clearly():
    with pytest.raises(ValueError, match="This model has no bottleneck"):
        split(load_zoo_model("digits-cnn-s0").model)


def test_pipeline_uses_the_computed_lipschitz_bound_not_one():
    model, run = _run()
    g = split(model).extractor
    assert run.lipschitz_g == lipschitz_upper_bound(g, (1, 8, 8))
    assert run.lipschitz_g >= run.lipschitz_g_estimate > 0.25 * 0.99   # sigmoid's 1/4 times SN layers ~1
    assert run.lipschitz_g != 1.0
    assert np.allclose(run.input_sound_radius, run.sound_radius / run.lipschitz_g)
    assert run.features.shape == (12, 3) and ((run.features > 0) & (run.features < 1)).all()
    assert run.correct.mean() >= 0.5 and (run.sound_radius >= 0).all()


def test_input_space_certificate_survives_random_and_pgd_perturbations():
    """Soundness audit of Eq. 4: inside the input radius neither noise nor PGD changes the smoothed class."""
    model, run = _run()
    ds = _digits()
    x = torch.as_tensor(ds.x_test[:12])
    parts = split(model)
    poly = B.fit(parts.head, run.n, parts.d)
    gen = torch.Generator().manual_seed(0)
    for i in np.flatnonzero(run.input_sound_radius > 0):
        v = torch.randn((200, 1, 8, 8), generator=gen)
        v = v / v.flatten(1).norm(dim=1)[:, None, None, None] * run.input_sound_radius[i] * 0.999
        with torch.no_grad():
            feats = parts.extractor(x[i] + v).double().numpy()
        assert (poly.predict(feats) == run.prediction[i]).all()
    eps = float(np.median(run.input_sound_radius[run.correct]))
    flipped = pgd_upper_bound(model, poly, ds.x_test[:12], ds.y_test[:12], eps * 0.999, steps=10)
    assert not (flipped & run.correct & (run.input_sound_radius >= eps)).any()


def test_unit_box_map_is_isotropic_and_radii_scale_by_the_side():
    box = P.unit_box(BOX_2D)
    pts = np.array([[-3.0, -3.0], [3.0, 3.0], [0.0, 1.5]])
    assert np.allclose(box.to_unit(pts), [[0, 0], [1, 1], [0.5, 0.75]])
    assert np.allclose(box.to_plane(box.to_unit(pts)), pts) and box.radius_to_plane(0.1) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="must be a square"):
        P.unit_box((-3, 3, -1, 1))


def test_plane_radii_are_in_plane_units_and_sound():
    model = load_zoo_model("moons-mlp-s0").model
    poly = P.fit_plane(model, BOX_2D, 8)
    r = P.plane_radii(poly, BOX_2D, (0.2, 0.4), resolution=201)
    assert r.sound_radius == pytest.approx(6 * r.sound.radius) and r.exact_radius == pytest.approx(6 * r.exact.distance)
    assert r.sound_radius <= r.exact_radius + r.exact_error
    assert r.root_overestimates == (r.root_radius > r.exact_radius + r.exact_error)
    with pytest.raises(ValueError, match="must lie in the view box"):
        P.plane_radii(poly, BOX_2D, (5.0, 0.0))


def test_regression_demo_smooths_the_overfit():
    demo = P.regression_demo(degrees=(5, 20, 80), seed=0)
    assert np.allclose(demo.fitted, np.interp(demo.x, demo.x_train, demo.y_train))   # zero training error
    assert min(demo.errors[n] for n in (5, 20, 80)) < demo.errors["fitted"]
    assert math.isfinite(demo.errors[80])
