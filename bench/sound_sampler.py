"""Throughput of the standard vs the sound floating-point sampler (Voráček & Hein 2023), side by side in one run.

    python bench/sound_sampler.py [--device cpu] [--inputs 20] [--n 2000] [--batch 1000] [--rounds 9] [--threads T]

Both certify the same zoo digits-CNN test inputs with ``Smooth.certify_batch`` (n0 = 100, the given n, one
generator per input as the run engine does); the sound sampler runs with levels = 256 (digits pixels are k/16,
so they lie on the 1/256 grid). Rounds alternate the order (standard first, then sound first, ...) so drift on a
shared machine hits both; each round times both wall-clock and this process's CPU time (less sensitive to other
processes taking the cores). Printed: the median of the paired per-round ratios and the ratio of the medians, for
both clocks, the load average before and after, and the noise draw alone (no model) for the standard draw, the
sound draw (guide table) and a plain inverse-CDF draw (``searchsorted`` of a 62-bit uniform against every
threshold: one vectorised op, no slow path), to show where time goes.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from cert_core.models.data import load_dataset  # noqa: E402
from cert_core.models.zoo import load_zoo_model  # noqa: E402
from cert_core.noise import COIN_BITS, discrete_gaussian, example_generators, gaussian_draw  # noqa: E402
from cert_core.smoothing import Smooth  # noqa: E402

MODEL, SIGMA, LEVELS = "digits-cnn-s0.5", 0.5, 256


def clocks(fn) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def inverse_cdf_draw(sampler):
    """η = searchsorted(T, U, right=True) − K for U uniform in [0, 2^62): the same law, one op, no guide table."""
    bounds = torch.tensor(sampler.thresholds, dtype=torch.int64)

    def draw(shape, generator, device, dtype):
        coins = torch.randint(0, 1 << COIN_BITS, shape, generator=generator, device=generator.device)
        return (torch.searchsorted(bounds.to(coins.device), coins, right=True) - sampler.cells).to(device, dtype)
    return draw


def ratios(times: dict, clock: int) -> tuple[float, float]:
    """(median of the paired per-round sound/standard throughput ratios, ratio of the median throughputs)."""
    std, snd = ([t[clock] for t in times[k]] for k in ("standard", "sound"))
    return statistics.median(a / b for a, b in zip(std, snd)), statistics.median(std) / statistics.median(snd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    loaded = load_zoo_model(MODEL)
    model = loaded.model.to(device).eval()
    data = load_dataset(**loaded.metadata["dataset"])
    xs = torch.from_numpy(data.x_test[: args.inputs]).to(device)
    smooths = {"standard": Smooth(model, data.num_classes, SIGMA),
               "sound": Smooth(model, data.num_classes, SIGMA, sound_float=True, levels=LEVELS)}
    sampler = discrete_gaussian(SIGMA, LEVELS)
    draws = {"standard": gaussian_draw, "sound": sampler.draw, "inverse-CDF": inverse_cdf_draw(sampler)}
    samples = args.inputs * (100 + args.n)
    load_before = os.getloadavg()
    certs, times, draw_times = {}, {k: [] for k in smooths}, {k: [] for k in draws}
    shape = (args.n, *xs.shape[1:])                       # one input's estimation block, as the engine draws it
    for r in range(args.rounds):
        for name in (list(smooths) if r % 2 == 0 else list(smooths)[::-1]):
            gens = example_generators(range(args.inputs), device)
            times[name].append(clocks(lambda: certs.__setitem__(
                name, smooths[name].certify_batch(xs, 100, args.n, 0.001, args.batch, gens))))
        for name, draw in draws.items():
            gen = torch.Generator(device=device).manual_seed(r)
            draw_times[name].append(clocks(lambda: draw(shape, gen, device, torch.float32)))
    load_after = os.getloadavg()
    agree = sum(a.prediction == b.prediction for a, b in zip(certs["standard"], certs["sound"]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}; {MODEL}, sigma={SIGMA}, "
          f"levels={LEVELS}, {args.inputs} inputs x (100 + {args.n}) samples, batch {args.batch}, "
          f"{args.rounds} rounds (order alternating); load average before {load_before[0]:.1f}, "
          f"after {load_after[0]:.1f} (1 min)")
    for k in smooths:
        wall, cpu = (statistics.median(t[i] for t in times[k]) for i in (0, 1))
        print(f"  {k:8s} certify_batch {samples / wall:10,.0f} samples/s wall, {samples / cpu:10,.0f} per CPU-second")
    for clock, label in ((0, "wall"), (1, "CPU ")):
        paired, of_medians = ratios(times, clock)
        print(f"  sound / standard throughput, {label}: median of paired rounds {paired:.3f}, ratio of medians "
              f"{of_medians:.3f}  (target >= 0.95: {'met' if min(paired, of_medians) >= 0.95 else 'NOT met'} by both)")
    per_draw = {k: statistics.median(t[1] for t in v) for k, v in draw_times.items()}
    print(f"  noise draw alone ({args.n} x {tuple(xs.shape[1:])}, CPU ms): " + ", ".join(
        f"{k} {v * 1e3:.2f}" for k, v in per_draw.items()))
    print(f"  same prediction on {agree}/{args.inputs} inputs; mean radius standard "
          f"{statistics.mean(c.radius for c in certs['standard']):.3f}, sound "
          f"{statistics.mean(c.radius for c in certs['sound']):.3f}")


if __name__ == "__main__":
    main()
