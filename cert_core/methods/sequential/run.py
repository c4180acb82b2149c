"""Sequential CERTIFY over a test set, as a run method: ``Smooth.certify_sequential_batch`` at the run's σ with
``RunSpec.n`` as the budget max_n, asking "radius ≥ r?" (one r), "which grid radii?" (a grid: the points of the
certified-accuracy curve; each example reports the largest grid radius certified) or for an anytime bound.
Radii are given in units of σ (``RunSpec.radii``). The guarantee is Cohen's, whatever the stopping rule.

Noise: chunks are cut from the whole selection, each drawn from a generator seeded by ``chunk_seed(seed, first
index)``, so a resumed or sharded run draws the same noise for every example; examples of a chunk share forward
batches until each stops.

Shapes: C examples in a chunk, D the input shape, m finished examples.
"""
from __future__ import annotations

import numpy as np
import torch

from cert_core.runs.chunks import chunk_seed, chunk_size, clean_predictions, example_rows, planned_chunks, with_backoff
from cert_core.runs.method import FormField, Metric, RunMethod
from cert_core.smoothing import Smooth

GRID = "0,0.25,0.5,0.75,1,1.25,1.5,1.75,2"
ANYTIME = "anytime"


def parse_radii(text: str) -> tuple[float, ...] | None:
    """'0.5' -> (0.5,), a comma-separated grid -> its radii, 'anytime' -> None (in units of σ)."""
    if not isinstance(text, str):
        raise ValueError(f"The 'radii' parameter of RunSpec must be a str. Got {text!r} instead.")
    if text.strip() == ANYTIME:
        return None
    try:
        radii = tuple(float(t) for t in text.split(","))
    except ValueError:
        radii = ()
    if not radii or not all(np.isfinite(r) and r >= 0 for r in radii):
        raise ValueError(f"The 'radii' parameter of RunSpec must be '{ANYTIME}' or comma-separated radii >= 0 "
                         f"(in units of σ). Got {text!r} instead.")
    return radii


def target(spec):
    """The engine's ``radius`` argument: a float, a grid (tuple) or None, in absolute units."""
    radii = parse_radii(spec.radii)
    if radii is None:
        return None
    return radii[0] * spec.sigma if len(radii) == 1 else tuple(r * spec.sigma for r in radii)


class SequentialRun(RunMethod):
    name = "sequential"
    label = "Sequential CERTIFY (anytime-valid)"
    table_name = "Sequential CERTIFY"
    summary = ("Cohen et al.'s guarantee from far fewer samples: votes are drawn in growing batches and each "
               "example stops as soon as its question is settled (Ville's inequality: valid at any stopping time).")
    fields = (FormField("radii", "Radius or grid (× σ)", "One radius: stop once 'radius ≥ r' is certified or "
                        "cannot be within n. A grid: the points of the certified-accuracy curve, each example "
                        "reports the largest certified. 'anytime': a bound that stops when the radius cannot "
                        "grow by 10%. n is the budget (max n) per example.",
                        choices=("0.5", "0.25", "1", GRID, ANYTIME)),)
    columns = ("samples",)
    cli = True

    def cli_flags(self, spec):
        radii = parse_radii(spec.radii)
        if radii is None:
            return " --sequential"
        return f" --sequential --radius {radii[0]!r}" if len(radii) == 1 else f" --sequential --radius-grid {spec.radii}"

    def check_spec(self, spec):
        parse_radii(spec.radii)

    def describe(self, spec):
        return f"sequential σ={spec.sigma:g} r={spec.radii}{'' if spec.radii == ANYTIME else '×σ'} max n={spec.n}"

    def samples_per_example(self, spec):
        return float("nan")           # data-dependent: the ``samples`` column holds what each example used

    def run_chunks(self, loaded, data, spec, device, shard, done, on_note):
        smooth, batch = Smooth(loaded.model.to(device), data.num_classes, spec.sigma), spec.batch
        radius = target(spec)
        for idx in planned_chunks(spec.select(len(data.y)), chunk_size(max(1, spec.n // 50), spec.batch), shard, done):
            xs = torch.from_numpy(data.x[idx]).to(device)                    # (C, *D)
            seed = chunk_seed(spec.seed, idx[0])

            def call(b):
                generator = torch.Generator(device=xs.device).manual_seed(seed)
                return smooth.certify_sequential_batch(xs, spec.alpha, radius, spec.n, spec.n0, b, generator)
            certs, batch = with_backoff(call, batch, device, on_note)
            yield example_rows(data, idx, shard.rank, clean_predictions(smooth.model, xs),
                               prediction=[c.prediction for c in certs], radius=[c.radius for c in certs],
                               p_lower=[c.p_lower for c in certs], seconds=[c.seconds for c in certs],
                               samples=[c.n0 + c.n for c in certs])

    def live_metrics(self, spec, raw, view):
        if not len(raw):
            return []
        used, fixed = float(np.nanmean(raw.samples)), spec.n0 + spec.n
        return [Metric("Samples / example", f"{used:,.0f}", "Noisy samples actually drawn (n0 + votes), mean."),
                Metric("Saving vs fixed n", f"{fixed / used:.1f}×", f"Fixed-n CERTIFY draws n0 + n = {fixed:,} per "
                       "example for the same guarantee."),
                Metric("Most samples", f"{int(np.nanmax(raw.samples)):,}", "The costliest example so far.")]

    def caption(self, spec):
        return ("Each example stops as soon as its question is settled; with probability ≥ 1 − α every "
                "certificate is correct whatever the stopping rule (Ville's inequality over a fixed ladder of "
                "thresholds). Radii are the ladder's: the largest grid radius certified in grid mode.")

    def example_columns(self, spec, raw, view):
        return {"samples used": raw.samples}


SEQUENTIAL = SequentialRun()
