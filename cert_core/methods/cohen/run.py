"""Cohen et al.'s CERTIFY (ICML 2019, Section 3.2) at the run's σ over a test set, as a run method.

An example's noise depends only on (seed, its index): example i draws from its own generator seeded by
``chunk_seed(seed, i)`` (``cert_core.noise``) inside the shared forward batches, so one process, K ranks,
any batch size, any cut into chunks and a resume give identical certificates. A batch that does not fit is
halved and the chunk redrawn from the same seeds.

Samplers (``RunSpec.sound_float``): the standard fl(x + σ·randn), as every public implementation, or the sound
floating-point sampler of Voráček & Hein (ICLR 2023) for inputs on the grid of multiples of 1/``levels``
(``Smooth(..., sound_float=True)``: integer noise from fair coins, radii hold in floating point up to a
total-variation slack subtracted from p̲_A). Off-grid inputs fail the run with a clear error, never silently
quantised. Both keep the noise a function of (seed, example).

Shapes: C examples in a chunk, D the input shape.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from cert_core.noise import example_generators
from cert_core.runs.chunks import Note, Shard, chunk_seed, chunk_size, clean_predictions, with_backoff
from cert_core.runs.method import FormField, RunMethod
from cert_core.smoothing import Smooth


def certify_with_backoff(smooth: Smooth, xs: torch.Tensor, spec, batch: int, seeds: int | Sequence[int],
                         on_note: Note = lambda text: None):
    """certify_batch, halving ``batch`` on out-of-memory; returns (certificates, batch that fit).
    ``seeds``: one per example (its own noise stream), or one int for a generator shared by the chunk."""
    def call(b):                                # every retry draws the same noise
        if np.ndim(seeds) == 0:
            generator = torch.Generator(device=xs.device).manual_seed(int(seeds))
        else:
            generator = example_generators(seeds, xs.device)
        return smooth.certify_batch(xs, spec.n0, spec.n, spec.alpha, b, generator)
    return with_backoff(call, batch, xs.device, on_note)


def cohen_smooth(model, num_classes: int, spec) -> Smooth:
    """The smoothed classifier a Cohen run certifies: σ = spec.sigma, with the sampler the spec names."""
    return Smooth(model, num_classes, spec.sigma, sound_float=spec.sound_float, levels=spec.levels)


def sampler_text(spec) -> str:
    """Which sampler a run used, in words (the runs page's caption)."""
    if spec.sound_float:
        return (f"Sampler: sound floating point (Voráček & Hein, ICLR 2023): integer noise on the grid of multiples "
                f"of 1/{spec.levels}, so the radii hold for the floats actually sampled.")
    return ("Sampler: standard fl(x + σ·randn), as in Cohen et al.'s code; not sound in floating point (Voráček & "
            "Hein, ICLR 2023; the Paths page shows a false certificate).")


def sound_float_fields(args) -> dict:
    """The RunSpec fields of the command line's ``--sound-float [--levels L]`` ({} without them)."""
    if not args.sound_float:
        if args.levels is not None:
            raise ValueError("--levels: only with --sound-float (the sound floating-point sampler)")
        return {}
    return dict(sound_float=True, levels=args.levels or 255)


def example_seeds(seed: int, idx) -> list[int]:
    """The seed of each example's noise: a function of (run seed, example index) only."""
    return [chunk_seed(seed, int(i)) for i in idx]


def certify_chunks(smooth: Smooth, data, indices, spec, device: torch.device,
                   rank: int = 0, on_note: Note = lambda text: None) -> Iterator[list[dict]]:
    """Certify ``indices`` of ``data`` chunk by chunk; yields one row dict per finished example."""
    batch, indices = spec.batch, np.asarray(indices, dtype=np.int64)
    step = chunk_size(spec.n, batch)
    for lo in range(0, len(indices), step):
        idx = indices[lo: lo + step]                                     # (C,)
        xs = torch.from_numpy(data.x[idx]).to(device)                    # (C, *D)
        certs, batch = certify_with_backoff(smooth, xs, spec, batch, example_seeds(spec.seed, idx), on_note)
        base = clean_predictions(smooth.model, xs)                       # (C,) f(x)
        yield [dict(idx=int(i), label=int(data.y[i]), prediction=c.prediction, radius=c.radius,
                    p_lower=c.p_lower, correct=c.prediction == int(data.y[i]), base_prediction=int(b),
                    seconds=c.seconds, rank=rank) for i, c, b in zip(idx, certs, base)]


class CohenRun(RunMethod):
    name = "cohen"
    label = "Cohen et al. (fixed σ)"
    table_name = "Cohen (fixed σ)"
    summary = "Cohen et al.: CERTIFY at one σ."
    sigma_field = ("σ (one or several)", "Noise levels, comma separated: one run per σ, certified one after another.")
    cli = True
    fields = (
        FormField("sound_float", "Sound floating point", "Voráček & Hein (ICLR 2023): the standard fl(x + σ·randn) "
                  "is not sound in floating point. Ticked: integer noise on the input grid (multiples of 1/L), "
                  "drawn exactly from fair coins; the inputs must lie on that grid."),
        FormField("levels", "Input grid L", "With the sound sampler: inputs are multiples of 1/L (8-bit images: 255; "
                  "the digits' pixels k/16: 16 or 256).", 1, 1 << 20),
    )

    def describe(self, spec):
        return f"σ={spec.sigma:g}" + (f" sound float L={spec.levels}" if spec.sound_float else "")

    def display_name(self, spec):
        return "Cohen (fixed σ, sound float)" if spec.sound_float else self.table_name

    def caption(self, spec):
        return sampler_text(spec)

    def cli_flags(self, spec):
        return f" --sound-float --levels {spec.levels}" if spec.sound_float else ""

    def run_chunks(self, loaded, data, spec, device, shard: Shard, done, on_note):
        todo = [i for i in shard.take(spec.select(len(data.y))) if int(i) not in done]
        smooth = cohen_smooth(loaded.model.to(device), data.num_classes, spec)
        yield from certify_chunks(smooth, data, todo, spec, device, shard.rank, on_note)


COHEN = CohenRun()
