"""What does one σ-scrub frame cost, and how wide a window can the decision-boundaries page send? (issue 17)

A frame is the smoothed map's picture at one σ, exactly as the page draws it (``grid.blur`` then
``ui.images.smoothed_image`` and ``png_uri``). For each grid resolution of the page this prints, over σ on the
slider's grid, the median blur and PNG time per frame and the frame's size, then what a window of ±W slider
steps around σ = 0.25 costs on first send (all its frames) and per keyboard step (one new frame), so the
window of ``ui/sigma_scrub.py`` can be chosen as reach (σ a drag previews) against payload (bytes sent once).

    python bench/sigma_scrub_frames.py [--model moons-mlp-s0.25] [--resolutions 150,300,400]
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from cert_core import grid  # noqa: E402
from cert_core.models.data import BOX_2D  # noqa: E402
from cert_core.models.zoo import load_zoo_model  # noqa: E402
from ui import sigma_scrub  # noqa: E402
from ui.images import png_uri, smoothed_image  # noqa: E402

MAX_SIGMA = 1.5
SIGMAS = (0.05, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0, 1.5)


def frame_cost(base, sigma: float) -> tuple[float, float, int]:
    """(blur s, picture + PNG s, bytes of the data URI) of one frame."""
    t0 = time.perf_counter()
    probs = grid.blur(base, sigma)
    t1 = time.perf_counter()
    uri = png_uri(smoothed_image(probs, 0.55))
    return t1 - t0, time.perf_counter() - t1, len(uri)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="moons-mlp-s0.25")
    ap.add_argument("--resolutions", default="100,150,200,300,400")
    args = ap.parse_args(argv)
    model = load_zoo_model(args.model).model
    print("| resolution | blur (ms) | picture + PNG (ms) | frame (KB) at σ 0.05 … 1.5 | window ±W (budget "
          f"{sigma_scrub.WINDOW_BYTES // 1000} KB) | reach (σ) | first send (KB, s) | per key step (KB, s) |")
    print("|---|---|---|---|---|---|---|---|")
    for res in map(int, args.resolutions.split(",")):
        base = grid.evaluate_base(model, BOX_2D, res, MAX_SIGMA)
        costs = [frame_cost(base, s) for s in SIGMAS]
        blur = statistics.median(c[0] for c in costs)
        png = statistics.median(c[1] for c in costs)
        size = dict(zip(SIGMAS, (c[2] for c in costs)))
        steps = sigma_scrub.window_steps(size[0.25])
        frames = 2 * steps + 1
        print(f"| {res} | {blur * 1e3:.1f} | {png * 1e3:.1f} | {size[0.05] / 1e3:.0f} … {size[1.5] / 1e3:.0f} | "
              f"±{steps} | ±{steps * 0.01:.2f} | {frames * size[0.25] / 1e3:.0f}, {frames * (blur + png):.2f} | "
              f"{size[0.25] / 1e3:.0f}, {blur + png:.3f} |")


if __name__ == "__main__":
    main()
