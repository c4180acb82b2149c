"""Resolving a run's spec into what certification needs: the device, the model and the test inputs.

Shared by the worker process, the command line and the runs page (which reads a ddrs run's inputs to
apply the memory, see ``run_methods.certified``). Every failure is a ValueError in the user's words.

Shapes: N test examples of shape D.
"""
from __future__ import annotations

import math
import tokenize
import zipfile
from dataclasses import dataclass

import numpy as np
import torch

from cert_core.models.data import load_dataset
from cert_core.models.bundles import LoadedModel, load_model
from cert_core.models.zoo import load_zoo_model
from cert_core.validation import byte_size


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
    if "path" in spec and spec.get("checkpoint") == "cohen":
        from cert_core.models.checkpoints import load_cohen_checkpoint
        return load_cohen_checkpoint(spec["path"])
    if "path" in spec and spec.get("checkpoint") == "torchvision":
        from cert_core.models.checkpoints import load_torchvision
        return load_torchvision(spec["arch"], spec["path"], spec["num_classes"], tuple(spec["input_shape"]),
                                spec.get("mean"), spec.get("std"))
    if "path" in spec:
        # the app or CLI records trust only for a TorchScript file the user trusted when starting the run
        return load_model(spec["path"], metadata=spec.get("metadata"),
                          trust_torchscript=spec.get("trust_torchscript") is True)
    raise ValueError(f"A run's model must name a zoo entry or a file. Got {spec!r} instead.")


def torchvision_model_spec(arch: str, path, num_classes: int, input_shape, mean=None, std=None) -> dict:
    """A run's model spec for torchvision's classification architecture ``arch`` with the user's state dict at
    ``path`` (``checkpoints.load_torchvision``; mean/std: the normalisation inside the model), as the CLI's
    ``--model torchvision:ARCH --weights FILE`` and the runs page store it and ``load_run_model`` reloads it.
    JSON types only (lists), so a stored spec compares equal to a freshly built one."""
    spec = {"path": str(path), "checkpoint": "torchvision", "arch": str(arch), "num_classes": int(num_classes),
            "input_shape": [int(d) for d in input_shape]}
    if (mean is None) != (std is None):
        raise ValueError("Give both mean and std (one number per channel), or neither.")
    if mean is not None:
        spec.update(mean=[float(v) for v in mean], std=[float(v) for v in std])
    return spec


MAX_NPZ_BYTES = 512 * 2**20   # x and y of an .npz as their zip entries declare them uncompressed, and x as float32
_PAIRS = (("x", "y"), ("images", "labels"), ("x_test", "y_test"), ("X", "y"))
_NUMBER_KINDS = "biuf"          # bool, int, uint, float: the dtypes x may have


def load_npz(source, input_shape=None) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels from an .npz (keys x/y, images/labels or x_test/y_test); uint8 is scaled to
    [0, 1] and HWC images are transposed to CHW when that matches ``input_shape``.

    An upload is untrusted: nothing is unpickled, and only the two arrays used are read, after their zip
    entries' declared sizes (at most ``MAX_NPZ_BYTES``) and .npy headers (real numbers, integer labels,
    matching lengths) have been checked, so a small archive cannot expand into gigabytes.
    """
    if not _is_zip(source):
        raise ValueError(f"This file is not a NumPy .npz archive (expected arrays x and y).{_NPZ_HINT}")
    pos = source.tell() if hasattr(source, "read") else None
    try:
        with zipfile.ZipFile(source) as archive:
            xk, yk = _checked_pair(archive)          # ValueErrors in the user's words pass through
    except _UNREADABLE as exc:
        raise _damaged(exc) from None
    if pos is not None:
        source.seek(pos)
    try:
        with np.load(source, allow_pickle=False) as npz:     # lazy: reads only the entries accessed
            x, y = npz[xk], npz[yk]
    except _UNREADABLE + (ValueError,) as exc:    # e.g. data shorter than its header says
        raise _damaged(exc) from None
    with np.errstate(over="ignore"):        # values beyond float32 become inf, refused just below
        x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if input_shape is not None:
        x = _fit_shape(x, tuple(input_shape))
    if not np.isfinite(x).all():
        raise ValueError("The .npz images contain NaN or inf (or values beyond float32's range).")
    return x, y.astype(np.int64)


class _Damaged(Exception):
    """A header that NumPy itself would refuse (bad magic, unknown version, garbled dict)."""


# zipfile: BadZipFile (bad CRC, ...), NotImplementedError (unknown compression), RuntimeError (encrypted),
# UnicodeDecodeError (an entry name flagged UTF-8 that is not)
_UNREADABLE = (OSError, EOFError, KeyError, zipfile.BadZipFile, NotImplementedError, RuntimeError, UnicodeDecodeError,
               _Damaged)


def _damaged(exc: Exception) -> ValueError:
    # NumPy's own message may suggest allow_pickle=True, which would run code from the file: never pass it on.
    return ValueError(f"The .npz archive could not be read: it is damaged ({type(exc).__name__}) "
                      f"(expected numeric arrays x and y).{_NPZ_HINT}")


def _checked_pair(archive: zipfile.ZipFile) -> tuple[str, str]:
    """The names of the x and y arrays, after checking their declared sizes and headers; ValueError
    naming the problem (and the limit) otherwise."""
    entries = {i.filename[:-4]: i for i in archive.infolist() if i.filename.endswith(".npy")}
    xk, yk = next(((a, b) for a, b in _PAIRS if a in entries and b in entries), (None, None))
    if xk is None:
        raise ValueError(f"The .npz needs arrays named x and y (or images and labels). It has {sorted(entries)}.")
    declared = entries[xk].file_size + entries[yk].file_size
    if declared > MAX_NPZ_BYTES:
        raise ValueError(f"The .npz arrays {xk} and {yk} declare {byte_size(declared)} uncompressed, more than the "
                         f"limit of {byte_size(MAX_NPZ_BYTES)} (cert_core.runs.inputs.MAX_NPZ_BYTES); nothing was "
                         "decompressed.")
    (x_shape, x_dtype), (y_shape, y_dtype) = (_header(archive, entries[k], k) for k in (xk, yk))
    if len(x_shape) < 2 or len(y_shape) != 1 or x_shape[0] != y_shape[0] or y_shape[0] == 0 \
            or y_dtype.kind not in "iu":
        raise ValueError(f"The .npz must hold x of shape (N, ...) and integer labels y of shape (N,). "
                         f"Got x {x_shape} and y {y_shape} ({y_dtype}) instead.")
    if math.prod(x_shape) * 4 > MAX_NPZ_BYTES:
        raise ValueError(f"The .npz images {x_shape} take {byte_size(math.prod(x_shape) * 4)} as float32, more "
                         f"than the limit of {byte_size(MAX_NPZ_BYTES)} (cert_core.runs.inputs.MAX_NPZ_BYTES).")
    if x_dtype.kind == "c":
        raise ValueError(f"The .npz images are complex-valued ({x_dtype}); inputs must be real numbers (the "
                         "imaginary part would otherwise be silently dropped).")
    if x_dtype.kind not in _NUMBER_KINDS:
        raise ValueError(f"The .npz images must be real numbers (bool, int or float). Got dtype {x_dtype} instead.")
    return xk, yk


def _header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> tuple[tuple, np.dtype]:
    """(shape, dtype) from an entry's .npy header, reading only its first bytes; refuses object arrays,
    whose loading would need pickle, and headers whose data could not fit the entry."""
    fmt = np.lib.format
    try:
        with archive.open(info) as f:
            version = fmt.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise _Damaged(f"npy version {version}")
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read(f)
    except (ValueError, SyntaxError, tokenize.TokenError) as exc:   # NumPy's words for a garbled header
        raise _Damaged(str(exc)) from None
    if dtype.hasobject:
        raise ValueError("The .npz archive could not be read: it holds object (pickled) arrays, which are "
                         f"refused (expected numeric arrays x and y).{_NPZ_HINT}")
    if math.prod(shape) * dtype.itemsize > info.file_size:
        raise _Damaged(f"{key} declares more data than its entry holds")
    return tuple(shape), dtype


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
