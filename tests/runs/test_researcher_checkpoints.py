"""Issue 18's 'Done when' for researchers' real models: a Cohen et al. ResNet-110 (CIFAR-10) and ResNet-50
(ImageNet, ``DataParallel`` keys ``1.module.*``) checkpoint and a torchvision ResNet-18 with the user's weights,
each saved once per module with random weights in a tmp folder (nothing is downloaded), (a) load through the library
with the logits of the network built directly and fed the normalised input, (b) certify through the CLI and (c)
through the runs page (AppTest upload; the run the page stores is certified in-process by the worker's own
``run_shard``, which reloads the model and data from the stored spec as a background worker would).
Budgets are tiny (n0 = 2, n = 4; two examples, one for the ResNet-50 on 224 × 224): these test the path, not the
radii."""
from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pytest
import torch
from torch import nn

from apptest_kit import page_test
from cert_core.models.checkpoints import CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD, CifarResNet
from cert_core.runs import worker
from cert_core.runs.cli import main
from cert_core.runs.cli_inputs import resolve_model
from cert_core.runs.inputs import load_run_model
from cert_core.runs.store import RunStore
from tests.checkpoint_kit import NormalizeLayer, cifar_resnet_forward, randomised, save
from ui import navigation
from ui.runs import launch

BUDGET = {"sigma": 0.25, "n0": 2, "n": 4, "batch": 8}


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A researcher's file, the network it holds built directly, and the test data made for it."""
    path: pathlib.Path                 # as the researcher has it
    reference: object                  # pixels (B, 3, S, S) in [0, 1] -> logits, built without our loaders
    num_classes: int
    cli_model: tuple[str, ...]         # the CLI's model flags
    page_model: str                    # the runs page's model choice
    page_fields: dict                  # the page's torchvision fields (empty for a Cohen checkpoint)
    data: tuple[str, pathlib.Path]     # ("npz" | "images", the file or folder), labels 0..num_classes-1
    x: torch.Tensor                    # the data's pixels, as the loaders give them
    labels: tuple[int, ...]            # the data's labels, in the loaders' order
    examples: int = 2                  # how many to certify (and to compare logits on)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: a ResNet on a busy 2-core machine runs many times slower with two contending."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _npz(folder: pathlib.Path, size: int, labels) -> tuple[pathlib.Path, torch.Tensor]:
    x = np.random.default_rng(size).random((len(labels), 3, size, size), dtype=np.float32)
    np.savez(folder / "test.npz", x=x, y=np.asarray(labels))
    return folder / "test.npz", torch.from_numpy(x)


def _image_folder(folder: pathlib.Path) -> pathlib.Path:
    """An ImageNet-style folder: classes named by their label (1/ and 7/), one odd-sized image each."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for label, (h, w) in (("1", (260, 300)), ("7", (240, 330))):
        (folder / "images" / label).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / "images" / label / "a.png")
    return folder / "images"


@pytest.fixture(scope="module")
def resnet110(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resnet110")
    state = randomised(CifarResNet(110, 10)).state_dict()
    path = save({"arch": "cifar_resnet110", "state_dict": {f"1.{k}": v for k, v in state.items()}, "epoch": 90},
                folder / "checkpoint.pth.tar")
    normalise = NormalizeLayer(CIFAR10_MEAN, CIFAR10_STD)
    npz, x = _npz(folder, 32, [3, 8])
    return Checkpoint(path, lambda x: cifar_resnet_forward(state, normalise(x)), 10, (str(path),),
                      launch.COHEN, {}, ("npz", npz), x, (3, 8))


@pytest.fixture(scope="module")
def resnet50(tmp_path_factory):
    import torchvision
    folder = tmp_path_factory.mktemp("resnet50")
    reference = nn.Sequential(NormalizeLayer(IMAGENET_MEAN, IMAGENET_STD),
                              nn.DataParallel(randomised(torchvision.models.resnet50()))).eval()
    assert next(iter(reference.state_dict())).startswith("1.module.")
    path = save({"arch": "resnet50", "state_dict": reference.state_dict()}, folder / "checkpoint.pth.tar")
    images = _image_folder(folder)
    from cert_core.models.image_folder import load_image_folder
    x = torch.from_numpy(load_image_folder(images).x_test)                     # Resize 256, CenterCrop 224
    return Checkpoint(path, reference, 1000, (str(path),), launch.COHEN, {}, ("images", images), x, (1, 7), 1)


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    import torchvision
    folder = tmp_path_factory.mktemp("resnet18")
    net = randomised(torchvision.models.resnet18(num_classes=10))
    path = save(net.state_dict(), folder / "weights.pt")
    reference = nn.Sequential(NormalizeLayer(IMAGENET_MEAN, IMAGENET_STD), net).eval()
    npz, x = _npz(folder, 64, [1, 6])
    stats = {"rn_mean": ",".join(map(str, IMAGENET_MEAN)), "rn_std": ",".join(map(str, IMAGENET_STD))}
    cli = ("torchvision:resnet18", "--weights", str(path), "--num-classes", "10", "--image-size", "64",
           "--mean", stats["rn_mean"], "--std", stats["rn_std"])
    return Checkpoint(path, reference, 10, cli, launch.TORCHVISION_ARCH,
                      {"rn_arch": "resnet18", "rn_classes": 10, "rn_image_size": 64, **stats}, ("npz", npz), x, (1, 6))


CHECKPOINTS = ["resnet110", "resnet50", "resnet18"]


def _loaded(c: Checkpoint):
    if c.page_fields:
        from cert_core.models.checkpoints import load_torchvision
        return load_torchvision("resnet18", c.path, 10, (3, 64, 64), IMAGENET_MEAN, IMAGENET_STD)
    return resolve_model(str(c.path))                       # what --model FILE and the app's loaders read


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_library_gives_the_logits_of_the_network_built_directly(name, request):
    c = request.getfixturevalue(name)
    loaded = _loaded(c)
    assert loaded.num_classes == c.num_classes and loaded.input_shape == tuple(c.x.shape[1:])
    x = c.x[:c.examples]
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), c.reference(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_cli_certifies(name, request, tmp_path):
    c = request.getfixturevalue(name)
    kind, where = c.data
    data = ["--npz", str(where)] if kind == "npz" else ["--image-folder", str(where)]
    out = tmp_path / "out.tsv"
    budget = [f"--{k}={v}" for k, v in BUDGET.items()]
    assert main(["certify", "--model", *c.cli_model, *data, *budget, "--device", "cpu", "--max", str(c.examples),
                 "--store", str(tmp_path / "runs.sqlite"), "--out", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    assert tuple(int(r[1]) for r in rows) == c.labels[:c.examples]
    assert all(-1 <= int(r[2]) < c.num_classes for r in rows)
    (run,) = RunStore(tmp_path / "runs.sqlite").list_runs()
    assert run.status == "done" and run.done == c.examples
    assert run.spec.model["checkpoint"] == ("torchvision" if c.page_fields else "cohen")
    x = c.x[:1]
    with torch.no_grad():                      # the stored spec reloads the same network (a resumed worker)
        torch.testing.assert_close(load_run_model(run.spec.model).model(x), c.reference(x), rtol=1e-4, atol=1e-4)



@pytest.mark.parametrize("name", CHECKPOINTS)
def test_runs_page_certifies_an_upload(name, request, tmp_path, monkeypatch):
    """Upload, the page's words on the input it expects, data that can fit it, Start, and the stored run certified
    by the worker's code from its spec alone (the model file the page saved; the data's spec)."""
    c = request.getfixturevalue(name)
    store_path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("CERT_EXPLORER_RUNS", str(store_path))
    launched = []
    monkeypatch.setattr(worker, "launch", lambda store, ids: launched.extend(ids))
    at = page_test(navigation.RUNS, timeout=120, rn_model=c.page_model)
    at.run()
    assert at.selectbox(key="rn_data").options == list(launch.UPLOAD_DATA_CHOICES)
    for key, value in c.page_fields.items():
        (at.number_input if isinstance(value, int) else at.text_input)(key=key).set_value(value)
    if name == "resnet110":      # a file that is no checkpoint, and CIFAR-10 missing from its folder: messages
        at.file_uploader(key="rn_ckpt").upload("notes.pth.tar", b"not a checkpoint").run()
        assert not at.exception and "notes.pth.tar cannot be used as" in " ".join(e.value for e in at.error)
    at.file_uploader(key="rn_ckpt").set_value((c.path.name, c.path.read_bytes(), "application/octet-stream"))
    if name == "resnet110":
        at.selectbox(key="rn_data").set_value(launch.CIFAR)
        at.text_input(key="rn_root").set_value(str(tmp_path / "nowhere"))
        at.get("form_submit_button")[0].click()
        at.run()
        assert f"CIFAR10 was not found in the folder {tmp_path / 'nowhere'}" in " ".join(e.value for e in at.error)
    kind, where = c.data
    if kind == "npz":
        at.selectbox(key="rn_data").set_value(launch.NPZ)
        at.file_uploader(key="rn_npz").upload("test.npz", where.read_bytes())
    else:
        at.selectbox(key="rn_data").set_value(launch.IMAGES)
        at.text_input(key="rn_images").set_value(str(where))
    at.text_input(key="rn_sigmas").set_value(str(BUDGET["sigma"]))
    for key in ("n0", "n", "batch"):
        at.number_input(key=f"rn_{key}").set_value(BUDGET[key])
    at.number_input(key="rn_max").set_value(c.examples)
    at.radio(key="rn_device").set_value("cpu")
    at.get("form_submit_button")[0].click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shape = " × ".join(map(str, c.x.shape[1:]))
    assert f"takes **{shape}** pixels" in " ".join(i.value for i in at.info)        # said above the form
    (run,) = RunStore(store_path).list_runs()
    assert launched == [run.id] and run.spec.model_label.endswith("(uploaded)")
    assert run.spec.model.get("mean", list(IMAGENET_MEAN)) == list(IMAGENET_MEAN)     # torchvision: stored
    assert worker.run_shard(RunStore(store_path), run.id) == "done"
    at.run()
    assert {m.label: m.value for m in at.metric}["Examples done"] == f"{c.examples}/{c.examples}"
    x = c.x[:1]
    with torch.no_grad():                      # the stored spec reloads the uploaded network (a resumed worker)
        torch.testing.assert_close(load_run_model(run.spec.model).model(x), c.reference(x), rtol=1e-4, atol=1e-4)
