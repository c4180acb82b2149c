"""Bernstein smoothing of a bottleneck model's head (Kao, Ko & Lu) over a test set, as a run method.

The radius is the sound Lipschitz radius of the Bernstein classifier in feature space divided by the computed
bound L_G of the feature extractor (Eq. 4): a guaranteed input-space ℓ2 radius. Algorithm 2's root-finding
radius (Eq. 9-10, LM) goes to ``root_radius``: an upper-bound heuristic, never a certificate. Deterministic
(no noise: σ = 0), certified with numpy on the CPU; chunks are cut from the whole selection and dealt to ranks.

Shapes: C examples in a chunk, D the input shape, d features.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from cert_core.methods.bernstein import polynomial as bernstein
from cert_core.methods.bernstein import radii as bernstein_radii
from cert_core.methods.bernstein.images import Bottleneck, split
from cert_core.methods.lipschitz.bounds import lipschitz_upper_bound
from cert_core.runs.chunks import clean_predictions, example_rows, planned_chunks
from cert_core.runs.method import Companion, FormField, RunMethod


@dataclass(frozen=True, eq=False)
class BernsteinEngine:
    parts: Bottleneck                        # G (ends in the Sigmoid) and the head
    poly: bernstein.BernsteinPolynomial      # the head's Bernstein polynomial on [0, 1]^d
    lipschitz_g: float                       # guaranteed ℓ2 Lipschitz bound of G (Eq. 4)
    root_finding: bool                       # also run Algorithm 2


def bernstein_engine(model, input_shape, spec) -> BernsteinEngine:
    """Split the bottleneck model, bound L_G and fit the head's polynomial once per run (ValueError for a
    model without a bottleneck or a degree whose lattice does not fit)."""
    model.eval()                               # spectral norm must not update its vectors while we certify
    parts = split(model)
    lip = lipschitz_upper_bound(parts.extractor, tuple(input_shape))
    poly = bernstein.fit(parts.head, spec.degree, parts.d, spec.smooth)
    return BernsteinEngine(parts, poly, lip, spec.root_finding)


def bernstein_rows(engine: BernsteinEngine, xs: torch.Tensor) -> dict:
    """The sound input-space radius R / L_G per example, and root-finding's radius / L_G (no guarantee)."""
    with torch.no_grad():
        feats = engine.parts.extractor(xs.cpu()).double().numpy()          # (C, d) in [0, 1]^d
    cols = {k: [] for k in ("prediction", "radius", "p_lower", "seconds", "root_radius")}
    for f in feats:
        start = time.perf_counter()
        cert = bernstein_radii.lipschitz_certificate(engine.poly, f, 2.0)
        root = bernstein_radii.root_finding_radius(engine.poly, f, 2.0) if engine.root_finding else None
        for key, value in zip(cols, (cert.prediction, cert.radius / engine.lipschitz_g, -1.0,
                                     time.perf_counter() - start,
                                     root.radius / engine.lipschitz_g if root else None)):
            cols[key].append(value)
    return cols


class BernsteinRun(RunMethod):
    name = "bernstein"
    label = "Bernstein (bottleneck)"
    table_name = "Bernstein (sound)"
    summary = ("Bernstein (Kao, Ko & Lu): a bottleneck model's head smoothed by a Bernstein polynomial, certified "
               "by a sound Lipschitz radius through the computed L_G (Eq. 4).")
    fields = (
        FormField("degree", "Degree n", "Bernstein degree per feature axis: the head is evaluated on (n+1)^d "
                  "lattice points.", 1, 200),
        FormField("smooth", "Smooth", "Smooth the head's logits then softmax (the paper), or its probabilities.",
                  choices=("logits", "probabilities")),
        FormField("root_finding", "Root-finding radius (not a certificate)", "Algorithm 2's LM radius is stored "
                  "beside the sound one; it is an upper-bound heuristic (a boundary point, not the nearest) and "
                  "costs ~0.1-5 s per example."),
    )
    columns = ("root_radius",)
    noisy = False
    cpu_only = True
    sigma_field = ("σ for Cohen runs beside it", "Only with 'Also Cohen runs': one Cohen run per σ on the same "
                                                 "bottleneck model, to compare. Bernstein adds no noise.")
    companion = Companion("Also Cohen runs at the σ values above",
                          "Cohen et al. CERTIFY of the same bottleneck model with n0, n, α below, to compare.")

    def describe(self, spec):
        return f"Bernstein n={spec.degree}" + ("" if spec.smooth == "logits" else " (probabilities)")

    def samples_per_example(self, spec):
        return math.nan                      # its cost is the lattice and root-finding, not samples

    def plan(self, sigmas, with_companion):
        return [(0.0, False)] + [(s, True) for s in sigmas if with_companion]

    def check_model(self, model, num_classes, params):
        """A clear ValueError now (not in the worker) for a model without a bottleneck or too large a degree."""
        parts, degree, k = split(model), int(params.get("degree", 8)), int(num_classes)
        if (degree + 1) ** parts.d * k > bernstein.MAX_LATTICE_VALUES:
            best = bernstein.largest_degree(parts.d, k)
            raise ValueError(f"Degree {degree} needs (n+1)^d·K = {(degree + 1) ** parts.d * k:,} head evaluations "
                             f"on d = {parts.d} features; the largest degree that fits is {best}.")

    def run_chunks(self, loaded, data, spec, device, shard, done, on_note):
        model = loaded.model.to(device)
        engine = bernstein_engine(model, loaded.input_shape or data.x.shape[1:], spec)
        on_note(f"Bernstein n={spec.degree} ({spec.smooth}) on d={engine.parts.d} features; L_G ≤ "
                f"{engine.lipschitz_g:.4g} (computed bound): input radius = feature radius / L_G (Eq. 4).")
        step = 1 if spec.root_finding else 64
        for idx in planned_chunks(spec.select(len(data.y)), step, shard, done):
            xs = torch.from_numpy(data.x[idx]).to(device)                    # (C, *D)
            yield example_rows(data, idx, shard.rank, clean_predictions(model, xs), **bernstein_rows(engine, xs))

    def extra_curves(self, spec, raw, view):
        if len(raw) and np.isfinite(raw.root_radius).any():
            return [("root-finding radius (Alg. 2, not a certificate)", raw.root_radius, raw.correct)]
        return []

    def caption(self, spec):
        return ("Radius: the sound Lipschitz radius of the Bernstein classifier in feature space divided by the "
                "computed bound L_G of the feature extractor (Eq. 4; see the notes). The root-finding radius finds "
                "*a* boundary point, so it only bounds the distance to the boundary from above.")

    def example_columns(self, spec, raw, view):
        return {"root-finding radius (not a certificate)": raw.root_radius}


BERNSTEIN = BernsteinRun()
