"""Researchers' models: Cohen et al.'s checkpoint format (ResNet-20/110 for CIFAR-10, the DataParallel
ResNet-50 for ImageNet) and torchvision architectures with a user's state dict, built with random weights here
(nothing is downloaded) and checked against the same network built directly."""
import contextlib

import pytest
import torch
from torch import nn

from cert_core.models.bundles import ModelLoadError
from cert_core.models.checkpoints import (CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, CifarResNet,
                                          load_cohen_checkpoint, load_torchvision, strip_prefixes)
from tests.checkpoint_kit import NormalizeLayer, randomised, save


def test_cohen_cifar_resnet20_checkpoint_gives_the_same_logits(tmp_path):
    net = randomised(CifarResNet(20, 10))
    reference = nn.Sequential(NormalizeLayer(CIFAR10_MEAN, CIFAR10_STD), net).eval()
    path = save({"arch": "cifar_resnet20", "state_dict": reference.state_dict(), "epoch": 90}, tmp_path / "c.pth.tar")
    assert all(k.startswith("1.") for k in reference.state_dict())
    loaded = load_cohen_checkpoint(path)
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), reference(x))
    assert loaded.input_shape == (3, 32, 32) and loaded.num_classes == 10
    assert loaded.metadata["dataset"] == {"name": "cifar10"}
    assert sum(p.numel() for p in net.parameters()) == 272_474   # ResNet-20 with projection shortcuts: 0.27M


def test_cohen_resnet110_and_dataparallel_resnet50_keys_and_structure(tmp_path):
    import torchvision
    with torch.device("meta"):
        r110 = CifarResNet(110, 10)
        keys110 = list(nn.Sequential(NormalizeLayer(CIFAR10_MEAN, CIFAR10_STD), r110).state_dict())
        r50 = nn.Sequential(NormalizeLayer(IMAGENET_MEAN, CIFAR10_STD), nn.DataParallel(torchvision.models.resnet50()))
        keys50 = list(r50.state_dict())
    assert sum(p.numel() for p in r110.parameters()) == 1_730_714         # ResNet-110: 1.7M
    assert len(r110.layer1) == len(r110.layer3) == 18
    assert keys50[0].startswith("1.module.") and "1.module.layer4.2.bn3.running_var" in keys50
    assert strip_prefixes({k: 0 for k in keys50}).keys() == torchvision.models.resnet50().state_dict().keys()
    state = {k: torch.zeros(1) for k in keys110}                          # right keys, wrong shapes
    with pytest.raises(ModelLoadError, match="shape mismatch"):
        load_cohen_checkpoint(save({"arch": "cifar_resnet110", "state_dict": state}, tmp_path / "bad.pth.tar"))


@pytest.mark.parametrize("payload, message", [
    ({"arch": "vgg", "state_dict": {}}, "unknown arch 'vgg'"),
    ({"arch": "cifar_resnet20", "state_dict": {"1.conv1.weight": torch.zeros(16, 3, 3, 3)}}, "missing keys"),
    ({"state_dict": {}}, "not a Cohen et al. checkpoint"),
])
def test_bad_checkpoints_are_refused_with_a_message(payload, message, tmp_path):
    with pytest.raises(ModelLoadError, match=message):
        load_cohen_checkpoint(save(payload, tmp_path / "x.pth.tar"))


def test_non_finite_weights_and_pickled_objects_are_refused(tmp_path):
    state = {f"1.{k}": v for k, v in randomised(CifarResNet(20)).state_dict().items()}
    state["1.fc.bias"] = torch.full((10,), float("nan"))
    with pytest.raises(ModelLoadError, match="NaN or infinite"):
        load_cohen_checkpoint(save({"arch": "cifar_resnet20", "state_dict": state}, tmp_path / "nan.pth.tar"))
    with pytest.raises(ModelLoadError, match="refused for safety"):
        load_cohen_checkpoint(save({"arch": "cifar_resnet20", "state_dict": {}, "x": NormalizeLayer((0,), (1,))},
                                   tmp_path / "obj.pth.tar"))


def test_torchvision_architecture_with_user_weights_and_normalisation(tmp_path):
    import torchvision
    net = randomised(torchvision.models.resnet18(num_classes=7))
    path = save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, tmp_path / "w.pt")
    loaded = load_torchvision("resnet18", path, 7, (3, 64, 64), IMAGENET_MEAN, (0.229, 0.224, 0.225))
    x = torch.rand(2, 3, 64, 64)
    expected = net((x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1))
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), expected.detach())
    assert loaded.num_classes == 7 and loaded.input_shape == (3, 64, 64)
    with pytest.raises(ModelLoadError, match="not a torchvision classification"):
        load_torchvision("fasterrcnn_resnet50_fpn", path, 7)
    with pytest.raises(ModelLoadError, match="shape mismatch"):
        load_torchvision("resnet18", path, 10)


def test_cli_model_accepts_a_cohen_checkpoint_and_a_resumed_run_reloads_it(tmp_path):
    import numpy as np
    from cert_core.runs.cli_inputs import stored_model_spec, resolve_model
    from cert_core.runs.inputs import RunData, load_run_model
    from cert_core.runs.spec import RunSpec
    from cert_core.runs.store import RunStore
    from cert_core.runs.worker import run_shard
    reference = nn.Sequential(NormalizeLayer(CIFAR10_MEAN, CIFAR10_STD), randomised(CifarResNet(20))).eval()
    path = save({"arch": "cifar_resnet20", "state_dict": reference.state_dict()}, tmp_path / "checkpoint.pth.tar")
    loaded = resolve_model(str(path))
    spec_model = stored_model_spec(str(path), loaded)
    assert spec_model == {"path": str(path.resolve()), "checkpoint": "cohen"}
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(load_run_model(spec_model).model(x), reference(x))
    store = RunStore(tmp_path / "r.sqlite")
    data = RunData(x.numpy(), np.array([0, 1, 2]), 10)
    spec = RunSpec(spec_model, {"name": "fake"}, 0.25, n0=10, n=50, batch=50, device="cpu")
    run = store.create_run(spec, 3)
    assert run_shard(store, run, loaded=loaded, data=data) == "done" and store.get(run).done == 3
    with pytest.raises(ModelLoadError, match="neither a bundle"):
        resolve_model(str(save({"conv.weight": torch.zeros(1)}, tmp_path / "bare.pt")))


def test_unsafe_checkpoints_are_refused_with_a_conversion_command_that_works(tmp_path):
    """A whole pickled nn.Module (hostile: its __setstate__ writes a file) and a legacy-format Cohen checkpoint
    with a custom object inside are refused, none of their code runs, and the one-line command in the message
    (run here as the user would, in a trusted environment) gives a file that loads with the same logits."""
    import argparse
    import shlex
    from cert_core.runs.cli_inputs import resolve_model
    from tests.hostile_kit import PickledWriter
    marker = tmp_path / "written"
    hostile = tmp_path / "model.pt"
    torch.save(PickledWriter(str(marker)), hostile)
    with pytest.raises(ModelLoadError, match="refused for safety.*pickled Python objects.*weights_only=False") as info:
        resolve_model(str(hostile))
    assert str(hostile) in str(info.value) and not marker.exists()
    reference = nn.Sequential(NormalizeLayer(CIFAR10_MEAN, CIFAR10_STD), randomised(CifarResNet(20))).eval()
    legacy = tmp_path / "checkpoint.pth.tar"
    torch.save({"arch": "cifar_resnet20", "state_dict": reference.state_dict(), "args": argparse.Namespace(lr=0.1)},
               legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(ModelLoadError, match="legacy") as info:
        resolve_model(str(legacy))
    python, flag, code = shlex.split(str(info.value).split("with: ", 1)[1])
    assert (python, flag) == ("python", "-c")
    exec(code, {})                                      # the user's trusted environment
    converted = resolve_model(str(tmp_path / "checkpoint-converted.pth.tar"))
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(converted.model(x), reference(x))


def test_cli_torchvision_flags_are_checked_with_a_message(tmp_path):
    """--model torchvision:ARCH --weights FILE and its companions: each misuse is an argparse-style message (exit 2).
    (That it certifies and its stored spec reloads the same network: tests/runs/test_researcher_checkpoints.py.)"""
    import io
    import numpy as np
    import torchvision
    from cert_core.runs.cli import main
    from cert_core.runs.cli_parser import build_parser
    weights = save(randomised(torchvision.models.resnet18(num_classes=10)).state_dict(), tmp_path / "r18.pt")
    np.savez(tmp_path / "two.npz", x=np.zeros((2, 3, 32, 32), np.float32), y=np.array([3, 7]))
    parser = build_parser()
    for extra, message in ((["--model", "torchvision:resnet18"], "needs --weights"),
                           (["--model", "digits-cnn-s0.25", "--weights", str(weights)], "only with --model torchvision"),
                           (["--model", "torchvision:resnet18", "--weights", str(weights), "--mean", "0.5"], "both --mean"),
                           (["--model", "torchvision:resnet18", "--weights", str(weights), "--mean", "0.5",
                             "--std", "0"], "3 finite numbers"),
                           (["--model", "torchvision:resnet18", "--weights", str(tmp_path / "none.pt")], "could not read"),
                           (["--model", "torchvision:nope", "--weights", str(weights)], "not a torchvision")):
        err = io.StringIO()
        with pytest.raises(SystemExit) as exit_, contextlib.redirect_stderr(err):
            main(["certify", *extra, "--sigma", "0.25", "--no-store", "--npz", str(tmp_path / "two.npz")])
        assert exit_.value.code == 2 and message in err.getvalue(), err.getvalue()
    assert parser.parse_args(["predict", "--model", "torchvision:resnet18", "--weights", "w.pt", "--sigma", "1"]).weights == "w.pt"
