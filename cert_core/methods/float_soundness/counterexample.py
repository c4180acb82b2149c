"""A false certificate from floating-point rounding (Voráček & Hein, ICLR 2023, "Sound randomized smoothing in
floating-point arithmetic"), and the sound sampler that has none.

Standard smoothing samples fl(x + σ·ε) with ε = randn in float32 and applies Cohen et al.'s Theorem 1 as if that
were x + N(0, σ²I). It is not: at x = 0 every noisy coordinate is fl(σ·ε) for a float32 ε, and when σ is not a
power of two the map ε ↦ fl(σ·ε) misses a fixed share of the floats (in each binade [2^j, 2^(j+1)) it reaches
only a share 1/m of the floats above m·2^j, m ∈ (1, 2) the mantissa of σ). A base classifier that answers class 0
exactly when **every** coordinate is a value fl(σ·ε) can take (``ScaledFloatDetector``) sees class 0 on every
noisy copy of x = 0, so standard CERTIFY claims the largest radius n samples allow. At x' = x + shift/levels in
each of D = 8 coordinates, ‖x' − x‖ ≈ 0.80, each sum fl(x'ᵢ + σε) lands in that set only about 84% of the time,
all eight together about 25%: the smoothed classifier, sampled the same standard way, predicts class 1 inside the
certified ball. In exact arithmetic the set is a finite set of floats (measure zero), so the true smoothed
classifier is class 1 everywhere and the radius is pure rounding artefact.

The paper reports a certified radius 1.26 against a flip at distance 0.8 for its own low-dimensional example,
which we could not read (only the abstract is public to us); this construction is ours, in the same setting
(8 coordinates, a flip at 0.80), and the exact numbers differ. The sound sampler (``Smooth(..., sound_float=True)``,
``cert_core.noise.DiscreteGaussian``) feeds f with fl((q + η)/L), a function of the integer q + η only, so nothing
about x leaks through rounding: f sees the same kind of values fl(k/L) around x and around x', labels nearly all
of them class 0 at both points, and the sound certificate agrees with the sound prediction at x'.

Shapes: D the input dimension, B a forward batch.
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
    dim: int = 8                    # D: coordinates
    shift: int = 72                 # x' = x + shift/levels in every coordinate; distance = shift·√D/levels ≈ 0.80
    levels: int = 255               # inputs are multiples of 1/levels (8-bit images): the sound sampler's grid
    sigma: float = 0.7              # smoothing noise; not a power of two (its mantissa m = 1.4 makes the gaps)
    n0: int = 100                   # CERTIFY selection samples
    n: int = 4_000                  # CERTIFY estimation samples (and PREDICT samples at x')
    alpha: float = 0.001            # failure probability
    seed: int = 0                   # noise seed


@dataclass(frozen=True)
class FloatCounterexample:
    """The headline numbers. ``standard_radius`` > ``distance`` with ``flip_prediction`` ≠ ``standard_prediction``
    is the false certificate; the sound sampler's certificate at x is consistent with its own prediction at x'."""

    params: FloatCounterexampleParams
    distance: float                 # ‖x' − x‖₂
    standard_prediction: int        # standard CERTIFY at x = 0 (class 0: "every coordinate is some fl(σ·ε)")
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


class ScaledFloatDetector(nn.Module):
    """Base classifier that reads only rounding: class 0 when every coordinate yᵢ equals fl(σ·z) for some float32
    z, else class 1. Scores (B, 2); float32 inputs of shape (B, *D).

    fl(σ·z) is monotone in z, so a preimage, if any, lies within a few float steps of fl(yᵢ/σ); the check tries
    the 7 floats around it (σ·z is one float32 product, the standard sampler's own rounding)."""

    WINDOW = 3                      # float steps either side of fl(y/σ)

    def __init__(self, sigma: float):
        super().__init__()
        self.register_buffer("sigma", torch.tensor(sigma, dtype=torch.float32))

    def reachable(self, y: torch.Tensor) -> torch.Tensor:
        """(B, D) bool: is each coordinate a value fl(σ·z) can take?"""
        y = y.flatten(1).float()
        up, down = torch.tensor(float("inf")), torch.tensor(float("-inf"))
        z = y / self.sigma
        for _ in range(self.WINDOW):
            z = torch.nextafter(z, down)
        hit = torch.zeros_like(y, dtype=torch.bool)
        for _ in range(2 * self.WINDOW + 1):
            hit |= z * self.sigma == y
            z = torch.nextafter(z, up)
        return hit

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        inside = self.reachable(y).all(dim=1).float()                              # (B,)
        return torch.stack([inside, 1 - inside], dim=1)                            # (B, 2)


def float_counterexample(params: FloatCounterexampleParams | None = None) -> FloatCounterexample:
    """Certify x = 0 and predict at x' = shift/levels·1 with the standard and with the sound sampler (seeded)."""
    p = _checked(params or FloatCounterexampleParams())
    detector = ScaledFloatDetector(p.sigma)
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
    check_int(p.n0, "n0", func, low=1)
    check_int(p.n, "n", func, low=10)
    check_float(p.alpha, "alpha", func, 0, 1, True, True)
    check_int(p.seed, "seed", func, low=0)
    return p
