"""A safe, self-describing save/load format for base classifiers (architectures: ``models.architectures``).

A bundle is ``torch.save`` of a plain dict (loadable with ``weights_only=True``)::

    {"format": "cert-explorer-bundle/1", "config": asdict(ModelConfig), "state_dict": {...}, "metadata": {...}}

``load_model`` accepts bundles and turns every bad file into a ``ModelLoadError`` whose message names the
problem; pickles carrying code are refused, and so is TorchScript (which is code) unless the caller
trusts it, in which case it runs in a separate process (``cert_core.models.isolated``).
"""
from __future__ import annotations

import io
import os
import pathlib
import pickle
import re
import zipfile
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cert_core.models.architectures import ModelConfig, build_model, check_parameter_budget, config_dict, parameter_shapes
from cert_core.models.isolated import IsolatedModelError, IsolatedTorchScript
from cert_core.validation import byte_size

BUNDLE_FORMAT = "cert-explorer-bundle/1"
# Budgets checked BEFORE anything is decompressed or allocated, so a small hostile file cannot cost gigabytes:
MAX_MODEL_BYTES = 256 * 2**20  # a model file's size, and the uncompressed size its zip directory declares


class ModelLoadError(ValueError):
    """A model file could not be loaded; the message names the problem (never a raw traceback)."""


@dataclass(frozen=True)
class LoadedModel:
    model: nn.Module  # eval mode, CPU, float32
    config: ModelConfig | None  # None for TorchScript (then ``model`` is an IsolatedTorchScript)
    metadata: dict  # name, dataset spec, sigma_train, accuracy, seed, created, description, ...

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        if self.config is not None:
            return self.config.input_shape
        shape = self.metadata.get("input_shape")
        return tuple(shape) if shape is not None else None

    @property
    def num_classes(self) -> int | None:
        return self.config.num_classes if self.config is not None else self.metadata.get("num_classes")


def _plain(value, where="metadata"):
    """A copy of ``value`` made only of types ``weights_only`` loading accepts (numpy scalars unwrapped)."""
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, where) for v in value)
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise ValueError(f"{where} must hold only str/int/float/bool/None/list/tuple/dict; got {type(value).__name__}")


def bundle_bytes(model: nn.Module, config: ModelConfig, metadata: dict) -> bytes:
    """The bundle as bytes. Deterministic: the same weights and metadata give the same bytes."""
    payload = {
        "format": BUNDLE_FORMAT,
        "config": config_dict(config),
        "state_dict": {k: v.detach().to("cpu", torch.float32).contiguous().clone()
                       for k, v in model.state_dict().items()},
        "metadata": _plain(dict(metadata)),
    }
    buf = io.BytesIO()  # always via a buffer: the zip's inner folder name then never depends on a filename
    torch.save(payload, buf)
    return buf.getvalue()


def save_bundle(model: nn.Module, config: ModelConfig, metadata: dict, dest) -> None:
    """Write ``bundle_bytes`` to ``dest`` (a path or a binary file object)."""
    data = bundle_bytes(model, config, metadata)
    if isinstance(dest, (str, os.PathLike)):
        pathlib.Path(dest).write_bytes(data)
    else:
        dest.write(data)


def _too_big(what: str, size: int, nothing: str = "nothing was loaded") -> ModelLoadError:
    return ModelLoadError(f"refused: {what} {byte_size(size)}, more than the limit of "
                          f"{byte_size(MAX_MODEL_BYTES)} (cert_core.models.bundles.MAX_MODEL_BYTES); {nothing}")


def read_model_bytes(source) -> bytes:
    """The file's bytes, refused before reading when it is larger than ``MAX_MODEL_BYTES``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        try:
            size = os.path.getsize(source)
            if size > MAX_MODEL_BYTES:
                raise _too_big("the model file is", size)
            data = pathlib.Path(source).read_bytes()
        except OSError as exc:
            raise ModelLoadError(f"could not read model file {str(source)!r}: {exc.strerror or exc}") from None
    elif hasattr(source, "read"):
        data = source.read(MAX_MODEL_BYTES + 1)
        if isinstance(data, str):
            raise ModelLoadError("the file was opened in text mode; a model file must be read as binary")
        data = bytes(data)
    else:
        raise ModelLoadError(f"expected a path, bytes or a binary file object, got {type(source).__name__}")
    if len(data) > MAX_MODEL_BYTES:
        raise _too_big("the model file is", len(data))
    return data


def file_kind(data: bytes) -> str:
    """'bundle' (torch.save zip) or 'torchscript', or raise; a zip whose directory declares more than
    ``MAX_MODEL_BYTES`` uncompressed is refused here, before anything is decompressed."""
    if not data:
        raise ModelLoadError("the file is empty, not a PyTorch model file")
    if data.startswith(b"PK\x03\x04"):
        try:
            infos = zipfile.ZipFile(io.BytesIO(data)).infolist()   # reads only the central directory
        except (zipfile.BadZipFile, UnicodeDecodeError):     # a name flagged UTF-8 that is not (a flipped bit)
            raise ModelLoadError("the file is a damaged zip archive, not a loadable PyTorch file") from None
        declared = sum(info.file_size for info in infos)
        if declared > MAX_MODEL_BYTES:
            raise _too_big("the zip archive declares", declared, "nothing was decompressed")
        names = [info.filename for info in infos]
        if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
            return "torchscript"
        if any(n.endswith("data.pkl") for n in names):
            return "bundle"
        raise ModelLoadError("the file is a zip archive but not a PyTorch file (no data.pkl inside)")
    if data[:1] == b"\x80":
        # The pre-1.6 format allocates every storage at the size its pickle declares before reading it,
        # so a few bytes can ask for gigabytes; torch.save has written the zip format since 2020.
        raise ModelLoadError("refused for safety: the file is in PyTorch's legacy (pre-1.6) format, whose "
                             "sizes cannot be checked before loading; save it again as a bundle "
                             "(cert_core.models.bundles.save_bundle), which uses the zip format")
    looks = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"%PDF": "a PDF", b"GIF8": "a GIF image"}
    what = next((v for k, v in looks.items() if data.startswith(k)), None)
    if what is None:
        what = "a text file" if _is_text(data[:512]) else "an unknown binary format"
    raise ModelLoadError(f"not a PyTorch model file: it looks like {what}")


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _torch_load(data: bytes) -> dict:
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))  # torch names the offending class/function
        detail = f" (it references {found.group(1)})" if found else ""
        raise ModelLoadError("refused for safety: the file contains pickled Python objects or code that "
                             f"safe (weights_only) loading does not allow{detail}; save it as a bundle "
                             "(cert_core.models.bundles.save_bundle) instead") from None
    except Exception as exc:  # damaged archives raise RuntimeError/EOFError/... from deep inside torch
        raise ModelLoadError(f"the PyTorch file could not be read ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or "format" not in payload:
        raise ModelLoadError(f"missing format tag: expected a bundle dict with 'format': {BUNDLE_FORMAT!r} "
                             "(a bare state dict or tensor cannot be used: the architecture is unknown)")
    if payload["format"] != BUNDLE_FORMAT:
        raise ModelLoadError(f"wrong format tag {payload['format']!r}; expected {BUNDLE_FORMAT!r}")
    return payload


def _config_from(raw) -> tuple[ModelConfig, dict[str, tuple[int, ...]]]:
    """The bundle's config and the state-dict shapes it implies, checked against the parameter budget
    arithmetically: no model is built yet."""
    try:
        fields = dict(raw)
        for key in ("input_shape", "mean", "std"):
            if fields.get(key) is not None:
                fields[key] = tuple(fields[key])
        config = ModelConfig(**fields)
        shapes = parameter_shapes(config)
        check_parameter_budget(shapes, "load_model")
        return config, shapes
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"the bundle's model config does not build: {exc}") from None


def _check_state(expected: dict[str, tuple[int, ...]], state) -> None:
    """Keys, shapes, dtypes and values of the file's tensors against the config's shapes, before building:
    a message lists missing/unexpected keys and shape mismatches."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError("the bundle's state_dict is not a dict of tensors")
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {v}"
              for k, v in expected.items() if k in state and tuple(state[k].shape) != v]
    if missing or unexpected or shapes:
        parts = [f"missing keys {missing}" if missing else "", f"unexpected keys {unexpected}" if unexpected else "",
                 f"shape mismatch {'; '.join(shapes)}" if shapes else ""]
        raise ModelLoadError("the state dict does not fit the architecture: " + ", ".join(p for p in parts if p))
    for name, t in state.items():
        if t.layout != torch.strided or not t.is_floating_point():   # complex is not floating point
            raise ModelLoadError(f"the weights must be dense real floating-point tensors; {name!r} is "
                                 f"{t.dtype} ({t.layout})")
        if not torch.isfinite(t.to(torch.float32)).all():    # the model is float32: 1e300 in float64 becomes inf
            raise ModelLoadError(f"the weights contain NaN or infinite values (in {name!r}) as float32, the "
                                 "model's precision")


UNTRUSTED_TORCHSCRIPT = (
    "refused for safety: this is a TorchScript archive, and TorchScript is code: loading it runs its "
    "__setstate__ and every prediction runs its forward, which can write files or never return. Load it only "
    "if you trust where it came from: in the app switch on 'Trust TorchScript files' beside the upload, on the "
    "command line add --trust-torchscript, in Python call load_model(..., trust_torchscript=True). Trusted "
    "TorchScript runs in a separate process with time and memory limits. A bundle "
    "(cert_core.models.bundles.save_bundle) holds only weights and needs no trust.")


class UntrustedTorchScript(ModelLoadError):
    """A TorchScript file was offered without ``trust_torchscript=True``; nothing in it was run."""


def load_model(source, metadata: dict | None = None, trust_torchscript: bool = False) -> LoadedModel:
    """Load a bundle or a TorchScript archive from a path, bytes or a binary file object.

    Bundles are read with ``torch.load(weights_only=True)``: no code in the file is ever run. Before
    anything is decompressed or allocated, the file and the uncompressed size its zip directory declares
    must fit ``MAX_MODEL_BYTES``, and the config's model must fit ``architectures.MAX_PARAMETERS`` and match the file's
    tensors (computed from the config, not by building it).

    TorchScript is code, so it is refused (``UntrustedTorchScript``) unless ``trust_torchscript``; a trusted
    archive is loaded and run in a separate process (``cert_core.models.isolated.IsolatedTorchScript``: time and
    memory limits, no file writes where Linux Landlock is available); this process never calls
    ``torch.jit.load``. It has no config; its metadata is ``metadata`` (from the caller, may hold
    "input_shape" and "num_classes") or empty. Any problem raises ``ModelLoadError``.
    """
    if not isinstance(trust_torchscript, bool):
        raise ValueError(f"The 'trust_torchscript' parameter of load_model must be a bool. Got {trust_torchscript!r} "
                         "instead.")
    data = read_model_bytes(source)
    kind = file_kind(data)
    if kind == "torchscript":
        if not trust_torchscript:
            raise UntrustedTorchScript(UNTRUSTED_TORCHSCRIPT)
        try:
            model = IsolatedTorchScript(data)
        except IsolatedModelError as exc:
            raise ModelLoadError(f"the TorchScript archive could not be loaded in its isolated process: {exc}") from None
        return LoadedModel(model, None, _plain(dict(metadata or {})))
    payload = _torch_load(data)
    config, shapes = _config_from(payload.get("config"))
    state = payload.get("state_dict")
    _check_state(shapes, state)
    meta = payload.get("metadata") or {}
    if not isinstance(meta, dict):
        raise ModelLoadError("the bundle's metadata is not a dict")
    model = build_model(config)      # the one build, after every check
    model.load_state_dict(state)
    return LoadedModel(model.float().eval(), config, meta)
