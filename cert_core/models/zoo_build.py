"""Build the model zoo (``cert_core.models.zoo``): train every entry and write its bundle.

``python -m cert_core.models.zoo_build [--only NAME] [--out DIR]`` trains every entry (or the named ones) and writes
``assets/models/<name>.pt`` bundles (see ``cert_core.models.bundles``). The build is bit-for-bit reproducible
on a given platform and torch version: data, initial weights, shuffling and noise are all seeded, the
build runs single-threaded with deterministic algorithms, bundles are serialised through a buffer and
carry no wall-clock time. Running it twice gives files with identical sha256.

The build recipes may use a method's trainer (the SRA entries train with ``cert_core.methods.margin.train``);
the catalogue never does. Nothing in cert_core imports this module (``tests/core/test_layering.py``).
"""
from __future__ import annotations

import argparse
import hashlib
import pathlib
from dataclasses import asdict

import torch

from cert_core.methods.margin.train import MarginTrainConfig, train_margin
from cert_core.models.architectures import build_model
from cert_core.models.bundles import save_bundle
from cert_core.models.data import load_dataset
from cert_core.models.train import deterministic_training, train_model
from cert_core.models.zoo import ASSET_DIR, ZOO, ZooEntry, zoo_entry

TORCH_VERSION = torch.__version__.split("+")[0]  # bytes are reproducible for one torch version
CREATED = "cert-explorer zoo v1"  # fixed instead of a date, so rebuilds are byte-identical


def train_entry(entry: ZooEntry):
    """(model, metadata) for one entry; a pure function of the entry (bit-for-bit on CPU)."""
    dataset = load_dataset(**entry.dataset_spec)
    with deterministic_training():
        model = build_model(entry.config, seed=entry.train.seed)
        if entry.margin is not None:
            result = train_margin(model, dataset, MarginTrainConfig(**entry.margin))
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
        metadata["margin"] = asdict(MarginTrainConfig(**entry.margin))
    return model, metadata


def build(names=None, out_dir=None) -> None:
    """Train the entries named (default: all) and write ``<out_dir>/<name>.pt`` (default: assets/models)."""
    entries = [zoo_entry(n) for n in names] if names is not None else list(ZOO)
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
    parser = argparse.ArgumentParser(prog="python -m cert_core.models.zoo_build", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="build only this entry (repeatable)")
    parser.add_argument("--out", default=None, help="output folder (default: assets/models)")
    args = parser.parse_args(argv)
    build(args.only, args.out)


if __name__ == "__main__":
    main()
