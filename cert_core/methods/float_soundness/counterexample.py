"""A false certificate from floating-point rounding (Voráček & Hein, ICLR 2023, "Sound randomized smoothing in
floating-point arithmetic"), and the sound sampler that has none.

Standard smoothing samples fl(x + σ·ε) with ε = randn in float32 and applies Cohen et al.'s Theorem 1 as if that
were x + N(0, σ²I). It is not: ε is a float, the sum is rounded, and the last bits of the rounded sum depend on
the last bits of x. At x = 0 the sum is exact, so its last mantissa bit is a fair coin; at x' = 12/255 some sums
fall exactly half-way between two floats and are rounded to even, so the last bits lean towards 0 (about 53 : 47
per coordinate at σ = 1, and the lower bits carry more). A Gaussian shift of 12/255 per coordinate would be invisible in one coordinate; this bias is not, and a
base classifier that sums the log-likelihood ratio of the last ``bits`` mantissa bits over D = 256 coordinates
(``LowBitsDetector``) tells x from x' although ‖x' − x‖ = 0.75. Standard CERTIFY at x claims a radius above that
distance, while the smoothed classifier (the same standard sampler) predicts the other class at x'.

Our construction, not the paper's code: the paper's own example is lower-dimensional (radius 1.26 at σ = 1, a
flip at distance 0.8); this one reaches the same kind of numbers (radius ≈ 1.1, flip at 0.75) with a detector
that only reads rounding bits, so the flip is pure floating-point artefact. The sound sampler
(``Smooth(..., sound_float=True)``, ``cert_core.noise.DiscreteGaussian``) feeds f with fl((q + η)/255), a function
of the integer q + η only, so nothing about x leaks through rounding and Cohen's theorem holds for what is sampled.

Shapes: D the input dimension, B a forward batch, 2^bits the detector's table.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cert_core.smoothing import ABSTAIN, Smooth
from cert_core.stats import upper_confidence_bound
from cert_core.validation import check_float, check_int


@dataclass(frozen=True)
class FloatCounterexampleParams:
    dim: int = 256                  # D: coordinates (a 16×16 grey image)
    shift: int = 12                 # x' = x + shift/levels in every coordinate; distance = shift·√D/levels
    levels: int = 255               # inputs are multiples of 1/levels (8-bit images)
    sigma: float = 1.0              # smoothing noise
    bits: int = 8                   # last mantissa bits the detector reads
    calibration: int = 200_000      # noise draws that build the detector (its own generator)
    n0: int = 100                   # CERTIFY selection samples
    n: int = 4_000                  # CERTIFY estimation samples (and PREDICT samples at x')
    alpha: float = 0.001            # failure probability
    seed: int = 0                   # evaluation seed; the detector is calibrated with seed + 1


@dataclass(frozen=True)
class FloatCounterexample:
    """The headline numbers. ``standard_radius`` > ``distance`` with ``flip_prediction`` ≠ ``standard_prediction``
    is the false certificate; the sound sampler's certificate at x is consistent with its own prediction at x'."""

    params: FloatCounterexampleParams
    distance: float                 # ‖x' − x‖₂
    standard_prediction: int        # standard CERTIFY at x = 0 (class 0: "x-like")
    standard_radius: float          # the radius it claims
    standard_p_lower: float
    flip_prediction: int            # standard PREDICT at x' (class 1, or ABSTAIN)
    flip_share: float               # fraction of the n votes at x' for class 1
    flip_p_upper: float             # (1 − α) upper bound on P(f = standard_prediction) at x' (< 1/2: flipped)
    sound_prediction: int           # sound CERTIFY at x
    sound_radius: float
    sound_flip_prediction: int      # sound PREDICT at x'
    sound_slack: float              # D·tv_bound subtracted from the sound p̲_A

    @property
    def standard_broken(self) -> bool:
        """The standard certificate covers x' but the smoothed classifier predicts another class there."""
        return (self.standard_prediction != ABSTAIN and self.standard_radius > self.distance
                and self.flip_p_upper < 0.5)

    @property
    def sound_consistent(self) -> bool:
        """The sound certificate does not reach x', or the sound prediction at x' agrees with it."""
        return (self.sound_prediction == ABSTAIN or self.sound_radius <= self.distance
                or self.sound_flip_prediction == self.sound_prediction)


class LowBitsDetector(nn.Module):
    """Base classifier that reads only rounding: class 1 when Σ_i llr[last ``bits`` mantissa bits of y_i] ≥
    threshold, else class 0. Scores (B, 2) = (t − s, s − t). Float32 inputs of shape (B, D)."""

    def __init__(self, llr: torch.Tensor, threshold: float):
        super().__init__()
        self.register_buffer("llr", llr.float())                                  # (2^bits,)
        self.register_buffer("threshold", torch.tensor(float(threshold)))
        self.mask = len(llr) - 1

    def statistic(self, y: torch.Tensor) -> torch.Tensor:
        low = (y.float().contiguous().view(torch.int32) & self.mask).long()         # (B, D)
        return torch.take(self.llr, low).sum(dim=1)                                # (B,)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        s = self.statistic(y.flatten(1))                                           # (B,)
        return torch.stack([self.threshold - s, s - self.threshold], dim=1)       # (B, 2)


def build_detector(p: FloatCounterexampleParams) -> LowBitsDetector:
    """Calibrate the last-bits likelihood ratio of one coordinate at 0 and at shift/levels from the standard
    sampler (a generator of its own), then put the threshold where 60% of x''s noisy copies score above it."""
    gen = torch.Generator().manual_seed(p.seed + 1)
    mask = (1 << p.bits) - 1
    z = torch.randn(p.calibration, generator=gen)                                 # (C,)
    x1 = torch.tensor(p.shift / p.levels, dtype=torch.float32)
    low = [(torch.add(x, z, alpha=p.sigma).view(torch.int32) & mask).long() for x in (torch.zeros(()), x1)]
    h0, h1 = (torch.bincount(b, minlength=mask + 1).double() + 1 for b in low)   # (2^bits,) Laplace-smoothed
    llr = (h1 / h1.sum()).log() - (h0 / h0.sum()).log()                           # (2^bits,)
    detector = LowBitsDetector(llr, 0.0)
    noisy = torch.add(x1.expand(4000, p.dim), torch.randn(4000, p.dim, generator=gen), alpha=p.sigma)
    detector.threshold.fill_(float(torch.quantile(detector.statistic(noisy).double(), 0.4)))
    return detector


def float_counterexample(params: FloatCounterexampleParams | None = None) -> FloatCounterexample:
    """Certify x = 0 and predict at x' = shift/levels·1 with the standard and with the sound sampler (seeded)."""
    p = _checked(params or FloatCounterexampleParams())
    detector = build_detector(p)
    x = torch.zeros(1, p.dim)                                                      # (1, D)
    x1 = torch.full((1, p.dim), p.shift / p.levels)                                # (1, D) on the grid
    standard = Smooth(detector, 2, p.sigma)
    sound = Smooth(detector, 2, p.sigma, sound_float=True, levels=p.levels)
    gen = lambda: torch.Generator().manual_seed(p.seed)                            # noqa: E731
    cert = standard.certify(x[0], p.n0, p.n, p.alpha, generator=gen())
    votes = standard.sample_counts(x1, p.n, generator=gen())[0].tolist()           # (2,)
    keep = cert.prediction if cert.prediction != ABSTAIN else 0
    sound_cert = sound.certify(x[0], p.n0, p.n, p.alpha, generator=gen())
    return FloatCounterexample(
        p, float((x1 - x).norm()), cert.prediction, cert.radius, cert.p_lower,
        standard.predict(x1[0], p.n, p.alpha, generator=gen()), votes[1] / p.n,
        float(upper_confidence_bound(votes[keep], p.n, p.alpha)),
        sound_cert.prediction, sound_cert.radius, sound.predict(x1[0], p.n, p.alpha, generator=gen()),
        sound.sampling_slack(x))


def _checked(p: FloatCounterexampleParams) -> FloatCounterexampleParams:
    func = "float_counterexample"
    check_int(p.dim, "dim", func, low=1, high=1 << 16)
    check_int(p.shift, "shift", func, low=1, high=p.levels)
    check_int(p.levels, "levels", func, low=1, high=1 << 16)
    check_float(p.sigma, "sigma", func, 0, 10, low_open=True)
    check_int(p.bits, "bits", func, low=1, high=16)
    check_int(p.calibration, "calibration", func, low=1000, high=10 ** 8)
    check_int(p.n0, "n0", func, low=1)
    check_int(p.n, "n", func, low=10)
    check_float(p.alpha, "alpha", func, 0, 1, True, True)
    check_int(p.seed, "seed", func, low=0)
    return p
