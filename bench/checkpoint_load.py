"""Loading a researcher's checkpoint (cert_core.models.checkpoints): the network built on the meta device and given the
file's tensors (``_materialised``: load_state_dict(assign=True)) vs built for real (random initialisation) and then
overwritten by load_state_dict, as before. Random weights, saved in a temporary folder; alternating the two ways in
one process; prints the median of --runs per way, the ratio, and the load average.

    python bench/checkpoint_load.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cert_core.models import checkpoints                                      # noqa: E402
from cert_core.models.checkpoints import COHEN_ARCHS, load_cohen_checkpoint   # noqa: E402


def initialised_then_loaded(build, state):
    """The way before: every parameter randomly initialised, then overwritten."""
    net = build()
    net.load_state_dict(state)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; torch threads: 1")
    with tempfile.TemporaryDirectory() as folder:
        for arch in ("cifar_resnet110", "resnet50"):
            build = COHEN_ARCHS[arch][0]
            state = {f"1.module.{k}": v for k, v in build().state_dict().items()}
            path = Path(folder) / f"{arch}.pth.tar"
            torch.save({"arch": arch, "state_dict": state}, path)
            times = {"meta + assign (now)": [], "initialise + load (before)": []}
            fast = checkpoints._materialised
            for _ in range(args.runs):
                for way, materialise in (("meta + assign (now)", fast), ("initialise + load (before)",
                                                                          initialised_then_loaded)):
                    checkpoints._materialised = materialise
                    start = time.perf_counter()
                    load_cohen_checkpoint(path)
                    times[way].append(time.perf_counter() - start)
            checkpoints._materialised = fast
            now, before = (statistics.median(v) for v in times.values())
            print(f"{arch:16s} load_cohen_checkpoint median of {args.runs}: now {now:.2f} s, before {before:.2f} s, "
                  f"ratio {before / now:.1f}x")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
