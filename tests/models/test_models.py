"""Tests for cert_core.models.bundles: architectures, normalisation, bundle round-trip, every bad file -> ModelLoadError."""
import io
import pickle
import zipfile

import pytest
import torch
from torch import nn

from cert_core.models.architectures import ModelConfig, Normalize, build_model
from cert_core.models.bundles import BUNDLE_FORMAT, LoadedModel, ModelLoadError, bundle_bytes, load_model, save_bundle

MLP = ModelConfig("mlp", (2,), 3, width=16, depth=2)
CNN = ModelConfig("cnn", (1, 8, 8), 10, width=4, depth=2)


@pytest.mark.parametrize("config", [
    MLP, CNN,
    ModelConfig("mlp", (1, 28, 28), 10, width=8, depth=1, activation="leaky_relu"),
    ModelConfig("cnn", (1, 28, 28), 10, width=4, depth=3),
    ModelConfig("cnn", (3, 32, 32), 10, width=4, depth=2, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2)),
])
def test_forward_shapes(config):
    model = build_model(config, seed=0)
    assert isinstance(model, nn.Sequential)
    allowed = (nn.Linear, nn.Conv2d, nn.ReLU, nn.LeakyReLU, nn.Flatten, nn.MaxPool2d, Normalize)
    assert all(isinstance(layer, allowed) for layer in model)  # flat: analyses can walk the layers
    out = model(torch.rand(5, *config.input_shape))
    assert out.shape == (5, config.num_classes) and out.dtype == torch.float32


def test_build_seed_is_pure_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = build_model(MLP, seed=1), build_model(MLP, seed=1), build_model(MLP, seed=2)
    assert torch.equal(torch.rand(1), expected)
    assert torch.equal(a[1].weight, b[1].weight) and not torch.equal(a[1].weight, c[1].weight)


@pytest.mark.parametrize("kwargs, match", [
    (dict(arch="rnn"), "'arch' parameter of build_model must be one of"),
    (dict(activation="tanh"), "'activation' parameter"),
    (dict(num_classes=1), "'num_classes' parameter of build_model must be an int >= 2"),
    (dict(arch="cnn"), "must be \\(C, H, W\\)"),
    (dict(mean=(0.0, 0.0)), "given together"),
    (dict(mean=(0.0,), std=(0.0,)), "std > 0"),
])
def test_bad_configs(kwargs, match):
    fields = dict(arch="mlp", input_shape=(2,), num_classes=2) | kwargs
    with pytest.raises(ValueError, match=match):
        build_model(ModelConfig(**fields))


def test_normalisation_lives_inside_the_model():
    config = ModelConfig("cnn", (3, 8, 8), 4, width=4, depth=1, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 2.0))
    model = build_model(config, seed=0)
    assert isinstance(model[0], Normalize)
    x = torch.rand(2, 3, 8, 8)
    mean, std = torch.tensor(config.mean).view(1, 3, 1, 1), torch.tensor(config.std).view(1, 3, 1, 1)
    torch.testing.assert_close(model[0](x), (x - mean) / std)
    torch.testing.assert_close(model(x), model[1:](((x - mean) / std)))
    assert {"0.mean", "0.std"} <= set(model.state_dict())  # saved with the weights


def _trained_like(config=MLP, seed=0):
    return build_model(config, seed=seed).eval()


@pytest.mark.parametrize("config", [MLP, CNN])
def test_bundle_round_trip_path_bytes_filelike(tmp_path, config):
    model = _trained_like(config)
    meta = {"name": "m", "sigma_train": 0.25, "dataset": {"name": "moons", "seed": 0}, "shape": (1, 2)}
    path = tmp_path / "m.pt"
    save_bundle(model, config, meta, path)
    data = bundle_bytes(model, config, meta)
    assert path.read_bytes() == data  # deterministic and independent of the file name
    x = torch.rand(7, *config.input_shape)
    for src in (path, str(path), data, io.BytesIO(data)):
        loaded = load_model(src)
        assert isinstance(loaded, LoadedModel) and loaded.config == config and loaded.metadata == meta
        assert not loaded.model.training and loaded.input_shape == config.input_shape
        assert loaded.num_classes == config.num_classes
        torch.testing.assert_close(loaded.model(x), model(x), rtol=0, atol=0)


def test_bundle_metadata_must_be_plain():
    import numpy as np
    data = bundle_bytes(_trained_like(), MLP, {"acc": np.float32(0.5), "n": np.int64(3)})
    assert load_model(data).metadata == {"acc": 0.5, "n": 3}
    with pytest.raises(ValueError, match="metadata"):
        bundle_bytes(_trained_like(), MLP, {"bad": object()})


def test_trusted_torchscript_round_trip_runs_in_its_own_process(tmp_path, monkeypatch):
    from cert_core.models.isolated import IsolatedTorchScript
    model = _trained_like(CNN)
    path = tmp_path / "ts.pt"
    torch.jit.trace(model, torch.rand(1, 1, 8, 8)).save(str(path))
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: pytest.fail("this process must never call torch.jit.load"))
    x = torch.rand(4, 1, 8, 8)
    plain = load_model(path, trust_torchscript=True)
    assert isinstance(plain.model, IsolatedTorchScript) and plain.model.pid is not None
    assert plain.config is None and plain.metadata == {} and plain.input_shape is None
    torch.testing.assert_close(plain.model(x), model(x))
    described = load_model(path.read_bytes(), metadata={"input_shape": [1, 8, 8], "num_classes": 10},
                           trust_torchscript=True)
    assert described.input_shape == (1, 8, 8) and described.num_classes == 10


@pytest.mark.parametrize("hostile", ["SetstateWriter", "ForwardWriter", "SetstateLoop"])
def test_untrusted_torchscript_is_refused_and_none_of_its_code_runs(tmp_path, monkeypatch, hostile):
    from cert_core.models.bundles import UntrustedTorchScript
    import hostile_kit
    target = tmp_path / "runs.sqlite"
    target.write_bytes(b"the run store")
    cls = getattr(hostile_kit, hostile)
    data = hostile_kit.archive(cls(str(target)) if "Writer" in hostile else cls())
    monkeypatch.chdir(tmp_path)
    for source in (data, io.BytesIO(data)):
        with pytest.raises(UntrustedTorchScript, match="TorchScript is code.*--trust-torchscript"):
            load_model(source)
    assert target.read_bytes() == b"the run store" and sorted(p.name for p in tmp_path.iterdir()) == ["runs.sqlite"]


def test_trust_torchscript_must_be_a_bool():
    with pytest.raises(ValueError, match="The 'trust_torchscript' parameter of load_model must be a bool"):
        load_model(b"", trust_torchscript="yes")


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def _payload(**overrides):
    model = _trained_like()
    base = {"format": BUNDLE_FORMAT, "config": {"arch": "mlp", "input_shape": (2,), "num_classes": 3,
                                                "width": 16, "depth": 2},
            "state_dict": dict(model.state_dict()), "metadata": {}}
    buf = io.BytesIO()
    torch.save(base | overrides, buf)
    return buf.getvalue()


def _saved(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def _bad_state(change):
    state = dict(_trained_like().state_dict())
    change(state)
    return _payload(state_dict=state)


BAD_FILES = {
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a PyTorch model file: it looks like a PNG image"),
    "text": (b"hello, I am a model\n", "not a PyTorch model file: it looks like a text file"),
    "empty": (b"", "empty"),
    "zip": (None, "zip archive but not a PyTorch file"),
    "truncated": (None, "could not be read|damaged"),
    "code pickle": (None, "refused for safety"),
    "whole module": (None, "refused for safety"),
    "legacy code pickle": (None, "refused for safety"),
    "bare state dict": (None, "missing format tag"),
    "wrong tag": (None, "wrong format tag 'something-else/2'"),
    "bad config": (None, "config does not build.*'arch'"),
    "unknown config field": (None, "config does not build"),
    "missing key": (None, "missing keys \\['5.bias'\\]"),
    "unexpected key": (None, "unexpected keys \\['extra'\\]"),
    "shape": (None, "shape mismatch 1.weight"),
    "nan": (None, "NaN or infinite values \\(in '1.weight'\\)"),
    "inf": (None, "NaN or infinite"),
}


def _make_bad(kind):
    if BAD_FILES[kind][0] is not None:
        return BAD_FILES[kind][0]
    if kind == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("hello.txt", "hi")
        return buf.getvalue()
    if kind == "truncated":
        return _payload()[:300]
    if kind == "code pickle":
        return _payload(metadata={"x": _Evil()})
    if kind == "whole module":
        return _saved(_trained_like())
    if kind == "legacy code pickle":
        return pickle.dumps(_Evil(), protocol=2)
    if kind == "bare state dict":
        return _saved(_trained_like().state_dict())
    if kind == "wrong tag":
        return _payload(format="something-else/2")
    if kind == "bad config":
        return _payload(config={"arch": "transformer", "input_shape": (2,), "num_classes": 3})
    if kind == "unknown config field":
        return _payload(config={"arch": "mlp", "input_shape": (2,), "num_classes": 3, "heads": 4})
    if kind == "missing key":
        return _bad_state(lambda s: s.pop("5.bias"))
    if kind == "unexpected key":
        return _bad_state(lambda s: s.update(extra=torch.zeros(1)))
    if kind == "shape":
        return _bad_state(lambda s: s.update({"1.weight": torch.zeros(16, 3)}))
    if kind == "nan":
        return _bad_state(lambda s: s.update({"1.weight": torch.full((16, 2), float("nan"))}))
    return _bad_state(lambda s: s.update({"3.bias": torch.full((16,), float("inf"))}))


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_files_raise_model_load_error(kind, capsys):
    with pytest.raises(ModelLoadError, match=BAD_FILES[kind][1]):
        load_model(_make_bad(kind))
    assert "must never run" not in capsys.readouterr().out


def test_missing_path_and_text_mode(tmp_path):
    with pytest.raises(ModelLoadError, match="could not read model file"):
        load_model(tmp_path / "nope.pt")
    with pytest.raises(ModelLoadError, match="text mode"):
        load_model(io.StringIO("abc"))


# ---------------------------------------------------------------- small files that ask for huge allocations
def _deflated(data: bytes) -> bytes:
    """The same archive with every entry deflated: zeros shrink ~1000x, the declared sizes stay."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


def _no_torch_load(*args, **kwargs):
    raise AssertionError("torch.load must not run on a refused file")


def test_zip_bomb_bundle_is_refused_before_decompression(monkeypatch):
    from cert_core.models import bundles as models
    bomb = _deflated(_bad_state(lambda s: s.update(extra=torch.zeros(2**20))))   # 4 MiB of zeros inside
    assert len(bomb) < 64 * 1024
    monkeypatch.setattr(models, "MAX_MODEL_BYTES", 2**20)
    monkeypatch.setattr(torch, "load", _no_torch_load)
    with pytest.raises(ModelLoadError, match=r"declares 4\.0 MiB.*limit of 1\.0 MiB \(cert_core\.models\.bundles\.MAX_MODEL_BYTES\)"):
        load_model(bomb)


def test_a_deflated_bundle_under_the_limit_still_loads():
    data = bundle_bytes(_trained_like(), MLP, {"name": "m"})
    assert load_model(_deflated(data)).config == MLP


@pytest.mark.parametrize("as_path", [True, False])
def test_model_file_over_the_limit_is_refused_before_reading(monkeypatch, tmp_path, as_path):
    from cert_core.models import bundles as models
    data = bundle_bytes(_trained_like(), MLP, {})
    monkeypatch.setattr(models, "MAX_MODEL_BYTES", 1024)
    path = tmp_path / "m.pt"
    path.write_bytes(data)
    with pytest.raises(ModelLoadError, match=r"the model file is .*KiB, more than the limit of 1\.0 KiB"):
        load_model(path if as_path else io.BytesIO(data))


def _no_build(*args, **kwargs):
    raise AssertionError("a refused bundle must not be built")


@pytest.mark.parametrize("num_classes", [2 * 10**7, 10**9])
def test_bundle_declaring_huge_num_classes_is_refused_without_building(monkeypatch, num_classes):
    from cert_core.models import architectures as models
    data = _payload(config={"arch": "mlp", "input_shape": (2,), "num_classes": num_classes, "width": 16, "depth": 2})
    assert len(data) < 64 * 1024
    for builder in ("_mlp_layers", "_cnn_layers", "_bottleneck_layers", "_ortho_mlp_layers"):
        monkeypatch.setattr(models, builder, _no_build)
    with pytest.raises(ModelLoadError, match=r"at most 50,000,000 parameters \(cert_core\.models\.architectures\.MAX_PARAMETERS\)"):
        load_model(data)


def test_shapes_are_compared_before_building(monkeypatch):
    from cert_core.models import architectures as models
    data = _payload(config={"arch": "mlp", "input_shape": (2,), "num_classes": 1000, "width": 16, "depth": 2})
    monkeypatch.setattr(models, "_mlp_layers", _no_build)
    with pytest.raises(ModelLoadError, match=r"shape mismatch 5\.weight: file \(3, 16\) vs model \(1000, 16\)"):
        load_model(data)


@pytest.mark.parametrize("config", [
    MLP, CNN, ModelConfig("cnn", (3, 32, 32), 10, width=4, depth=3, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2)),
    ModelConfig("mlp", (1, 8, 8), 4, width=5, depth=1, mean=(0.5,), std=(0.2,)),
    ModelConfig("bottleneck", (1, 8, 8), 10, width=8, depth=2, features=3),
    ModelConfig("ortho_mlp", (2,), 2, width=6, depth=3, mean=(0.0, 1.0), std=(1.0, 2.0)),
])
def test_parameter_shapes_match_the_built_model(config):
    from cert_core.models.architectures import parameter_shapes
    built = {k: tuple(v.shape) for k, v in build_model(config).state_dict().items()}
    assert parameter_shapes(config) == built


def test_build_model_refuses_a_config_over_the_budget():
    with pytest.raises(ValueError, match="The 'config' parameter of build_model must describe at most"):
        build_model(ModelConfig("mlp", (2,), 10**9))


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(16, 2, dtype=torch.complex64), "dense real floating-point tensors; '1.weight' is torch.complex64"),
    (torch.zeros(16, 2, dtype=torch.int64), "'1.weight' is torch.int64"),
])
def test_non_real_weights_are_refused(bad, match):
    with pytest.raises(ModelLoadError, match=match):
        load_model(_bad_state(lambda s: s.update({"1.weight": bad})))


def test_legacy_format_is_refused_before_loading(monkeypatch):
    monkeypatch.setattr(torch, "load", _no_torch_load)
    with pytest.raises(ModelLoadError, match="legacy \\(pre-1.6\\) format"):
        load_model(_saved({"format": BUNDLE_FORMAT}, _use_new_zipfile_serialization=False))
