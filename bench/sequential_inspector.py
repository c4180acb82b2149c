"""Cost of the point inspector's sequential row and chart vs its fixed-n CERTIFY, side by side in one run.

    python bench/sequential_inspector.py [--points 20] [--threads 1]

For each 2D zoo model (moons, circles, spirals MLPs) and ``--points`` seeded points of the view: fixed-n CERTIFY
(n0 = 100, n = 10,000, α = 0.001, the inspector's defaults) and the anytime sequential path the inspector draws
(``ui.sequential.cache.sequential_path``, budget n = 10,000, every look recorded). Reported: median and 90th
percentile wall and CPU (process) time per click, the first click of a (σ, α, n) separately (it pays the ladder's
one-off bisection, memoised afterwards), and the samples the sequential path drew. Target: < 0.3 s per click.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cert_core import sequential  # noqa: E402
from cert_core.models.zoo import load_zoo_model  # noqa: E402
from cert_core.smoothing import Smooth  # noqa: E402
from ui.sequential.cache import path_params, sequential_path  # noqa: E402

MODELS = ("moons-mlp-s0.25", "circles-mlp-s0.25", "spirals-mlp-s0.25")


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"{'model':20s} {'what':22s} {'wall med':>9s} {'wall p90':>9s} {'cpu med':>8s} {'cpu p90':>8s} {'samples':>8s}")
    for name in MODELS:
        model = load_zoo_model(name).model
        smooth = Smooth(model, 2, 0.25)
        points = rng.uniform(-1.5, 2.5, size=(args.points, 2))
        sequential._needed_successes.cache_clear()
        _, first_wall, first_cpu = timed(lambda: sequential_path(model, 2, path_params(points[0], 0.25, 100, 10_000,
                                                                                      0.001, 0)))
        rows = {"fixed-n CERTIFY": [], "sequential path": []}
        drawn = []
        for i, p in enumerate(points):
            x = torch.tensor(p, dtype=torch.float32)
            _, w, c = timed(lambda: smooth.certify(x, 100, 10_000, 0.001, 10_000, torch.Generator().manual_seed(i)))
            rows["fixed-n CERTIFY"].append((w, c))
            path, w, c = timed(lambda: sequential_path(model, 2, path_params(p, 0.25, 100, 10_000, 0.001, i)))
            rows["sequential path"].append((w, c))
            drawn.append(path.drawn)
        for what, t in rows.items():
            t = np.asarray(t)
            med, p90 = np.median(t, axis=0), np.percentile(t, 90, axis=0)
            used = f"{np.mean(drawn):8,.0f}" if what == "sequential path" else f"{10_100:8,d}"
            print(f"{name:20s} {what:22s} {med[0]:9.3f} {p90[0]:9.3f} {med[1]:8.3f} {p90[1]:8.3f} {used}")
        print(f"{name:20s} {'sequential, 1st click':22s} {first_wall:9.3f} {'':9s} {first_cpu:8.3f}")


if __name__ == "__main__":
    main()
