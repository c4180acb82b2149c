"""Figure 2 of the SRA paper in small: clean accuracy and AUCs over a (d, sigma_x) grid for the MSCR and Zhen
losses, from short trainings of a 1-Lipschitz MLP on a 2D set. Precomputed (the app only reads the JSON):

    python -m cert_core.methods.margin.heatmap [--out assets/sra_heatmap_moons.json] [--epochs 30]

Deterministic (seeded data, weights, shuffling and CERTIFY); ~1-2 minutes on one CPU core.
"""
from __future__ import annotations

import argparse
import json
import pathlib

import torch

from cert_core.models.data import load_dataset
from cert_core.methods.lipschitz.bounds import lipschitz_upper_bound
from cert_core.methods.margin.train import MarginTrainConfig, train_margin
from cert_core.models.architectures import ModelConfig, build_model
from cert_core.methods.margin.curves import ReportParams, robustness_report

DEFAULT_OUT = pathlib.Path(__file__).resolve().parents[3] / "assets" / "sra_heatmap_moons.json"
DS = ({"name": "moons", "n_samples": 600, "noise": 0.1, "seed": 0, "test_fraction": 0.3, "n_classes": None})
D_VALUES = (0.1, 0.2, 0.4, 0.8)
SIGMA_VALUES = (0.05, 0.1, 0.2, 0.4)
LOSSES = ("mscr", "zhen")
METRICS = ("clean accuracy", "AUC_CR margin", "AUC_GN", "AUC_CR RS")


def cell(dataset, loss: str, d: float, sigma: float, epochs: int) -> dict:
    model = build_model(ModelConfig("ortho_mlp", (2,), dataset.num_classes, width=32, depth=2), seed=0)
    result = train_margin(model, dataset, MarginTrainConfig(loss, d=d, sigma=sigma, epochs=epochs))
    k = lipschitz_upper_bound(model, (2,))
    curves = robustness_report(model, dataset.x_test, dataset.y_test, dataset.num_classes, k,
                               ReportParams(max_radius=1.5, radius_steps=31, rs_n=1000))
    aucs = curves.aucs
    return {"clean accuracy": result.test_accuracy, "AUC_CR margin": aucs["AUC_CR margin"],
            "AUC_GN": aucs["AUC_GN"], "AUC_CR RS": aucs["AUC_CR RS"]}


def compute(epochs: int = 30) -> dict:
    dataset = load_dataset(**DS)
    torch.set_num_threads(1)
    out = {"dataset": DS, "epochs": epochs, "d": list(D_VALUES), "sigma": list(SIGMA_VALUES),
           "architecture": "ortho_mlp 32x2 (Björck)", "metrics": list(METRICS), "values": {}}
    for loss in LOSSES:
        table = {m: [[0.0] * len(SIGMA_VALUES) for _ in D_VALUES] for m in METRICS}
        for i, d in enumerate(D_VALUES):
            for j, s in enumerate(SIGMA_VALUES):
                for m, v in cell(dataset, loss, d, s, epochs).items():
                    table[m][i][j] = round(float(v), 5)
                print(f"{loss} d={d:g} sigma={s:g}: " + ", ".join(f"{m}={table[m][i][j]:.3f}" for m in METRICS),
                      flush=True)
        out["values"][loss] = table
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cert_core.methods.margin.heatmap", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    data = compute(args.epochs)
    pathlib.Path(args.out).write_text(json.dumps(data, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
