"""Per-input σ over a test set, as a run method: OptimizeSigma (Alfarra et al. 2022, Algorithm 1) from
σ0 = the run's σ, then CERTIFY at each σ*_x (``sigma.certify_at_sigma``).

The raw certificates and σ*_x are stored; they certify g_{σ*_x}, a *different* classifier per input, so they
are no certificate of the data-dependent classifier (Súkeník et al. 2022). ``certified`` applies the memory of
Sec. 3.5 (Figure 2) when the run is read, over the finished examples in **index order**: answers are
deterministic whatever order chunks finished in (resumed, sharded or concurrent runs), and they are consistent
for exactly that query sequence, which is what the memory can promise.

Noise: every example draws OptimizeSigma's and CERTIFY's noise from its own generator seeded by
``chunk_seed(seed, idx)``, so its certificate is a function of (seed, example) only: a resumed or sharded run,
any ``batch`` (hence chunk size) and any cut into chunks give the same certificates as an uninterrupted run.
Chunks are cut from the whole selection and dealt to ranks chunk by chunk (a chunk is committed in one
transaction). Runs stored before this rule drew one generator per chunk; their stored rows stay as they are.

Shapes: C examples in a chunk, D the input shape, m finished examples.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch

from cert_core.methods.ddrs.memory import memory_certify
from cert_core.methods.ddrs.sigma import SigmaConfig, certify_at_sigma, optimize_sigma
from cert_core.runs.chunks import (chunk_seed, chunk_size, clean_predictions, example_rows, planned_chunks,
                                   with_backoff)
from cert_core.runs.method import Companion, FormField, Metric, RunMethod


def ddrs_rows(model, num_classes: int, xs: torch.Tensor, spec, batch: int, seed) -> dict:
    """OptimizeSigma (Alg. 1) then CERTIFY at each σ*_x; the noise from one generator seeded by ``seed`` (an
    int), or example j's from its own generator seeded by ``seed[j]`` (a list of C ints).
    Returns per-example columns (C,): prediction, radius, p_lower, seconds, sigma."""
    if isinstance(seed, (list, tuple)):
        generator = [torch.Generator(device=xs.device).manual_seed(int(s)) for s in seed]
    else:
        generator = torch.Generator(device=xs.device).manual_seed(seed)
    start = time.perf_counter()
    search = optimize_sigma(model, xs, sigma_config(spec), batch, generator)
    per = (time.perf_counter() - start) / len(xs)
    certs = certify_at_sigma(model, num_classes, xs, search.sigma, spec.n0, spec.n, spec.alpha, batch, generator)
    return dict(prediction=[c.prediction for c in certs], radius=[c.radius for c in certs],
                p_lower=[c.p_lower for c in certs], seconds=[per + c.seconds for c in certs],
                sigma=search.sigma.tolist())


def sigma_config(spec) -> SigmaConfig:
    """OptimizeSigma's settings of a run: the rule's floor is 0.01 for "fixed-top-class" (as before the rule was
    named, so stored runs recompute identically) and none for the paper's rule."""
    floor = 0.01 if spec.sigma_rule == "fixed-top-class" else 0.0
    return SigmaConfig(spec.sigma, spec.steps, spec.lr, spec.n_opt, floor, rule=spec.sigma_rule)


def variant(spec) -> str:
    """Which variant of the paper the run is, in words (captions and tables)."""
    rule = ("Algorithm 1 as printed (top two classes each step, no floor)" if spec.sigma_rule == "paper"
            else "ours: c_A fixed at σ₀, σ ≥ 0.01")
    memory = ("the paper's memory rule (relabelled radius min(r, rᵢ − d))" if spec.memory_rule == "paper"
              else "the authors' memory rule (relabelled radius rᵢ − d, abstentions stored)")
    return f"OptimizeSigma: {rule}; " + (memory if spec.memory else "no memory")


def memory_changes(raw, view) -> np.ndarray:
    """(m,) bool: where the memory relabelled an answer or shrank its region."""
    return (view.prediction != raw.prediction) | (view.radius < raw.radius)


class DdrsRun(RunMethod):
    name = "ddrs"
    label = "Per-input σ (DDRS)"
    table_name = "DDRS (σ*ₓ)"
    summary = ("Per-input σ (Alfarra et al. 2022): OptimizeSigma (Algorithm 1) picks σ\\*ₓ per example, CERTIFY at "
               "σ\\*ₓ, then the memory of Sec. 3.5 keeps the answers consistent.")
    fields = (
        FormField("steps", "K (steps)", "Gradient-ascent steps of OptimizeSigma (Algorithm 1) on "
                  "σ/2 (Φ⁻¹(E_A) − Φ⁻¹(E_B)).", 0, 1000),
        FormField("lr", "Learning rate", "Step size of σ ← σ + α ∇σ R.", 0.0, 10.0, 0.01),
        FormField("n_opt", "n per step", "Reparameterised Monte Carlo samples per step (Eq. 3).", 1, 100_000),
        FormField("sigma_rule", "OptimizeSigma rule", "paper: Algorithm 1 as printed and the authors' code, the top "
                  "two classes re-picked at every step, no floor on σ. fixed-top-class (ours): c_A is the top class "
                  "at σ₀ and stays fixed (Eq. 2), σ ≥ 0.01.", choices=("paper", "fixed-top-class")),
        FormField("memory_rule", "Memory rule", "paper (Sec. 3.5): a query inside another class's region gets the "
                  "radius min(r, rᵢ − d). authors (their post-processing): rᵢ − d, and abstentions are stored as "
                  "zero-radius regions.", choices=("paper", "authors")),
        FormField("memory", "Memory (Sec. 3.5)", "Without it, CERTIFY at σ\\*ₓ certifies g with the fixed σ\\*ₓ "
                  "only: no certificate of the data-dependent classifier (Súkeník et al. 2022). Applied in index "
                  "order when reading."),
    )
    columns = ("sigma",)
    sigma_field = ("σ₀ (one or several)", "Where OptimizeSigma starts (the paper: the training σ); one DDRS run "
                                          "per σ₀, and the fixed-σ baseline when that box is ticked.")
    companion = Companion("Also a fixed-σ Cohen run at each σ₀ (the paper's Table 1)",
                          "Same model, data, n0, n, α and seed at σ = σ₀: a row per method in the compare table.",
                          default=True)

    def describe(self, spec):
        return (f"DDRS σ0={spec.sigma:g} K={spec.steps} lr={spec.lr:g} n_opt={spec.n_opt}"
                + ("" if spec.sigma_rule == "paper" else f" rule={spec.sigma_rule}")
                + ("" if not spec.memory or spec.memory_rule == "paper" else f" memory={spec.memory_rule}")
                + ("" if spec.memory else " no memory"))

    def display_name(self, spec):
        """The paper's variant is the plain name; another variant says which."""
        tags = (["ours: c_A fixed"] if spec.sigma_rule != "paper" else []) + (
            ["authors' memory"] if spec.memory and spec.memory_rule != "paper" else [])
        if not spec.memory:
            tags.append("no memory: not a certificate")
        return f"DDRS (σ*ₓ, {', '.join(tags)})" if tags else self.table_name

    def samples_per_example(self, spec):
        return spec.n0 + spec.n + (spec.steps + 1) * spec.n_opt

    def run_chunks(self, loaded, data, spec, device, shard, done, on_note):
        model, batch = loaded.model.to(device), spec.batch
        for idx in planned_chunks(spec.select(len(data.y)), chunk_size(spec.n, spec.batch), shard, done):
            xs = torch.from_numpy(data.x[idx]).to(device)                    # (C, *D)
            seed = [chunk_seed(spec.seed, i) for i in idx]            # noise keyed by (seed, example)
            cols, batch = with_backoff(lambda b: ddrs_rows(model, data.num_classes, xs, spec, b, seed),
                                       batch, device, on_note)
            yield example_rows(data, idx, shard.rank, clean_predictions(model, xs), **cols)

    def needs_inputs(self, spec):
        return spec.memory

    def certified(self, spec, raw, x=None):
        """With memory: the finished examples are queried into a fresh ``CertificationMemory`` in idx order
        (Sec. 3.5, Fig. 2); prediction, radius and correct become the memory's answers, p_lower is set to -1
        (unknown) where the memory changed the class. Without memory: the stored rows, which are NOT
        certificates of the data-dependent classifier."""
        if not spec.memory or len(raw) == 0:
            return raw
        if x is None or len(x) <= int(raw.idx.max()):
            raise ValueError("The memory of a ddrs run needs the run's test inputs (every stored idx); "
                             "they could not be loaded.")
        answers, _ = memory_certify(np.asarray(x)[raw.idx].reshape(len(raw), -1), raw.prediction, raw.radius,
                                    rule=spec.memory_rule)
        prediction = np.array([a.prediction for a in answers], dtype=np.int64)           # (m,)
        radius = np.array([a.radius for a in answers], dtype=np.float64)                 # (m,)
        return replace(raw, prediction=prediction, radius=radius, correct=prediction == raw.label,
                       p_lower=np.where(prediction == raw.prediction, raw.p_lower, -1.0))

    def unreadable(self, spec, exc):
        return (f"The memory could not be applied ({exc}); showing CERTIFY at σ\\*ₓ without it, which is not a "
                "certificate.")

    def live_metrics(self, spec, raw, view):
        if not len(raw):
            return []
        out = [Metric("Median σ*ₓ", f"{np.nanmedian(raw.sigma):.3f}",
                      f"OptimizeSigma's σ per example, from σ₀ = {spec.sigma:g}."),
               Metric("σ*ₓ range", f"{np.nanmin(raw.sigma):.2f} – {np.nanmax(raw.sigma):.2f}", "Smallest and largest σ\\*ₓ.")]
        if spec.memory:
            out.append(Metric("Memory changes", f"{int(memory_changes(raw, view).sum())}", "Answers the memory "
                              "relabelled (x inside an earlier region of another class) or shrank (regions of two "
                              "classes would intersect)."))
        return out

    def extra_curves(self, spec, raw, view):
        if spec.memory and len(raw):
            return [("CERTIFY at σ*ₓ without memory (not a certificate)", raw.radius, raw.correct)]
        return []

    def caption(self, spec):
        return (f"**Variant: {variant(spec)}.** CERTIFY at σ\\*ₓ is a statement about g smoothed with the fixed σ\\*ₓ only, so on its own it does "
                "not certify the data-dependent classifier (Súkeník et al. 2022). " + (
                    "The memory (Sec. 3.5) queries the finished examples in index order: its answers are "
                    "consistent with each other for exactly this query sequence, and depend on the order."
                    if spec.memory else "**This run has no memory: its radii are not certificates.**"))

    def example_columns(self, spec, raw, view):
        cols = {"σ*ₓ": raw.sigma}
        if spec.memory:
            cols.update({"prediction before memory": raw.prediction, "radius before memory": raw.radius,
                         "memory changed": memory_changes(raw, view)})
        return cols


DDRS = DdrsRun()
