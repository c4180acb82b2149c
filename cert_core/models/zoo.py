"""The built-in model zoo: small base classifiers trained with Gaussian noise augmentation.

``python -m cert_core.models.zoo build [--only NAME] [--out DIR]`` trains every entry and writes
``assets/models/<name>.pt`` bundles (see ``cert_core.models.bundles``). The build is bit-for-bit reproducible
on a given platform and torch version: data, initial weights, shuffling and noise are all seeded, the
build runs single-threaded with deterministic algorithms, bundles are serialised through a buffer and
carry no wall-clock time. Running it twice gives files with identical sha256.

Names are ``<dataset>-<arch>-s<sigma_train>``, e.g. ``moons-mlp-s0.25`` or ``digits-cnn-s0.5``.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import pathlib
from dataclasses import asdict, dataclass

import torch

from cert_core.models.data import load_dataset
from cert_core.models.architectures import ModelConfig, build_model
from cert_core.models.bundles import LoadedModel, load_model, save_bundle
from cert_core.methods.margin.train import LOSS_LABELS, MarginTrainConfig, train_margin
from cert_core.models.train import TrainConfig, train_model

ASSET_DIR = pathlib.Path(__file__).resolve().parents[2] / "assets" / "models"
SIGMAS = (0.0, 0.25, 0.5)
TORCH_VERSION = torch.__version__.split("+")[0]  # bytes are reproducible for one torch version
CREATED = "cert-explorer zoo v1"  # fixed instead of a date, so rebuilds are byte-identical


@dataclass(frozen=True)
class ZooEntry:
    name: str  # "<dataset>-<arch>-s<sigma>", also the file stem
    dataset_spec: dict  # load_dataset(**dataset_spec) gives the training data
    config: ModelConfig  # architecture
    train: TrainConfig  # training recipe, including sigma_train and the seed
    description: str  # one line for the UI
    margin: MarginTrainConfig | None = None  # SRA Table 1 loss (then ``train`` mirrors its epochs/lr/sigma)


_TOYS = {  # dataset -> (spec, epochs, what to say)
    "moons": ({"name": "moons", "n_samples": 600, "noise": 0.1}, 200, "two interleaved half-moons"),
    "circles": ({"name": "circles", "n_samples": 600, "noise": 0.08}, 200, "a ring around a disc"),
    "spirals": ({"name": "spirals", "n_samples": 1000, "noise": 0.03}, 400, "two interleaved spirals"),
    "blobs": ({"name": "blobs", "n_samples": 600, "noise": 0.1, "n_classes": 4}, 200, "four Gaussian blobs"),
}


def _sigma_tag(sigma: float) -> str:
    return f"s{sigma:g}"  # 0 -> s0, 0.25 -> s0.25


def _toy_entries() -> list[ZooEntry]:
    out = []
    for ds, (spec, epochs, what) in _TOYS.items():
        spec = {"seed": 0, "test_fraction": 0.3, "n_classes": None, **spec}
        k = spec["n_classes"] or 2
        config = ModelConfig("mlp", (2,), k, width=64, depth=3)
        for s in SIGMAS:
            out.append(ZooEntry(f"{ds}-mlp-{_sigma_tag(s)}", spec, config,
                                TrainConfig(epochs=epochs, lr=1e-2, batch_size=128, sigma_train=s, seed=0),
                                f"MLP 64x3 on {what}, trained with Gaussian noise sigma={s:g}"))
    return out


def _digits_entries() -> list[ZooEntry]:
    spec = {"name": "digits", "seed": 0, "test_fraction": 0.3}
    config = ModelConfig("cnn", (1, 8, 8), 10, width=16, depth=2)
    return [ZooEntry(f"digits-cnn-{_sigma_tag(s)}", spec, config,
                     TrainConfig(epochs=40, lr=3e-3, batch_size=64, sigma_train=s, seed=0),
                     f"small CNN on 8x8 sklearn digits, trained with Gaussian noise sigma={s:g}")
            for s in SIGMAS]


def _bottleneck_entries() -> list[ZooEntry]:
    """Bernstein paper (Fig. 2): spectral-normalised MLP G -> d sigmoid features -> head, clean training."""
    spec = {"name": "digits", "seed": 0, "test_fraction": 0.3}
    return [ZooEntry(f"digits-bottleneck-d{d}-s0", spec,
                     ModelConfig("bottleneck", (1, 8, 8), 10, width=64, depth=2, features=d),
                     TrainConfig(epochs=100, lr=1e-2, batch_size=64, sigma_train=0.0, seed=0),
                     f"spectral-normalised MLP into {d} sigmoid features + head on 8x8 digits (for Bernstein)")
            for d in (3, 5)]


def _margin_entry(ds: str, spec: dict, config: ModelConfig, m: MarginTrainConfig, what: str) -> ZooEntry:
    train = TrainConfig(epochs=m.epochs, lr=m.lr, batch_size=m.batch_size, sigma_train=m.sigma, seed=m.seed)
    return ZooEntry(f"{ds}-ortho-{m.loss}-{_sigma_tag(m.sigma)}", spec, config, train,
                    f"1-Lipschitz (Björck) MLP on {what}, {LOSS_LABELS[m.loss]} loss d={m.d:g}, sigma_x={m.sigma:g}",
                    margin=m)


def _margin_entries() -> list[ZooEntry]:
    """SRA paper (Sec. 4.1, Table 1): orthogonal MLPs trained with the MSCR, MCR and Zhen hinge losses."""
    spec = {"seed": 0, "test_fraction": 0.3, "n_classes": None, **_TOYS["moons"][0]}
    moons = ModelConfig("ortho_mlp", (2,), 2, width=32, depth=2)
    out = [_margin_entry("moons", spec, moons, MarginTrainConfig(loss, d=0.3, sigma=s, epochs=60), "half-moons")
           for loss, s in (("mscr", 0.2), ("mcr", 0.0), ("zhen", 0.2))]
    digits = {"name": "digits", "seed": 0, "test_fraction": 0.3}
    out.append(_margin_entry("digits", digits, ModelConfig("ortho_mlp", (1, 8, 8), 10, width=64, depth=2),
                             MarginTrainConfig("mscr", d=0.3, sigma=0.1, epochs=30, batch_size=64), "8x8 digits"))
    return out


ZOO: tuple[ZooEntry, ...] = tuple(_toy_entries() + _digits_entries() + _bottleneck_entries() + _margin_entries())
_BY_NAME = {e.name: e for e in ZOO}


def list_zoo() -> list[ZooEntry]:
    """All zoo entries, in build order."""
    return list(ZOO)


def _entry(name) -> ZooEntry:
    if name not in _BY_NAME:
        raise ValueError(f"Unknown zoo model {name!r}. Valid names: {', '.join(_BY_NAME)}.")
    return _BY_NAME[name]


def zoo_path(name) -> pathlib.Path:
    """``assets/models/<name>.pt`` for a zoo entry (the file may not exist before a build)."""
    return ASSET_DIR / f"{_entry(name).name}.pt"


def load_zoo_model(name) -> LoadedModel:
    """Load a built zoo model; ValueError lists the valid names, FileNotFoundError says how to build."""
    path = zoo_path(name)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; build it with: python -m cert_core.models.zoo build --only {name}")
    return load_model(path)


@contextlib.contextmanager
def _deterministic():
    """Single-threaded, deterministic kernels while building; restores the global settings afterwards."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)  # float reductions then do not depend on the core count
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(det)
        torch.set_num_threads(threads)


def train_entry(entry: ZooEntry):
    """(model, metadata) for one entry; a pure function of the entry (bit-for-bit on CPU)."""
    dataset = load_dataset(**entry.dataset_spec)
    with _deterministic():
        model = build_model(entry.config, seed=entry.train.seed)
        if entry.margin is not None:
            result = train_margin(model, dataset, entry.margin)
        else:
            result = train_model(model, dataset, entry.train)
    metadata = {
        "name": entry.name, "description": entry.description, "created": CREATED,
        "torch_version": TORCH_VERSION,
        "dataset": dict(entry.dataset_spec), "class_names": list(dataset.class_names),
        "sigma_train": entry.train.sigma_train, "seed": entry.train.seed, "train": asdict(entry.train),
        "accuracy": result.test_accuracy, "train_accuracy": result.train_accuracy,
        "final_loss": result.losses[-1],
    }
    if entry.margin is not None:
        metadata["margin"] = asdict(entry.margin)
    return model, metadata


def build(names=None, out_dir=None) -> None:
    """Train the entries named (default: all) and write ``<out_dir>/<name>.pt`` (default: assets/models)."""
    entries = [_entry(n) for n in names] if names is not None else list(ZOO)
    out = pathlib.Path(out_dir) if out_dir is not None else ASSET_DIR
    out.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        model, metadata = train_entry(entry)
        path = out / f"{entry.name}.pt"
        save_bundle(model, entry.config, metadata, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"{entry.name:22s} test acc {metadata['accuracy']:.4f}  {path.stat().st_size / 1024:6.1f} KiB  "
              f"sha256 {digest}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cert_core.models.zoo", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="train the zoo and write the bundles")
    b.add_argument("--only", action="append", metavar="NAME", help="build only this entry (repeatable)")
    b.add_argument("--out", default=None, help="output folder (default: assets/models)")
    sub.add_parser("list", help="list the zoo entries")
    args = parser.parse_args(argv)
    if args.command == "list":
        for e in ZOO:
            print(f"{e.name:22s} {e.description}")
    else:
        build(args.only, args.out)


if __name__ == "__main__":
    main()
