"""The built-in model zoo's catalogue: small base classifiers trained with Gaussian noise augmentation.

Each entry names its file (``assets/models/<name>.pt``, a bundle of ``cert_core.models.bundles``) and the recipe it
was built from, as plain data; ``cert_core.models.zoo_build`` trains them (``python -m cert_core.models.zoo_build``),
so the catalogue imports no method. ``python -m cert_core.models.zoo list`` lists the entries.

Names are ``<dataset>-<arch>-s<sigma_train>``, e.g. ``moons-mlp-s0.25`` or ``digits-cnn-s0.5``.
"""
from __future__ import annotations

import argparse
import pathlib
from dataclasses import dataclass

from cert_core.models.architectures import ModelConfig
from cert_core.models.bundles import LoadedModel, load_model
from cert_core.models.train import TrainConfig

ASSET_DIR = pathlib.Path(__file__).resolve().parents[2] / "assets" / "models"
SIGMAS = (0.0, 0.25, 0.5)


@dataclass(frozen=True)
class ZooEntry:
    name: str  # "<dataset>-<arch>-s<sigma>", also the file stem
    dataset_spec: dict  # load_dataset(**dataset_spec) gives the training data
    config: ModelConfig  # architecture
    train: TrainConfig  # training recipe, including sigma_train and the seed
    description: str  # one line for the UI
    margin: dict | None = None  # SRA Table 1 loss: the keyword arguments of methods.margin.train.MarginTrainConfig,
    #                             all spelled out (then ``train`` mirrors its epochs/lr/batch_size/sigma/seed)


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


def _margin_entry(ds: str, spec: dict, config: ModelConfig, m: dict, loss_label: str, what: str) -> ZooEntry:
    train = TrainConfig(epochs=m["epochs"], lr=m["lr"], batch_size=m["batch_size"], sigma_train=m["sigma"],
                        seed=m["seed"])
    return ZooEntry(f"{ds}-ortho-{m['loss']}-{_sigma_tag(m['sigma'])}", spec, config, train,
                    f"1-Lipschitz (Björck) MLP on {what}, {loss_label} loss d={m['d']:g}, sigma_x={m['sigma']:g}",
                    margin=m)


def _margin_recipe(loss: str, d: float, sigma: float, epochs: int, batch_size: int = 128) -> dict:
    """MarginTrainConfig's keyword arguments, every one spelled out (its defaults: K = 1, Adam lr 0.01, seed 0)."""
    return {"loss": loss, "d": d, "sigma": sigma, "lipschitz": 1.0, "epochs": epochs, "lr": 1e-2,
            "batch_size": batch_size, "seed": 0}


def _margin_entries() -> list[ZooEntry]:
    """SRA paper (Sec. 4.1, Table 1): orthogonal MLPs trained with the MSCR, MCR and Zhen hinge losses."""
    spec = {"seed": 0, "test_fraction": 0.3, "n_classes": None, **_TOYS["moons"][0]}
    moons = ModelConfig("ortho_mlp", (2,), 2, width=32, depth=2)
    out = [_margin_entry("moons", spec, moons, _margin_recipe(loss, 0.3, s, 60), label, "half-moons")
           for loss, label, s in (("mscr", "MSCR", 0.2), ("mcr", "MCR", 0.0), ("zhen", "Zhen", 0.2))]
    digits = {"name": "digits", "seed": 0, "test_fraction": 0.3}
    out.append(_margin_entry("digits", digits, ModelConfig("ortho_mlp", (1, 8, 8), 10, width=64, depth=2),
                             _margin_recipe("mscr", 0.3, 0.1, 30, batch_size=64), "MSCR", "8x8 digits"))
    return out


ZOO: tuple[ZooEntry, ...] = tuple(_toy_entries() + _digits_entries() + _bottleneck_entries() + _margin_entries())
_BY_NAME = {e.name: e for e in ZOO}


def list_zoo() -> list[ZooEntry]:
    """All zoo entries, in build order."""
    return list(ZOO)


def zoo_entry(name) -> ZooEntry:
    """The entry called ``name``; ValueError lists the valid names."""
    if name not in _BY_NAME:
        raise ValueError(f"Unknown zoo model {name!r}. Valid names: {', '.join(_BY_NAME)}.")
    return _BY_NAME[name]


def zoo_path(name) -> pathlib.Path:
    """``assets/models/<name>.pt`` for a zoo entry (the file may not exist before a build)."""
    return ASSET_DIR / f"{zoo_entry(name).name}.pt"


def load_zoo_model(name) -> LoadedModel:
    """Load a built zoo model; ValueError lists the valid names, FileNotFoundError says how to build."""
    path = zoo_path(name)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; build it with: python -m cert_core.models.zoo_build --only {name}")
    return load_model(path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cert_core.models.zoo", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the zoo entries (build them with python -m cert_core.models.zoo_build)")
    parser.parse_args(argv)
    for e in ZOO:
        print(f"{e.name:22s} {e.description}")


if __name__ == "__main__":
    main()
