"""Per-example noise streams: input j's Gaussian noise comes only from its own generator, in blocks whose
sizes depend only on (num, D), so its samples are the same whatever batch size evaluates them, whichever
other inputs share the forward batch, and however a run is cut into chunks, ranks or resumes.

Used by ``Smooth.sample_counts`` when it is given one generator per input. Statistically nothing changes:
every sample is a fresh N(0, I) draw, so CERTIFY's selection and estimation samples stay independent
(Cohen et al. 2019, Section 3.2).

Shapes: D the input shape, M the number of inputs, B the forward batch.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

BLOCK_ELEMENTS = 1 << 22        # at most 4M noise values (16 MiB float32) drawn per call, whatever the batch


def block_size(num: int, shape) -> int:
    """Noisy samples per draw for ``num`` samples of inputs of shape D: a function of (num, D) only."""
    return max(1, min(int(num), BLOCK_ELEMENTS // max(1, math.prod(shape))))


class ExampleStreams:
    """Draws the noise of ``num`` samples per input from ``generators[j]`` for input j, in order.

    The (M·num) samples are enumerated input-major, as ``Smooth.sample_counts`` does; ``take(start, size)``
    returns the noise of positions [start, start + size), which must follow the previous call's. Input j's
    k-th sample is row k % block of the block drawn at k - k % block, so it never depends on ``size``."""

    def __init__(self, generators: Sequence[torch.Generator], num: int, shape, device, dtype):
        self.generators, self.num, self.shape = list(generators), int(num), tuple(shape)
        self.device, self.dtype = device, dtype
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
        return torch.randn((rows, *self.shape), generator=generator, device=generator.device, dtype=self.dtype)


def example_generators(seeds: Sequence[int], device) -> list[torch.Generator]:
    """One generator per input on ``device``, seeded by ``seeds[j]``."""
    return [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
