"""Resolving a run's spec into what certification needs: the device, the model and the test inputs.

Shared by the worker process, the command line and the runs page (which reads a ddrs run's inputs to
apply the memory, see ``run_methods.certified``). Every failure is a ValueError in the user's words.

Shapes: N test examples of shape D.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass

import numpy as np
import torch

from cert_core.models.data import load_dataset
from cert_core.models.bundles import LoadedModel, load_model
from cert_core.models.zoo import load_zoo_model


@dataclass(frozen=True)
class RunData:
    x: np.ndarray            # (N, *D) float32 test inputs
    y: np.ndarray            # (N,) int64 labels
    num_classes: int


# ---------------------------------------------------------------------- resolving a spec
def resolve_device(spec: str, local_rank: int = 0, what: str = "--device") -> torch.device:
    """auto: cuda:local_rank if CUDA is present, else cpu; cuda: cuda:local_rank; cuda:N as given."""
    if spec in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if spec == "auto":
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ValueError(f"{what} must be auto, cpu, cuda or cuda:N. Got {spec!r} instead.") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"{what} must be auto, cpu, cuda or cuda:N. Got {spec!r} instead.")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{what} cuda was asked for, but no CUDA device is available here (use auto or cpu)")
    return device


def load_run_model(spec: dict) -> LoadedModel:
    if "zoo" in spec:
        return load_zoo_model(spec["zoo"])
    if "path" in spec:
        return load_model(spec["path"], metadata=spec.get("metadata"))
    raise ValueError(f"A run's model must name a zoo entry or a file. Got {spec!r} instead.")


def load_npz(source, input_shape=None) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels from an .npz (keys x/y, images/labels or x_test/y_test); uint8 is scaled to
    [0, 1] and HWC images are transposed to CHW when that matches ``input_shape``."""
    if not _is_zip(source):
        raise ValueError(f"This file is not a NumPy .npz archive (expected arrays x and y).{_NPZ_HINT}")
    try:
        with np.load(source, allow_pickle=False) as npz:     # never pickle: an upload is untrusted
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        # NumPy's own message may suggest allow_pickle=True, which would run code from the file: never pass it on.
        why = "it holds object (pickled) arrays, which are refused" if "pickle" in str(exc) else "it is damaged"
        raise ValueError(f"The .npz archive could not be read: {why} (expected numeric arrays x and y)."
                         f"{_NPZ_HINT}") from None
    for xk, yk in (("x", "y"), ("images", "labels"), ("x_test", "y_test"), ("X", "y")):
        if xk in arrays and yk in arrays:
            x, y = arrays[xk], arrays[yk]
            break
    else:
        raise ValueError(f"The .npz needs arrays named x and y (or images and labels). It has {sorted(arrays)}.")
    if x.ndim < 2 or y.ndim != 1 or len(x) != len(y) or len(y) == 0 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"The .npz must hold x of shape (N, ...) and integer labels y of shape (N,). "
                         f"Got x {x.shape} and y {y.shape} ({y.dtype}) instead.")
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if input_shape is not None:
        x = _fit_shape(x, tuple(input_shape))
    if not np.isfinite(x).all():
        raise ValueError("The .npz images contain NaN or inf.")
    return x, y.astype(np.int64)


_NPZ_HINT = " Save one with numpy.savez('data.npz', x=images, y=labels)."
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")      # a local file header, or an empty archive


def _is_zip(source) -> bool:
    """Whether ``source`` (a path or a binary file object) starts like a zip archive, which every .npz is;
    checked first because np.load would fall back to unpickling anything else."""
    if hasattr(source, "read"):
        pos = source.tell()
        head = source.read(4)
        source.seek(pos)
    else:
        try:
            with open(source, "rb") as f:
                head = f.read(4)
        except OSError as exc:
            raise ValueError(f"The .npz file could not be opened: {exc.strerror or exc}.") from None
    return bytes(head) in _ZIP_MAGIC


def _fit_shape(x: np.ndarray, shape: tuple) -> np.ndarray:
    if x.shape[1:] == shape:
        return x
    if x.ndim == 3 and shape[0] == 1 and x.shape[1:] == shape[1:]:
        return x[:, None]                       # (N, H, W) -> (N, 1, H, W)
    if x.ndim == 4 and x.shape[1:] == (*shape[1:], shape[0]):
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))    # (N, H, W, C) -> (N, C, H, W)
    raise ValueError(f"The model takes inputs of shape {shape}, but the data has {tuple(x.shape[1:])}.")


def load_run_data(spec: dict, loaded: LoadedModel) -> RunData:
    if spec.get("name") == "npz":
        x, y = load_npz(spec["path"], loaded.input_shape)
        k = int(loaded.num_classes or y.max() + 1)
        if y.min() < 0 or y.max() >= k:
            raise ValueError(f"The .npz labels must lie in 0..{k - 1} for this {k}-class model. Got {y.min()}..{y.max()}.")
        return RunData(x, y, k)
    ds = load_dataset(**spec)
    if loaded.input_shape is not None and tuple(loaded.input_shape) != tuple(ds.input_shape):
        raise ValueError(f"The model takes inputs of shape {tuple(loaded.input_shape)}, but {ds.name} has {ds.input_shape}.")
    return RunData(ds.x_test, ds.y_test, int(loaded.num_classes or ds.num_classes))


def run_data(spec) -> RunData:
    """A run's test data exactly as its worker loads it (from ``RunSpec.model`` and ``RunSpec.data``)."""
    return load_run_data(spec.data, load_run_model(spec.model))
