"""Per-example noise streams, and the sound floating-point sampler.

Streams: input j's Gaussian noise comes only from its own generator, in blocks whose sizes depend only on
(num, D), so its samples are the same whatever batch size evaluates them, whichever other inputs share the
forward batch, and however a run is cut into chunks, ranks or resumes. Used by ``Smooth.sample_counts`` when it
is given one generator per input. Statistically nothing changes: every sample is a fresh draw, so CERTIFY's
selection and estimation samples stay independent (Cohen et al. 2019, Section 3.2).

Sound sampler (Voráček & Hein, ICLR 2023, "Sound randomized smoothing in floating-point arithmetic"):
``torch.randn`` plus a float addition is not a Gaussian shift, so Cohen's theorem does not apply to what is
actually sampled (``cert_core.methods.float_soundness`` shows a false certificate). For inputs on a grid
(multiples of 1/L, e.g. L = 255 for 8-bit images) the noise is instead an integer η ~ round(N(0, (σL)²)) drawn
by comparing a uniform 62-bit integer (fair coins) with exact integer thresholds, and the noisy input is
fl((q + η) / L), q = xL: a deterministic function of the integer q + η. That is exactly the Gaussian smoothing of
h(z) = f(fl(round(zL) / L)), so Cohen's theorem holds for it, up to ``DiscreteGaussian.tv_bound`` per coordinate
(the 2^-62 granularity of the coins and the ±K truncation), which the engine subtracts from p̲_A.

Shapes: D the input shape, M the number of inputs, B the forward batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import mpmath
import numpy as np
import torch

BLOCK_ELEMENTS = 1 << 22        # at most 4M noise values (16 MiB float32) drawn per call, whatever the batch
COIN_BITS = 62                  # uniform integers in [0, 2^62): a power of two, so torch's modulo is unbiased
GUIDE_BITS = 16                 # guide table: 65,536 buckets of the coin's top bits
TAIL_SIGMAS = 9.5               # K = ceil(9.5 σL) cells each side: tail mass 2Φ(-9.5) ≈ 2e-21 < 2^-62

Draw = Callable[[tuple, torch.Generator | None, torch.device, torch.dtype], torch.Tensor]   # (shape, gen, device, dtype)


def gaussian_draw(shape, generator, device, dtype) -> torch.Tensor:
    """N(0, I) of ``shape``, drawn on the generator's device (a CPU generator may drive a GPU model)."""
    noise_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=noise_device, dtype=dtype)


def block_size(num: int, shape) -> int:
    """Noisy samples per draw for ``num`` samples of inputs of shape D: a function of (num, D) only."""
    return max(1, min(int(num), BLOCK_ELEMENTS // max(1, math.prod(shape))))


class ExampleStreams:
    """Draws the noise of ``num`` samples per input from ``generators[j]`` for input j, in order.

    The (M·num) samples are enumerated input-major, as ``Smooth.sample_counts`` does; ``take(start, size)``
    returns the noise of positions [start, start + size), which must follow the previous call's. Input j's
    k-th sample is row k % block of the block drawn at k - k % block, so it never depends on ``size``."""

    def __init__(self, generators: Sequence[torch.Generator], num: int, shape, device, dtype,
                 draw: Draw = gaussian_draw):
        self.generators, self.num, self.shape = list(generators), int(num), tuple(shape)
        self.device, self.dtype, self.draw = device, dtype, draw
        self.block = block_size(num, shape)
        self.pos = 0                                  # the next position to hand out
        self.buffer, self.used = None, 0              # the current block (b, *D) and rows taken from it

    def take(self, start: int, size: int) -> torch.Tensor:
        if start != self.pos:
            raise ValueError(f"noise streams are read in order: expected position {self.pos}, got {start}")
        parts = []
        while size > 0:
            j, k = divmod(self.pos, self.num)
            if k % self.block == 0:                   # a new block of input j's stream
                self.buffer, self.used = self._draw(j, min(self.block, self.num - k)), 0
            rows = min(size, len(self.buffer) - self.used)
            parts.append(self.buffer[self.used: self.used + rows])
            self.used, self.pos, size = self.used + rows, self.pos + rows, size - rows
        return (parts[0] if len(parts) == 1 else torch.cat(parts)).to(self.device)   # (B, *D)

    def _draw(self, j: int, rows: int) -> torch.Tensor:
        generator = self.generators[j]
        return self.draw((rows, *self.shape), generator, generator.device, self.dtype)


def example_generators(seeds: Sequence[int], device) -> list[torch.Generator]:
    """One generator per input on ``device``, seeded by ``seeds[j]``."""
    return [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]


@dataclass(frozen=True)
class DiscreteGaussian:
    """η = round(ε L), ε ~ N(0, σ²), drawn exactly from fair coins (the sampler of Voráček & Hein 2023).

    Cell j (η = j, |j| ≤ K) is hit when T_{j-1} ≤ U < T_j for U uniform in [0, 2^62); T_j = round(2^62 Φ((j + ½)/(σL)))
    is computed in 40-digit arithmetic (mpmath), T_{-K-1} = 0 and T_K = 2^62, so the extreme cells absorb the tails.
    Guarantee: the total-variation distance between the sampled law and the exact discretised Gaussian is at most
    ``tv_bound`` = K·2^-62 + 2Φ(-(K + ½)/(σL)) per coordinate, hence at most D·tv_bound for D coordinates."""

    sigma: float
    levels: int                     # L: inputs are multiples of 1/L
    cells: int                      # K: η ∈ [-K, K]
    thresholds: tuple[int, ...]     # T_{-K}, ..., T_{K-1}, (2K,) increasing
    tv_bound: float                 # per coordinate, rounded up

    def draw(self, shape, generator, device, dtype) -> torch.Tensor:
        """η of ``shape`` as exact integers in ``dtype``, from ``generator`` (on its device), moved to ``device``.

        U is drawn in two independent uniform parts, its top GUIDE_BITS and, only where needed, its low bits. A
        guide table (Chen & Asau) maps the top bits to η directly unless a threshold falls inside that bucket
        (a few % of draws); those get their low bits and a binary search. The law is exactly that of
        ``searchsorted(T, U, right=True) - K`` with U uniform in [0, 2^62), independently per element.
        On the CPU the coins come from numpy's PCG64, seeded by one 62-bit draw of ``generator`` (so η is still a
        function of the generator's state), four guide indices per 64-bit word, and the lookups run in numpy on one
        thread: that makes the sound draw about as fast as ``torch.randn`` (torch draws one 32-bit word per integer
        and runs ``take``/``searchsorted`` on several threads, whose hand-offs cost more than the work here).
        On other devices the coins and lookups are torch's."""
        coin_device = generator.device if generator is not None else torch.device(device)
        table = _tables_on(self, coin_device)
        count = math.prod(shape)
        if coin_device.type == "cpu":
            seed = int(torch.randint(0, 1 << COIN_BITS, (1,), generator=generator))
            eta = _draw_numpy(count, table, self.cells, np.random.PCG64(seed))
        else:
            top = torch.randint(0, 1 << GUIDE_BITS, (count,), generator=generator, device=coin_device)  # (N,)
            eta = _lookup_torch(top, table, self.cells, lambda size: torch.randint(
                0, 1 << (COIN_BITS - GUIDE_BITS), (size,), generator=generator, device=coin_device))
        return eta.view(shape).to(device=device, dtype=dtype)


def _lookup_torch(top: torch.Tensor, table, cells: int, low_bits) -> torch.Tensor:
    """η for the guide indices ``top`` (N,): the table, then the low bits ``low_bits(S)`` and a binary search for
    the S draws whose bucket a threshold splits. (N,) float."""
    eta = torch.take(table.eta, top)                                                  # (N,) NaN: split bucket
    split = torch.isnan(eta).nonzero().squeeze(1)                                     # (S,) positions, a few %
    if len(split):
        coins = (top[split] << (COIN_BITS - GUIDE_BITS)) | low_bits(len(split))     # (S,) U in full
        eta[split] = (torch.searchsorted(table.bounds, coins, right=True) - cells).to(eta.dtype)
    return eta


def _draw_numpy(count: int, table, cells: int, coins: np.random.PCG64) -> torch.Tensor:
    """η for ``count`` draws from the bit generator ``coins``: 16-bit guide indices, four per 64-bit word, then
    the low bits of the split draws from the same stream. (count,) float."""
    top = coins.random_raw(-(-count // 4)).view(np.uint16)[:count]                     # (N,) uniform 16-bit
    low = np.random.Generator(coins)
    return _lookup_numpy(top, table, cells,
                         lambda size: low.integers(0, 1 << (COIN_BITS - GUIDE_BITS), size, dtype=np.int64))


def _lookup_numpy(top: np.ndarray, table, cells: int, low_bits) -> torch.Tensor:
    """``_lookup_torch`` in numpy on one thread: the same values from the same coins. (N,) float."""
    top = top.astype(np.intp)                                                         # take() is fastest on intp
    eta = table.eta.numpy().take(top)                                                 # (N,) NaN: split bucket
    split = np.flatnonzero(np.isnan(eta))                                             # (S,)
    if len(split):
        coins = (top[split].astype(np.int64) << (COIN_BITS - GUIDE_BITS)) | low_bits(len(split))
        eta[split] = np.searchsorted(table.bounds.numpy(), coins, side="right") - cells
    return torch.from_numpy(eta)


@lru_cache(maxsize=16)
def discrete_gaussian(sigma: float, levels: int) -> DiscreteGaussian:
    """The sound sampler's exact thresholds for N(0, σ²) on the grid (1/L)Z (cached per (σ, L))."""
    scale = float(sigma) * int(levels)                                 # σL: the noise in grid cells
    cells = max(1, math.ceil(TAIL_SIGMAS * scale))
    with mpmath.workdps(40):
        total = mpmath.mpf(2) ** COIN_BITS
        upper = [int(mpmath.nint(total * mpmath.ncdf((j + mpmath.mpf(1) / 2) / scale))) for j in range(cells)]
        tail = 2 * mpmath.ncdf(-(cells + mpmath.mpf(1) / 2) / scale)
        tv = float(cells / total + tail) * (1 + 1e-9)                  # rounded up
    # Symmetric: T_{-j-1} = 2^62 - T_j, so the law of η is exactly symmetric and each T is still within 1/2 of exact.
    thresholds = tuple((1 << COIN_BITS) - t for t in reversed(upper)) + tuple(upper)
    return DiscreteGaussian(float(sigma), int(levels), cells, thresholds, tv)


def grid_integers(xs: torch.Tensor, sampler: DiscreteGaussian, dtype) -> torch.Tensor:
    """q = xL (M, *D) as exact integers in ``dtype``; a clear error when x is off the grid of multiples of 1/L, or
    when q + η would not be exact in ``dtype`` (so fl((q + η)/L) is one correctly rounded division)."""
    levels = sampler.levels
    q = torch.round(xs.double() * levels)                                       # (M, *D)
    off = int(((q / levels).to(dtype) != xs.to(dtype)).sum())
    if off:
        raise ValueError(f"The 'xs' parameter of certify must lie on the grid of multiples of 1/{levels} when "
                         f"sound_float=True (levels={levels}). Got {off} value(s) off the grid instead; quantise the "
                         f"input (round(x·{levels})/{levels}) or choose 'levels'.")
    exact = round(2 / torch.finfo(dtype).eps)                                  # integers are exact below 2^(p+1)
    if float(q.abs().max()) + sampler.cells >= exact:
        raise ValueError(f"The sound sampler needs |x·L| + {sampler.cells} < {exact} to add noise exactly in {dtype}. "
                         f"Got max |x·L| = {float(q.abs().max()):g} instead; use a float32 or float64 model.")
    return q.to(dtype)


@dataclass(frozen=True)
class _Tables:
    bounds: torch.Tensor    # (2K,) int64: the thresholds
    eta: torch.Tensor       # (2^GUIDE_BITS,) float: η of every coin in the bucket, NaN when a threshold splits it


_ON_DEVICE: dict = {}


def _tables_on(sampler: DiscreteGaussian, device) -> _Tables:
    key = (sampler.sigma, sampler.levels, str(device))
    if key not in _ON_DEVICE:
        bounds = torch.tensor(sampler.thresholds, dtype=torch.int64)
        width = 1 << (COIN_BITS - GUIDE_BITS)
        first = torch.arange(1 << GUIDE_BITS, dtype=torch.int64) * width                # each bucket's first coin
        start = torch.searchsorted(bounds, first, right=True)                         # η + K at the first coin
        end = torch.searchsorted(bounds, first + (width - 1), right=True)             # η + K at the last coin
        dtype = torch.float32 if sampler.cells < (1 << 24) else torch.float64         # η exact in the table
        eta = torch.where(start == end, start - sampler.cells, torch.nan).to(dtype)
        _ON_DEVICE[key] = _Tables(bounds.to(device), eta.to(device))
    return _ON_DEVICE[key]
