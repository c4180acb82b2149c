"""Samples per example of sequential certification vs fixed-n CERTIFY and α-split staged sampling, side by side.

    python bench/sequential_certify.py [--examples 2000] [--zoo-inputs 20] [--zoo-n 100000] [--skip-zoo]

(1) Replay of Cohen et al.'s released logs (../shared/reference/cohen_certify_p_lower_percentiles.tsv): each
example's p_A is drawn from a setting's percentiles (linear between neighbours; an example falling next to an
abstention gets p_A ~ U(0.3, 0.5)); votes are simulated as Bernoulli(p_A); every method pays n0 = 100 selection
samples (c_A is taken as the logged class). α = 0.001, budget 100,000 votes. Questions: "radius ≥ 0.5σ?" and the
whole curve on the grid {0, 0.25, ..., 2}·σ (per example the largest grid radius certified).
(2) The zoo models (digits CNN, moons MLP) through the real engine (``Smooth.certify_batch`` /
``certify_sequential_batch``; staged sampling on ``Smooth.sample_counts``), "radius ≥ 0.5σ?".
Methods: fixed-n CERTIFY; α-split staged (looks 100, 200, 400, ..., 100,000; Clopper–Pearson at α/K, futility
when the upper bound at 0.05/K is below the next threshold); sequential (``cert_core.sequential``).
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import torch
from scipy.stats import beta, norm

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cert_core.receipts.sequential import draw_p  # noqa: E402  (the Receipts page replays the same draws)
from cert_core.sequential import SequentialConfig, SequentialTest, ladder, staged_looks  # noqa: E402
from cert_core.smoothing import Smooth  # noqa: E402

TSV = ROOT.parent / "shared" / "reference" / "cohen_certify_p_lower_percentiles.tsv"
ALPHA, MAX_N, N0, FUTILITY = 0.001, 100_000, 100, 0.2
GRID = tuple(0.25 * np.arange(9))


def cp_lower(a, n, alpha):
    return np.where(a > 0, beta.ppf(alpha, np.maximum(a, 1), n - a + 1), 0.0)


def cp_upper(a, n, alpha):
    return np.where(a < n, beta.isf(alpha, a + 1, np.maximum(n - a, 1)), 1.0)


def grid_index(lower, thresholds):
    """(M,) how many thresholds of the ordered ladder lie below the bound."""
    return np.searchsorted(thresholds, lower, side="left")


def fixed(p, thresholds, rng):
    a = rng.binomial(MAX_N, p)
    return grid_index(cp_lower(a, MAX_N, ALPHA), thresholds), np.full(len(p), MAX_N)


def staged(p, thresholds, goal_all, rng):
    """α/K Clopper–Pearson at each of K fixed looks; the certified prefix only grows (fixed sequence)."""
    looks = staged_looks(MAX_N, 100, 2.0)
    kk = len(looks)
    a, n, k = np.zeros(len(p), np.int64), np.zeros(len(p), np.int64), np.zeros(len(p), np.int64)
    live = np.ones(len(p), bool)
    for look in looks:
        a[live] += rng.binomial(look - n[live], p[live])
        n[live] = look
        k[live] = np.maximum(k[live], grid_index(cp_lower(a[live], look, ALPHA / kk), thresholds))
        goal = np.minimum(k if goal_all else np.zeros_like(k), len(thresholds) - 1)
        won = k >= len(thresholds) if goal_all else k >= 1
        futile = cp_upper(a, np.maximum(n, 1), FUTILITY / kk) < thresholds[goal]
        live &= ~(won | futile)
    return k, n


def sequential(p, sigma, radius, rng):
    cfg = SequentialConfig(ALPHA, MAX_N, FUTILITY)
    lad = ladder(sigma, radius, cfg)
    test = SequentialTest(lad, cfg, len(p))
    while not test.done.all():
        sizes = test.next_sizes()
        test.observe(rng.binomial(sizes, p), sizes)
    return test.radius(), test.k > 0, test.n


def replay(setting: str, values: np.ndarray, sigma: float, m: int, seed: int) -> None:
    p = draw_p(values, m, np.random.default_rng(seed))
    for question, radii in (("r >= 0.5σ", (0.5,)), ("grid 0..2σ", GRID)):
        thr = norm.cdf(np.asarray(radii))
        rows = []
        for name in ("fixed-n CERTIFY", "α-split staged", "sequential"):
            rng, start = np.random.default_rng(seed + 1), time.perf_counter()
            if name == "fixed-n CERTIFY":
                k, n = fixed(p, thr, rng)
            elif name == "α-split staged":
                k, n = staged(p, thr, len(radii) > 1, rng)
            else:
                radius, ok, n = sequential(p, sigma, radii[0] * sigma if len(radii) == 1
                                           else tuple(r * sigma for r in radii), rng)
                k = np.sum(ok[:, None] & (radius[:, None] >= np.asarray(radii)[None, :] * sigma - 1e-12), axis=1)
            frac = np.array([(k > j).mean() for j in range(len(radii))])          # certified at each radius
            rows.append((name, N0 + n.mean(), frac, time.perf_counter() - start))
        base = rows[0][2]
        for name, used, frac, sec in rows:
            worst = np.max(np.abs(frac - base)) * 100
            shown = f"{frac[0] * 100:6.2f}%" if len(radii) == 1 else f"worst Δ {worst:4.2f} pt"
            print(f"{setting:30s} {question:11s} {name:16s} {used:10,.0f} {(MAX_N + N0) / used:7.1f}× "
                  f"{shown:>16s}  Δ {worst:4.2f} pt {sec:7.1f} s")


def zoo(name: str, inputs: int, max_n: int, seed: int) -> None:
    from cert_core.models.data import load_dataset
    from cert_core.models.zoo import load_zoo_model
    loaded = load_zoo_model(name)
    sigma = float(name.rsplit("-s", 1)[1])
    data = load_dataset(**loaded.metadata["dataset"])
    xs = torch.from_numpy(data.x_test[:inputs])
    smooth = Smooth(loaded.model.eval(), data.num_classes, sigma)
    r, thr = 0.5 * sigma, norm.cdf(0.5)
    looks = staged_looks(max_n, 100, 2.0)
    rows = []
    start = time.perf_counter()
    certs = smooth.certify_batch(xs, N0, max_n, ALPHA, 10_000, torch.Generator().manual_seed(seed))
    rows.append(("fixed-n CERTIFY", N0 + max_n, np.mean([c.radius >= r for c in certs]), time.perf_counter() - start))
    start, gen = time.perf_counter(), torch.Generator().manual_seed(seed)
    c_a = smooth.sample_counts(xs, N0, 10_000, gen).numpy().argmax(1)
    used, ok = [], []
    for i in range(inputs):
        a = n = 0
        for look in looks:
            a += int(smooth.sample_counts(xs[i:i + 1], look - n, 10_000, gen)[0, c_a[i]])
            n = look
            if cp_lower(a, n, ALPHA / len(looks)) > thr or cp_upper(a, n, FUTILITY / len(looks)) < thr:
                break
        used.append(N0 + n)
        ok.append(bool(cp_lower(a, n, ALPHA / len(looks)) > thr))
    rows.append(("α-split staged", np.mean(used), np.mean(ok), time.perf_counter() - start))
    start = time.perf_counter()
    certs = smooth.certify_sequential_batch(xs, ALPHA, r, max_n, N0, 10_000, torch.Generator().manual_seed(seed))
    rows.append(("sequential", np.mean([c.n0 + c.n for c in certs]), np.mean([c.radius >= r for c in certs]),
                 time.perf_counter() - start))
    for method, used, frac, sec in rows:
        print(f"{name + f' ({inputs} inputs)':30s} {'r >= 0.5σ':11s} {method:16s} {used:10,.0f} "
              f"{(max_n + N0) / used:7.1f}× {frac * 100:15.2f}%  {'':12s}{sec:7.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--zoo-inputs", type=int, default=20)
    parser.add_argument("--zoo-n", type=int, default=MAX_N)
    parser.add_argument("--skip-zoo", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'setting':30s} {'question':11s} {'method':16s} {'samples/ex':>10s} {'saving':>8s} "
          f"{'certified':>16s}  {'vs fixed':12s} {'wall':>7s}")
    table = np.genfromtxt(TSV, delimiter="\t", names=True, dtype=None, encoding="utf-8")
    for setting in dict.fromkeys(table["setting"]):
        rows = table[table["setting"] == setting]
        replay(setting, rows["p_lower"].astype(float), float(rows["sigma"][0]), args.examples, args.seed)
    if not args.skip_zoo:
        for name in ("digits-cnn-s0.5", "moons-mlp-s0.5"):
            zoo(name, args.zoo_inputs, args.zoo_n, args.seed)


if __name__ == "__main__":
    main()
