"""How a run's examples are cut into chunks, seeded, sharded over ranks and turned into stored rows.

Shared by every run method (``cert_core.runs.method``). ``chunk_seed(seed, i)`` seeds the noise of
example i (Cohen: its own stream, ``cert_core.noise``; ddrs: its own generator), so one process, K ranks, any
batch size, any cut into chunks and a resume draw the same noise; chunks are cut from the whole selection
(``planned_chunks``).

Shapes: C examples in a chunk, D the input shape.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

Note = Callable[[str], None]      # a line for the run's notes (out of memory, the computed L_G, ...)


@dataclass(frozen=True)
class Shard:
    rank: int = 0            # this worker's rank
    world_size: int = 1      # number of ranks certifying the run together
    local_rank: int = 0      # rank on this machine: picks cuda:local_rank

    def take(self, indices: np.ndarray) -> np.ndarray:
        return indices[self.rank:: self.world_size]   # positions p with p % W == rank


def chunk_size(n: int, batch: int) -> int:
    """Examples per certify_batch call: enough to fill a few forward batches when n is small, one
    example when n is large (so every example is committed as soon as it is done)."""
    return int(min(256, max(1, math.ceil(8 * batch / n))))


def chunk_seed(seed: int, first_idx: int) -> int:
    return int(np.random.SeedSequence([seed, int(first_idx)]).generate_state(1, np.uint64)[0] >> 1)


def planned_chunks(selection: np.ndarray, step: int, shard: Shard, done: set[int]) -> list[np.ndarray]:
    """Chunks of ``step`` cut from the whole selection, every world_size-th to this rank, minus the chunks
    already stored: the same chunks (hence the same noise) however the run is split or resumed."""
    chunks = [selection[lo: lo + step] for lo in range(0, len(selection), step)][shard.rank:: shard.world_size]
    return [c for c in chunks if not all(int(i) in done for i in c)]


def is_oom(exc: BaseException | None) -> bool:
    """Out of memory, also when wrapped (Smooth turns model RuntimeErrors into ValueErrors)."""
    seen = 0
    while exc is not None and seen < 8:
        text = str(exc).lower()
        if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def with_backoff(call: Callable[[int], object], batch: int, device, on_note: Note = lambda text: None):
    """``call(batch)``, halving ``batch`` on out-of-memory; returns (result, batch that fit)."""
    while True:
        try:
            return call(batch), batch
        except (RuntimeError, ValueError) as exc:
            if not is_oom(exc):
                raise
            if batch <= 1:
                raise ValueError(f"Out of memory even with a batch of 1 on {device}: {exc}") from exc
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        on_note(f"Out of memory with batch {batch} on {device}; continuing with batch {max(1, batch // 2)}.")
        batch = max(1, batch // 2)


def clean_predictions(model, xs: torch.Tensor) -> np.ndarray:
    """(C,) f(x), the base classifier on the clean inputs."""
    with torch.inference_mode():
        return model(xs).argmax(1).cpu().numpy()


def example_rows(data, idx, rank: int, base, **cols) -> list[dict]:
    """One row dict per example from per-example columns (prediction, radius, p_lower, seconds, ...)."""
    out = []
    for j, i in enumerate(idx):
        row = {k: v[j] for k, v in cols.items()}
        out.append(dict(idx=int(i), label=int(data.y[i]), correct=int(row["prediction"]) == int(data.y[i]),
                        base_prediction=int(base[j]), rank=rank, **row))
    return out
