"""Throughput of the standard vs the sound floating-point sampler (Voráček & Hein 2023), side by side in one run.

    python bench/sound_sampler.py [--device cpu] [--inputs 20] [--n 2000] [--batch 1000] [--rounds 7]

Both certify the same zoo digits-CNN test inputs with ``Smooth.certify_batch`` (n0 = 100, the given n, one
generator per input as the run engine does); the sound sampler runs with levels = 256 (digits pixels are k/16,
so they lie on the 1/256 grid). Rounds alternate standard / sound so drift on a shared machine hits both; printed
are the ratio of the medians and the median of the paired per-round ratios (robust to slow drift). Also printed: the noise draw alone (no model) for each sampler, to show where time goes,
and how often the two samplers' certificates agree on prediction.
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from cert_core.models.data import load_dataset  # noqa: E402
from cert_core.models.zoo import load_zoo_model  # noqa: E402
from cert_core.noise import discrete_gaussian, example_generators, gaussian_draw  # noqa: E402
from cert_core.smoothing import Smooth  # noqa: E402

MODEL, SIGMA, LEVELS = "digits-cnn-s0.5", 0.5, 256


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    device = torch.device(args.device)
    loaded = load_zoo_model(MODEL)
    model = loaded.model.to(device).eval()
    data = load_dataset(**loaded.metadata["dataset"])
    xs = torch.from_numpy(data.x_test[: args.inputs]).to(device)
    smooths = {"standard": Smooth(model, data.num_classes, SIGMA),
               "sound": Smooth(model, data.num_classes, SIGMA, sound_float=True, levels=LEVELS)}
    draws = {"standard": gaussian_draw, "sound": discrete_gaussian(SIGMA, LEVELS).draw}
    samples = args.inputs * (100 + args.n)
    certs, times, draw_times = {}, {k: [] for k in smooths}, {k: [] for k in smooths}
    shape = (samples, *xs.shape[1:])
    for _ in range(args.rounds):
        for name, smooth in smooths.items():
            gens = example_generators(range(args.inputs), device)
            times[name].append(seconds(lambda: certs.__setitem__(
                name, smooth.certify_batch(xs, 100, args.n, 0.001, args.batch, gens))))
            gen = torch.Generator(device=device).manual_seed(0)
            draw_times[name].append(seconds(lambda: draws[name](shape, gen, device, torch.float32)))
    rate = {k: samples / statistics.median(v) for k, v in times.items()}
    draw_rate = {k: samples / statistics.median(v) for k, v in draw_times.items()}
    agree = sum(a.prediction == b.prediction for a, b in zip(certs["standard"], certs["sound"]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}; {MODEL}, sigma={SIGMA}, "
          f"levels={LEVELS}, {args.inputs} inputs x (100 + {args.n}) samples, batch {args.batch}, "
          f"median of {args.rounds} alternating rounds")
    for k in smooths:
        print(f"  {k:8s} certify_batch {rate[k]:12,.0f} samples/s   noise draw alone {draw_rate[k]:14,.0f} samples/s")
    print(f"  sound / standard throughput: {rate['sound'] / rate['standard']:.3f}  "
          f"(target >= 0.95: {'met' if rate['sound'] / rate['standard'] >= 0.95 else 'NOT met'})")
    paired = statistics.median(a / b for a, b in zip(times["standard"], times["sound"]))
    print(f"  median of paired per-round ratios: {paired:.3f}")
    print(f"  noise draw alone, sound / standard: {draw_rate['sound'] / draw_rate['standard']:.3f}")
    print(f"  same prediction on {agree}/{args.inputs} inputs; mean radius standard "
          f"{statistics.mean(c.radius for c in certs['standard']):.3f}, sound "
          f"{statistics.mean(c.radius for c in certs['sound']):.3f}")


if __name__ == "__main__":
    main()
