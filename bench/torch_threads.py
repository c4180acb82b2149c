"""Torch intra-op threads for the app's own computations: the default (one per core) vs one (ui/threads.py).

Times, in one process and alternating the setting, the two computations behind issue 17's slow rows:
  dd test set   OptimizeSigma (explorer preset) + CERTIFY at σ*ₓ on the moons test set (Per-input σ, a σ₀ step)
  SRA digits    the Appendix B robustness report of the digits margin model (SRA page with the digits model)
Prints the median of --runs per setting, the ratio, and the load average (the effect grows with the load).

    python bench/torch_threads.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cert_core.methods.ddrs import sigma as ddrs                       # noqa: E402
from cert_core.methods.lipschitz.bounds import layer_bounds            # noqa: E402
from cert_core.methods.margin.curves import ReportParams, robustness_report   # noqa: E402
from cert_core.models.data import load_dataset                         # noqa: E402
from cert_core.models.zoo import ZOO, load_zoo_model                    # noqa: E402


def dataset_of(name: str):
    """The zoo model and the dataset it was trained on."""
    return load_zoo_model(name), load_dataset(**next(e for e in ZOO if e.name == name).dataset_spec)


def dd_test_set(loaded, data, sigma0: float) -> None:
    xs = torch.as_tensor(data.x_test, dtype=torch.float32)
    gen = torch.Generator().manual_seed(0)
    search = ddrs.optimize_sigma(loaded.model, xs, ddrs.SigmaConfig.preset("explorer", sigma0), generator=gen)
    ddrs.certify_at_sigma(loaded.model, data.num_classes, xs, search.sigma, 100, 1000, 0.001, 20_000, gen)


def sra_report(loaded, data) -> None:
    k = float(np.prod([b.upper for b in layer_bounds(loaded.model, tuple(loaded.input_shape))]))
    robustness_report(loaded.model, data.x_test, data.y_test, data.num_classes, k,
                      ReportParams(radius_steps=101, rs_sigma=0.25))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    default = torch.get_num_threads()
    jobs = {}
    for name, job in (("moons-mlp-s0.25", "dd test set"), ("digits-ortho-mscr-s0.1", "SRA digits")):
        loaded, data = dataset_of(name)
        jobs[job] = (lambda l=loaded, d=data: dd_test_set(l, d, 0.26)) if job == "dd test set" \
            else (lambda l=loaded, d=data: sra_report(l, d))
    times = {(job, t): [] for job in jobs for t in (default, 1)}
    for _ in range(args.runs):
        for job, fn in jobs.items():
            for threads in (default, 1):
                torch.set_num_threads(threads)
                start = time.perf_counter()
                fn()
                times[job, threads].append(time.perf_counter() - start)
    torch.set_num_threads(default)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs; runs = {args.runs}")
    print(f"| computation | {default} threads (s) | 1 thread (s) | ratio |\n|---|---|---|---|")
    for job in jobs:
        a, b = statistics.median(times[job, default]), statistics.median(times[job, 1])
        print(f"| {job} | {a:.2f} | {b:.2f} | {a / b:.1f}× |")


if __name__ == "__main__":
    main()
