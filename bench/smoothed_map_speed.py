"""How fast is the exactly smoothed 2D map? (the sigma slider of the decision-boundaries page)

Times, for a 300 x 300 view of the zoo's moons model padded for sigma <= 1.5:
  blur only   -- what a sigma change costs (the padded base map is cached), per sigma;
  base + blur -- a cold start: evaluate the model on the padded grid, then blur.
Medians of --repeats runs, measured in one process (report ratios; machines are noisy).

    python bench/smoothed_map_speed.py [--resolution 300] [--repeats 5] [--append bench/RESULTS.md]
"""
from __future__ import annotations

import argparse
import pathlib
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from cert_core import grid  # noqa: E402
from cert_core.models.data import BOX_2D  # noqa: E402
from cert_core.models.zoo import load_zoo_model  # noqa: E402

SIGMAS = (0.1, 0.25, 0.5, 1.0, 1.5)
MAX_SIGMA = 1.5


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--model", default="moons-mlp-s0.25")
    ap.add_argument("--append", type=pathlib.Path, default=None, help="append a markdown section to this file")
    args = ap.parse_args(argv)
    model = load_zoo_model(args.model).model
    res = args.resolution
    base = grid.evaluate_base(model, BOX_2D, res, MAX_SIGMA)
    blur = {s: median_time(lambda s=s: grid.blur(base, s), args.repeats) for s in SIGMAS}
    cold = median_time(lambda: grid.blur(grid.evaluate_base(model, BOX_2D, res, MAX_SIGMA), 0.25),
                       max(1, args.repeats // 2))
    padded = "x".join(str(v) for v in base.labels.shape)
    lines = [f"Model {args.model}, view {BOX_2D}, {res}x{res} pixels, padded grid {padded} (sigma <= {MAX_SIGMA}); "
             f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}; "
             f"median of {args.repeats} runs.", "", "| sigma | blur only (s) |", "|---|---|"]
    lines += [f"| {s:g} | {t:.4f} |" for s, t in blur.items()]
    worst = max(blur.values())
    lines += ["", f"Base + blur (cold start, sigma 0.25): {cold:.3f} s. The slowest blur ({worst:.4f} s) is "
              f"{cold / worst:.0f}x faster than a cold map."]
    text = "\n".join(lines)
    print(text)
    if args.append is not None:
        cmd = "python bench/smoothed_map_speed.py" + (f" --resolution {res}" if res != 300 else "")
        with args.append.open("a", encoding="utf-8") as f:
            f.write(f"\n## Smoothed map speed\n\nCommand: `{cmd}` ({time.strftime('%Y-%m-%d')})\n\n{text}\n")


if __name__ == "__main__":
    main()
