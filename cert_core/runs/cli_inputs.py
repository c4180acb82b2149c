"""From the command line's parsed flags to what a run needs: the model (zoo, file, Cohen et al. checkpoint or
torchvision architecture) and the spec that reloads it, the device, the test data, the torchrun rank, and the
RunSpec fields ``--sequential`` sets. Every refusal is a ValueError that ``cert_core.runs.cli.main`` turns into
argparse's exit 2.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib

import torch

from cert_core.methods.sequential.run import SEQUENTIAL
from cert_core.models.bundles import LoadedModel
from cert_core.models.checkpoints import COHEN_SOURCE, load_model_file
from cert_core.models.data import IMAGE_DATASETS, load_dataset
from cert_core.models.dataset import Dataset
from cert_core.models.zoo import list_zoo, load_zoo_model
from cert_core.runs.chunks import Shard
from cert_core.runs.inputs import load_run_data, torchvision_model_spec
from cert_core.runs.inputs import resolve_device as _resolve_device

TORCHVISION_PREFIX = "torchvision:"   # --model torchvision:ARCH --weights FILE


def resolve_model(spec: str, trust_torchscript: bool = False) -> LoadedModel:
    """A zoo name or a path to a bundle / TorchScript file (TorchScript only with ``trust_torchscript``)."""
    if pathlib.Path(spec).is_file():
        return load_model_file(spec, trust_torchscript)
    names = [e.name for e in list_zoo()]
    if spec in names:
        return load_zoo_model(spec)
    raise ValueError(f"--model {spec!r} is neither a file nor a zoo entry (zoo: {', '.join(names)})")


def torchvision_spec(args) -> dict | None:
    """The run's model spec for ``--model torchvision:ARCH --weights FILE`` (``torchvision_model_spec``: what a
    resumed worker reloads); None for any other --model, which may not take the torchvision flags."""
    if not args.model.startswith(TORCHVISION_PREFIX):
        given = [flag for flag, value in (("--weights", args.weights), ("--num-classes", args.num_classes),
                                          ("--mean", args.mean), ("--std", args.std)) if value is not None]
        if given:
            raise ValueError(f"{' and '.join(given)}: only with --model torchvision:ARCH (e.g. torchvision:resnet18)")
        return None
    if not args.weights:
        raise ValueError(f"--model {args.model} needs --weights FILE (its state dict, saved with torch.save)")
    if (args.mean is None) != (args.std is None):
        raise ValueError("give both --mean and --std (one number per channel), or neither")
    return torchvision_model_spec(args.model[len(TORCHVISION_PREFIX):], pathlib.Path(args.weights).resolve(),
                                  args.num_classes or 1000, (3, args.image_size, args.image_size), args.mean, args.std)


def resolve_device(spec: str, local_rank: int = 0) -> torch.device:
    return _resolve_device(spec, local_rank, "--device")


def resolve_dataset(args, loaded: LoadedModel) -> Dataset:
    if args.npz or args.image_folder:
        return _file_dataset(args, loaded)
    spec = dict(loaded.metadata.get("dataset") or {})
    if args.dataset and args.dataset != spec.get("name"):
        spec = {"name": args.dataset}
    if not spec:
        raise ValueError("the model does not record its dataset; pass --dataset")
    if args.data_dir and spec["name"] in IMAGE_DATASETS and spec["name"] != "digits":
        spec["root"] = args.data_dir
    return load_dataset(**spec)


def _file_dataset(args, loaded: LoadedModel) -> Dataset:
    """--npz (the runs page's loader and checks: ``load_run_data``) or --image-folder, as a test-only Dataset
    whose spec a resuming worker loads again."""
    if args.dataset:
        raise ValueError("give --dataset, --npz or --image-folder, not two of them")
    if args.npz:
        spec = {"name": "npz", "path": str(pathlib.Path(args.npz).resolve())}
        data = load_run_data(spec, loaded)
        x, y, k = data.x, data.y, data.num_classes
        return Dataset("npz", x[:0], y[:0], x, y, k, tuple(x.shape[1:]), tuple(map(str, range(k))), spec)
    limit = None if args.max is None else args.max * args.skip         # the selection needs no later image
    ds = load_dataset("image_folder", root=args.image_folder, image_size=args.image_size, resize=args.resize,
                      max_images=limit)
    k = int(loaded.num_classes or ds.num_classes)                        # a 1000-class head on 3 class folders
    if ds.y_test.max() >= k:
        raise ValueError(f"the image folder's labels reach {ds.y_test.max()}, but the model has {k} classes")
    return dataclasses.replace(ds, num_classes=k)


def shard_from_env() -> Shard:
    """This process's rank under torchrun (RANK / WORLD_SIZE / LOCAL_RANK), or a single rank."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ValueError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (torchrun sets them)") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ValueError(f"need 0 <= RANK < WORLD_SIZE; got RANK={rank}, WORLD_SIZE={world}")
    return Shard(rank, world, local)


def stored_model_spec(spec: str, loaded: LoadedModel) -> dict:
    """How a resuming worker reloads ``--model spec`` (RunSpec.model): a zoo name, or the resolved file path and how
    to read it."""
    path = pathlib.Path(spec)
    if not path.is_file():
        return {"zoo": spec}
    if loaded.metadata.get("source") == COHEN_SOURCE:
        return {"path": str(path.resolve()), "checkpoint": "cohen"}
    if loaded.config is None:
        # TorchScript, which loaded only because --trust-torchscript was given: a resuming worker trusts it too
        return {"path": str(path.resolve()), "trust_torchscript": True}
    return {"path": str(path.resolve())}


def sequential_fields(args) -> dict:
    """The RunSpec fields ``--sequential`` sets (method, radii in units of σ, n = the budget); {} without it."""
    if not args.sequential:
        given = [flag for flag, value in (("--radius", args.radius), ("--radius-grid", args.radius_grid),
                                          ("--max-n", args.max_n)) if value is not None]
        if given:
            raise ValueError(f"{' and '.join(given)}: only with --sequential (sequential certification)")
        return {}
    radii = repr(args.radius) if args.radius is not None else args.radius_grid or "anytime"
    return dict(method=SEQUENTIAL.name, radii=radii, n=args.max_n or args.n)
