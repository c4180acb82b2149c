"""Researchers' models: Cohen et al.'s released checkpoints and torchvision classifiers with a user's weights.

Cohen, Rosenfeld & Kolter (ICML 2019) released ``checkpoint.pth.tar`` files: a dict with ``arch`` in
{``cifar_resnet20``, ``cifar_resnet110``, ``resnet50``} and the ``state_dict`` of ``Sequential(NormalizeLayer,
net)``. NormalizeLayer holds the dataset's channel means/stds and no parameters, so the keys are ``1.*``; the
ImageNet ResNet-50 was wrapped in ``DataParallel`` (keys ``1.module.*``). The networks are written here from
their published structure: the CIFAR ResNet of He et al. (2016, Sec. 4.2: 6n+2 layers of BasicBlocks with 16,
32, 64 channels, projection shortcuts when the shape changes, as in their ``archs/cifar_resnet.py``) and
torchvision's ResNet-50. Normalisation stays inside the model (noise is added in pixel space).

Every file is read with ``torch.load(weights_only=True)`` after the size checks of ``bundles`` (file size and
the uncompressed size its zip directory declares; the legacy pre-1.6 format is refused because its sizes
cannot be checked first); the network is first built on the ``meta`` device (nothing allocated) to check the
parameter budget and every key and shape, then given the file's tensors (no random initialisation first).

Shapes: B the batch, C channels, H×W the image.
"""
from __future__ import annotations

import math
import pathlib
import re
from typing import Callable

import torch
from torch import nn

from cert_core.models.architectures import Normalize, check_parameter_budget
from cert_core.models.bundles import LoadedModel, ModelLoadError, file_kind, load_model, read_model_bytes
from cert_core.validation import check_int

CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)      # their datasets.py
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
COHEN_SOURCE = "Cohen et al. checkpoint"                  # metadata["source"] of a loaded checkpoint


# ---------------------------------------------------------------------- the CIFAR ResNet (He et al. 2016)
class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or inplanes != planes:          # projection shortcut (1x1 conv + BN)
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32×32 inputs: conv 16, three stages of n blocks (16, 32, 64), 8×8 average pool, fc."""

    def __init__(self, depth: int, num_classes: int = 10):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"The 'depth' parameter of CifarResNet must be 6n+2 (20, 110, ...). Got {depth} instead.")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        widths, inplanes = (16, 32, 64), 16
        for i, planes in enumerate(widths):
            blocks = [BasicBlock(inplanes if j == 0 else planes, planes, 2 if (i and j == 0) else 1) for j in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            inplanes = planes
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):                                               # (B, 3, 32, 32)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))                    # (B, 64, 8, 8)
        return self.fc(self.avgpool(x).flatten(1))                      # (B, K)


def _torchvision(name: str, num_classes: int) -> nn.Module:
    import torchvision
    classifiers = set(torchvision.models.list_models(module=torchvision.models))
    if name not in classifiers:
        raise ValueError(f"{name!r} is not a torchvision classification architecture "
                         f"(e.g. resnet18, resnet50, vgg16, vit_b_16; {len(classifiers)} in all)")
    return torchvision.models.get_model(name, weights=None, num_classes=num_classes)


# arch -> (builder, input shape, num classes, mean, std) of Cohen et al.'s architectures.py / datasets.py
COHEN_ARCHS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...], int, tuple, tuple]] = {
    "cifar_resnet20": (lambda: CifarResNet(20, 10), (3, 32, 32), 10, CIFAR10_MEAN, CIFAR10_STD),
    "cifar_resnet110": (lambda: CifarResNet(110, 10), (3, 32, 32), 10, CIFAR10_MEAN, CIFAR10_STD),
    "resnet50": (lambda: _torchvision("resnet50", 1000), (3, 224, 224), 1000, IMAGENET_MEAN, IMAGENET_STD),
}


# ---------------------------------------------------------------------- loading
def conversion_command(path=None) -> str:
    """One line that turns a checkpoint this module refuses (the legacy pre-1.6 format; a whole pickled
    ``nn.Module``; a dict that also pickles custom objects, e.g. an ``argparse.Namespace``) into one it loads:
    the zip format holding only ``arch`` and the ``state_dict`` (or the module's state dict). It unpickles
    the file (``weights_only=False`` runs code from it), so it is for the user's own trusted environment,
    where the file's classes can be imported; this app never runs it."""
    src = str(path) if path is not None and isinstance(path, (str, pathlib.PurePath)) else "checkpoint.pth.tar"
    src = src.replace("\\", "/").replace("'", "")
    dst = src[:-len(".pth.tar")] + "-converted.pth.tar" if src.endswith(".pth.tar") else src + ".converted.pt"
    return ("python -c \"import torch; o = torch.load('" + src + "', map_location='cpu', weights_only=False); "
            "o = o.state_dict() if isinstance(o, torch.nn.Module) else o; "
            "torch.save({k: (v.state_dict() if isinstance(v, torch.nn.Module) else v) for k, v in o.items() "
            "if k in ('arch', 'state_dict')} if 'state_dict' in o else dict(o), '" + dst + "')\"")


def _refused(what: str, source) -> ModelLoadError:
    return ModelLoadError(f"refused for safety: {what}. Convert it once, in an environment where you trust the "
                          f"file (and can import its classes), with: {conversion_command(source)}")


def _load_dict(source) -> dict:
    data = read_model_bytes(source)                         # refused above MAX_MODEL_BYTES before reading
    if data[:1] == b"\x80":
        raise _refused("the checkpoint is in PyTorch's legacy (pre-1.6) format, whose sizes cannot be checked "
                       "before loading", source)
    if file_kind(data) != "bundle":                        # zip directory checked before decompressing
        raise ModelLoadError("a checkpoint must be a torch.save file, not TorchScript")
    import io
    import pickle
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _refused(f"the checkpoint holds pickled Python objects{_culprit(exc)} that safe (weights_only) "
                       "loading does not allow (a whole nn.Module saved with torch.save(model), or custom "
                       "classes next to the weights); loading them would run code from the file", source) from None
    except Exception as exc:
        raise ModelLoadError(f"the checkpoint could not be read ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict):
        raise ModelLoadError("a checkpoint must hold a dict (a state dict, or one with 'state_dict')")
    return payload


def _culprit(exc: Exception) -> str:
    found = re.search(r"GLOBAL (\S+)", str(exc))           # torch names the offending class or function
    return f" ({found.group(1)})" if found else ""


def strip_prefixes(state: dict) -> dict:
    """The network's own keys: Sequential(NormalizeLayer, net) puts them under ``1.``, DataParallel under ``module.``."""
    for prefix in ("1.", "module."):
        if state and all(isinstance(k, str) and k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def _checked_build(build: Callable[[], nn.Module], state) -> nn.Module:
    """Build on the meta device, check budget, keys, shapes and values, then build for real and load."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError("the checkpoint's state_dict is not a dict of tensors")
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in build().state_dict().items()}
    try:
        check_parameter_budget(expected, "load_checkpoint")
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {v}" for k, v in expected.items()
              if k in state and tuple(state[k].shape) != v]
    if missing or unexpected or shapes:
        parts = [f"missing keys {missing[:5]}" if missing else "", f"unexpected keys {unexpected[:5]}" if unexpected
                 else "", f"shape mismatch {'; '.join(shapes[:5])}" if shapes else ""]
        raise ModelLoadError("the state dict does not fit the architecture: " + ", ".join(p for p in parts if p))
    for name, t in state.items():
        counter = name.endswith("num_batches_tracked")                 # BatchNorm's step counter is an int
        if t.layout != torch.strided or not (t.is_floating_point() or (counter and not t.is_complex())):
            raise ModelLoadError(f"the weights must be dense real floating-point tensors; {name!r} is {t.dtype}")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ModelLoadError(f"the weights contain NaN or infinite values (in {name!r})")
    return _materialised(build, state)


def _materialised(build: Callable[[], nn.Module], state: dict) -> nn.Module:
    """The network holding the file's tensors: built on the meta device and given them (``assign=True``), which
    skips the random initialisation that every tensor replaces anyway (seconds for a ResNet-50); built for real when
    a tensor would stay unset (a non-persistent buffer, absent from every state dict)."""
    with torch.device("meta"):
        net = build()
    net.load_state_dict(state, assign=True)
    if any(t.is_meta for t in (*net.parameters(), *net.buffers())):
        net = build()
        net.load_state_dict(state)
    return net


def _wrap(net: nn.Module, mean, std, input_shape, num_classes, metadata: dict) -> LoadedModel:
    model = nn.Sequential(Normalize(mean, std, len(input_shape)), net) if mean is not None else nn.Sequential(net)
    meta = dict(metadata, input_shape=list(input_shape), num_classes=int(num_classes))
    return LoadedModel(model.float().eval(), None, meta)


def is_cohen_checkpoint(payload) -> bool:
    return isinstance(payload, dict) and "arch" in payload and "state_dict" in payload and "format" not in payload


def load_cohen_checkpoint(source) -> LoadedModel:
    """A ``checkpoint.pth.tar`` of Cohen et al. (see the module docstring); the model maps pixels in [0, 1]
    to logits, with the dataset's normalisation inside."""
    payload = _load_dict(source)
    if not is_cohen_checkpoint(payload):
        raise ModelLoadError("not a Cohen et al. checkpoint: expected a dict with 'arch' and 'state_dict'")
    arch = payload["arch"]
    if arch not in COHEN_ARCHS:
        raise ModelLoadError(f"unknown arch {arch!r}; Cohen et al.'s checkpoints use {', '.join(COHEN_ARCHS)}")
    build, shape, k, mean, std = COHEN_ARCHS[arch]
    net = _checked_build(build, strip_prefixes(payload["state_dict"]))
    dataset = {"name": "cifar10"} if shape[1] == 32 else None
    return _wrap(net, mean, std, shape, k, {"name": arch, "arch": arch, "source": COHEN_SOURCE,
                                            **({"dataset": dataset} if dataset else {})})


def check_channel_stats(mean, std, channels: int, func: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``mean`` and ``std`` as tuples of ``channels`` finite floats (std > 0); else a ModelLoadError naming it."""
    out = []
    for name, raw, positive in (("mean", mean, False), ("std", std, True)):
        try:
            values = tuple(float(v) for v in raw)
        except (TypeError, ValueError):
            values = ()
        if len(values) != channels or not all(math.isfinite(v) and (v > 0 or not positive) for v in values):
            rule = "finite numbers > 0" if positive else "finite numbers"
            raise ModelLoadError(f"The '{name}' parameter of {func} must be {channels} {rule}, one per channel. "
                                 f"Got {raw!r} instead.")
        out.append(values)
    return out[0], out[1]


def load_torchvision(name: str, source, num_classes: int, input_shape=(3, 224, 224), mean=None,
                     std=None) -> LoadedModel:
    """torchvision's classification architecture ``name`` with the user's state dict (a bare state dict or a
    dict holding 'state_dict'; ``1.``/``module.`` prefixes are removed); ``mean``/``std`` put the
    normalisation inside the model."""
    if (mean is None) != (std is None):
        raise ModelLoadError("give both mean and std, or neither")
    if mean is not None:
        mean, std = check_channel_stats(mean, std, int(input_shape[0]), "load_torchvision")
    try:
        check_int(num_classes, "num_classes", "load_torchvision", low=1)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None
    payload = _load_dict(source)
    state = payload["state_dict"] if "state_dict" in payload else payload
    try:
        with torch.device("meta"):
            _torchvision(name, int(num_classes))      # a clear error for a bad name; nothing allocated
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None
    net = _checked_build(lambda: _torchvision(name, int(num_classes)), strip_prefixes(state))
    return _wrap(net, mean, std, input_shape, num_classes, {"name": name, "arch": name})


def load_model_file(path, trust_torchscript: bool = False) -> LoadedModel:
    """A bundle or TorchScript file (``bundles.load_model``), or else a Cohen et al. checkpoint."""
    try:
        return load_model(path, trust_torchscript=trust_torchscript)
    except ModelLoadError as exc:
        if str(exc).startswith("refused for safety") and "TorchScript" not in str(exc):
            return load_cohen_checkpoint(path)     # a checkpoint's refusal, with the conversion command
        if "missing format tag" not in str(exc):
            raise
    try:
        return load_cohen_checkpoint(path)
    except ModelLoadError as exc:
        if "not a Cohen et al. checkpoint" in str(exc):
            raise ModelLoadError("neither a bundle (no 'format' tag) nor a Cohen et al. checkpoint (no 'arch' and "
                                 "'state_dict'); a bare state dict needs its architecture: "
                                 "cert_core.models.checkpoints.load_torchvision") from None
        raise
