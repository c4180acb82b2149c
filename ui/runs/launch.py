"""Turn the runs page's choices into stored runs and a background worker.

The worker is another process, so the model and the data must be loadable from files: zoo models are
named, session models (trained or uploaded in the app) are written as bundles next to the store,
and an uploaded .npz (or a test split that cannot be rebuilt from its spec) is saved there too,
each under its sha256 so starting the same thing twice writes nothing new.

Methods: one run per σ (Cohen), per σ0 (data-dependent σ, optionally beside a fixed-σ Cohen run at the
same σ: the paper's Cohen vs Cohen-DS comparison), or one Bernstein run (optionally beside Cohen runs
on the same bottleneck model); all runs of one start form one group, compared together by default.
"""
from __future__ import annotations

import hashlib
import io
import pathlib
import re
import uuid
from dataclasses import dataclass

import numpy as np

from cert_core.models.bundles import LoadedModel, bundle_bytes
from cert_core.models.checkpoints import load_cohen_checkpoint, load_torchvision
from cert_core.models.data import IMAGE_DATASETS, TOY_DATASETS
from cert_core.runs import worker
from cert_core.runs.engine import RUN_METHODS, run_method
from cert_core.runs.inputs import load_npz, load_run_data, resolve_device, torchvision_model_spec
from cert_core.runs.store import RunSpec, RunStore

OWN, MNIST, FASHION, CIFAR, NPZ = "The model's test split", "MNIST", "Fashion-MNIST", "CIFAR-10", "Uploaded .npz"
IMAGES = "Image folder (ImageNet-style)"
DATA_CHOICES = (OWN, MNIST, FASHION, CIFAR, NPZ)
UPLOAD_DATA_CHOICES = (CIFAR, IMAGES, NPZ)     # an uploaded checkpoint has no test split of its own
TORCHVISION = {MNIST: "mnist", FASHION: "fashion_mnist", CIFAR: "cifar10"}
METHOD_LABELS = {name: m.label for name, m in RUN_METHODS.items()}
SIDEBAR, COHEN, TORCHVISION_ARCH = ("The sidebar's model", "Cohen et al. checkpoint (upload)",
                                    "torchvision architecture + your weights (upload)")
MODEL_CHOICES = (SIDEBAR, COHEN, TORCHVISION_ARCH)


@dataclass(frozen=True)
class Params:
    sigmas: tuple[float, ...]   # one run per σ
    n0: int                     # selection samples
    n: int                      # estimation samples
    alpha: float                # failure probability
    batch: int                  # noisy samples per forward pass
    max_examples: int | None    # at most this many test examples
    skip: int                   # every skip-th test example
    device: str                 # auto / cpu / cuda
    seed: int = 0
    method: str = "cohen"       # RunSpec.method
    method_params: tuple = ()   # (name, value) pairs of the method's RunSpec fields (RunMethod.fields)
    with_cohen: bool = False    # also the method's companion Cohen runs (ddrs: at each σ0; bernstein: at ``sigmas``)


def parse_sigmas(text: str, allow_empty: bool = False) -> tuple[float, ...]:
    """'0.25, 0.5 1.0' -> (0.25, 0.5, 1.0); ValueError in the app's words."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    if allow_empty and not parts:
        return ()
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"σ must be positive numbers separated by commas, e.g. 0.25, 0.5. Got {text!r}.") from None
    if not values or any(not (0 < v < 100) for v in values):
        raise ValueError(f"σ must be positive numbers separated by commas, e.g. 0.25, 0.5. Got {text!r}.")
    if len(values) > 8:
        raise ValueError("At most 8 values of σ at once.")
    return tuple(dict.fromkeys(values))


def parse_radii(text: str) -> tuple[float, ...]:
    """'0, 0.25; 0.5' -> (0.0, 0.25, 0.5): the radii a table reports; ValueError in the app's words."""
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(not np.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"Radii must be numbers ≥ 0 separated by commas. Got {text!r}.")
    return values


def _save(folder: pathlib.Path, data: bytes, suffix: str) -> tuple[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha[:16]}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)            # atomic: a worker never reads half a file
    return str(path), sha


def model_source(current, store: RunStore) -> dict:
    """How a worker process loads the sidebar's current model."""
    if current.key.startswith("zoo:"):
        return {"zoo": current.key[4:]}
    loaded = current.loaded
    if loaded.config is not None:
        data = bundle_bytes(loaded.model, loaded.config, loaded.metadata)
        path, sha = _save(store.path.parent / "models", data, ".pt")
        return {"path": path, "sha256": sha}
    # TorchScript: the archive as uploaded (the user trusted it to get here); the worker runs it isolated too
    path, sha = _save(store.path.parent / "models", loaded.model.archive, ".pt")
    return {"path": path, "sha256": sha, "trust_torchscript": True,
            "metadata": {"input_shape": list(loaded.input_shape or ()), "num_classes": current.num_classes}}


def load_checkpoint(data: bytes, arch: str | None = None, num_classes: int = 1000, image_size: int = 224,
                    mean=None, std=None) -> LoadedModel:
    """An uploaded Cohen et al. checkpoint (``arch`` None) or a state dict for torchvision's ``arch`` (input
    3 × image_size × image_size, mean/std: the normalisation inside the model), read with weights_only; a clear
    ModelLoadError for a file that is neither."""
    if arch is None:
        return load_cohen_checkpoint(data)
    return load_torchvision(arch, data, num_classes, (3, image_size, image_size), mean, std)


def checkpoint_spec(data: bytes, store: RunStore, arch: str | None = None, num_classes: int = 1000,
                    image_size: int = 224, mean=None, std=None) -> dict:
    """The file of ``load_checkpoint`` saved for the worker under its sha256, and the run's model spec: the CLI's
    (``--model checkpoint.pth.tar`` / ``--model torchvision:ARCH --weights FILE``)."""
    path, sha = _save(store.path.parent / "models", data, ".pth.tar" if arch is None else ".pt")
    if arch is None:
        return {"path": path, "sha256": sha, "checkpoint": "cohen"}
    return {**torchvision_model_spec(arch, path, num_classes, (3, image_size, image_size), mean, std), "sha256": sha}


def image_folder_source(root: str, loaded: LoadedModel, max_images: int | None = None) -> dict:
    """The spec of an ImageNet-style folder (``root/<class>/<image>``) resized and centre-cropped to the model's
    square input, as the CLI's ``--image-folder`` reads it; ValueError for a model that does not take 3 × S × S."""
    shape = tuple(loaded.input_shape or ())
    if len(shape) != 3 or shape[0] != 3 or shape[1] != shape[2]:
        raise ValueError(f"An image folder gives 3 × S × S colour images, but the model takes {shape}.")
    if not str(root).strip():
        raise ValueError("Type the image folder's path (one sub-folder per class: folder/<class>/<image>).")
    return {"name": "image_folder", "root": str(root).strip(), "image_size": shape[1], "max_images": max_images}


def npz_source(x: np.ndarray, y: np.ndarray, store: RunStore) -> dict:
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    path, sha = _save(store.path.parent / "data", buffer.getvalue(), ".npz")
    return {"name": "npz", "path": path, "sha256": sha}


def upload_source(data: bytes, current, store: RunStore) -> tuple[dict, int]:
    """An uploaded .npz, checked against the model now (clear ValueError) and saved for the worker."""
    load_npz(io.BytesIO(data), current.loaded.input_shape)    # refuse a non-.npz before saving anything
    path, sha = _save(store.path.parent / "data", data, ".npz")
    spec = {"name": "npz", "path": path, "sha256": sha}
    return spec, len(load_run_data(spec, current.loaded).y)


def own_source(current, store: RunStore) -> tuple[dict, int]:
    ds = current.dataset
    if ds is None:
        raise ValueError(f"The current model has no test split ({current.dataset_note}); choose other data.")
    if ds.spec.get("name") in TOY_DATASETS + IMAGE_DATASETS:
        return dict(ds.spec), len(ds.y_test)
    return npz_source(ds.x_test, ds.y_test, store), len(ds.y_test)   # e.g. an uploaded CSV: freeze it


def specs(model: dict, current, data_spec: dict, data_label: str, params: Params) -> list[RunSpec]:
    """The runs one start creates, in the order the worker certifies them (the method's ``plan``)."""
    common = dict(n0=params.n0, n=params.n, alpha=params.alpha, batch=params.batch, max_examples=params.max_examples,
                  skip=params.skip, device=params.device, seed=params.seed, model_label=current.label,
                  data_label=data_label)
    own = dict(common, method=params.method, **dict(params.method_params))
    return [RunSpec(model, data_spec, sigma, **(common if companion else own))
            for sigma, companion in run_method(params.method).plan(params.sigmas, params.with_cohen)]


def start(store: RunStore, current, data_spec: dict, data_label: str, num_test: int, params: Params,
          model: dict | None = None) -> list[int]:
    """Create the runs of one start (one group) and a worker process that certifies them in turn; ``model``:
    an uploaded checkpoint's spec (``checkpoint_spec``), else the sidebar's model (``model_source``)."""
    resolve_device(params.device, what="Device")                 # fail here, not in the worker
    run_method(params.method).check_model(current.loaded.model, current.num_classes, dict(params.method_params))
    model = model or model_source(current, store)
    group = uuid.uuid4().hex[:8]
    ids = []
    for spec in specs(model, current, data_spec, data_label, params):
        total = len(spec.select(num_test))
        if total == 0:
            raise ValueError("The selection is empty: lower 'every k-th'.")
        ids.append(store.create_run(spec, total, group=group))
    worker.launch(store, ids)
    return ids
