"""How long does opening a drawn link take? (the "Draw your data" page retrains the model a link carries)

For drawings of 6, 150 and 400 points (the link's maximum) and each offered epoch count: the link's length,
the time to decode it, and the time to retrain (``cert_core.models.drawn.train_drawn``: single-threaded,
deterministic kernels) next to the same training under torch's default thread count (the ratio says what
pinning one thread costs or saves on this machine). Medians of --repeats runs in one process.

    python bench/drawn_retrain.py [--repeats 3] [--append bench/RESULTS.md]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import platform
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from cert_core.models import drawn  # noqa: E402
from cert_core.models.data import make_toy  # noqa: E402
from smoothed_map_speed import median_time  # noqa: E402  (bench/ is the script's folder)


def drawing_of(n: int) -> drawn.Drawing:
    data = make_toy("spirals", max(n, 20), 0.05, 0)
    x, y = np.concatenate([data.x_train, data.x_test])[:n], np.concatenate([data.y_train, data.y_test])[:n]
    return drawn.from_points(x, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--append", type=pathlib.Path)
    args = parser.parse_args()
    lines = [f"\n## Drawn links: retraining time ({time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, torch {torch.__version__}, "
             f"{torch.get_num_threads()} default threads)\n",
             f"Command: `python bench/drawn_retrain.py --repeats {args.repeats}`. Medians of {args.repeats} runs.\n",
             "| points | link chars | epochs | decode | retrain (1 thread, deterministic) | default threads | ratio |",
             "|---|---|---|---|---|---|---|"]
    for n in (6, 150, drawn.MAX_LINK_POINTS):
        d = drawing_of(n)
        code = drawn.encode_points(d)
        decode = median_time(lambda: drawn.decode_points(code), args.repeats)
        for epochs in (100, 300):
            t = drawn.DrawnTraining(0.25, epochs, 0)
            pinned = median_time(lambda: drawn.train_drawn(d, t), args.repeats)
            free = None
            if epochs == 100 and n == drawn.MAX_LINK_POINTS:        # the comparison once: it is slow when loaded
                with mock_single_thread_off():
                    free = median_time(lambda: drawn.train_drawn(d, t), args.repeats)
            lines.append(f"| {n} | {len(code)} | {epochs} | {decode * 1e3:.2f} ms | {pinned:.2f} s | "
                         + (f"{free:.2f} s | {free / pinned:.1f}× |" if free else "– | – |"))
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with open(args.append, "a") as f:
            f.write(text)


@contextlib.contextmanager
def mock_single_thread_off():
    """train_drawn with the zoo's determinism context replaced by a no-op (torch's default threads)."""
    saved = drawn.deterministic_training
    drawn.deterministic_training = contextlib.nullcontext
    try:
        yield
    finally:
        drawn.deterministic_training = saved


if __name__ == "__main__":
    main()
