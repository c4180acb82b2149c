"""The certification engine of a run: one small function per method (``RunSpec.method``), each turning a
chunk of test examples into stored rows, and ``certified``, which reads the stored rows as the method's
certificates.

* ``cohen`` — CERTIFY (Cohen et al. 2019, Section 3.2) at the run's σ: ``certify_chunks``.
* ``ddrs`` — OptimizeSigma (Alfarra et al. 2022, Algorithm 1) from σ0 = the run's σ, then CERTIFY at each
  σ*_x (``ddrs.certify_at_sigma``): ``ddrs_rows``. The raw certificates and σ*_x are stored; they certify
  g_{σ*_x}, a *different* classifier per input, so they are no certificate of the data-dependent
  classifier (Súkeník et al. 2022). ``certified`` applies the memory of Sec. 3.5 (Figure 2) when the
  run is read, over the finished examples in **index order**: answers are deterministic whatever order
  chunks finished in (resumed, sharded or concurrent runs), and they are consistent for exactly that
  query sequence, which is what the memory can promise.
* ``bernstein`` — Bernstein smoothing of a bottleneck model's head (Kao, Ko & Lu): the sound Lipschitz
  radius of the Bernstein classifier in feature space divided by the computed bound L_G of the feature
  extractor (Eq. 4), a guaranteed input-space ℓ2 radius: ``bernstein_rows``. Algorithm 2's root-finding
  radius (Eq. 9-10, LM) goes to ``root_radius``: an upper-bound heuristic, never a certificate.

Noise: each chunk draws from a generator seeded by ``chunk_seed(seed, first index)``. Cohen chunks are
cut from the examples still to do (unchanged since the first version); ddrs and bernstein chunks are cut
from the whole selection and dealt to ranks chunk by chunk, so a resumed or sharded ddrs run draws the
same noise for every example as an uninterrupted one (a chunk is committed in one transaction).

Shapes: C examples in a chunk, D the input shape, d features.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np
import torch

from cert_core.methods.bernstein import polynomial as bernstein
from cert_core.methods.bernstein.images import Bottleneck, split
from cert_core.methods.ddrs.sigma import SigmaConfig, certify_at_sigma, memory_certify, optimize_sigma
from cert_core.methods.lipschitz.bounds import lipschitz_upper_bound
from cert_core.runs.inputs import RunData
from cert_core.runs.store import Examples, RunSpec
from cert_core.smoothing import Smooth

Note = Callable[[str], None]


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


def certify_with_backoff(smooth: Smooth, xs: torch.Tensor, spec: RunSpec, batch: int, seed: int,
                         on_note: Note = lambda text: None):
    """certify_batch, halving ``batch`` on out-of-memory; returns (certificates, batch that fit)."""
    def call(b):
        generator = torch.Generator(device=xs.device).manual_seed(seed)    # every retry draws the same noise
        return smooth.certify_batch(xs, spec.n0, spec.n, spec.alpha, b, generator)
    return with_backoff(call, batch, xs.device, on_note)


def _base(model, xs: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return model(xs).argmax(1).cpu().numpy()                          # (C,) f(x), the clean prediction


def _rows(data: RunData, idx, rank: int, base, **cols) -> list[dict]:
    """One row dict per example from per-example columns (prediction, radius, p_lower, seconds, ...)."""
    out = []
    for j, i in enumerate(idx):
        row = {k: v[j] for k, v in cols.items()}
        out.append(dict(idx=int(i), label=int(data.y[i]), correct=int(row["prediction"]) == int(data.y[i]),
                        base_prediction=int(base[j]), rank=rank, **row))
    return out


# ---------------------------------------------------------------------- cohen
def certify_chunks(smooth: Smooth, data: RunData, indices, spec: RunSpec, device: torch.device,
                   rank: int = 0, on_note=lambda text: None) -> Iterator[list[dict]]:
    """Certify ``indices`` of ``data`` chunk by chunk; yields one row dict per finished example."""
    batch, indices = spec.batch, np.asarray(indices, dtype=np.int64)
    step = chunk_size(spec.n, batch)
    for lo in range(0, len(indices), step):
        idx = indices[lo: lo + step]                                     # (C,)
        xs = torch.from_numpy(data.x[idx]).to(device)                    # (C, *D)
        certs, batch = certify_with_backoff(smooth, xs, spec, batch, chunk_seed(spec.seed, idx[0]), on_note)
        with torch.inference_mode():
            base = smooth.model(xs).argmax(1).cpu().numpy()              # (C,) f(x), the clean prediction
        yield [dict(idx=int(i), label=int(data.y[i]), prediction=c.prediction, radius=c.radius,
                    p_lower=c.p_lower, correct=c.prediction == int(data.y[i]), base_prediction=int(b),
                    seconds=c.seconds, rank=rank) for i, c, b in zip(idx, certs, base)]


# ---------------------------------------------------------------------- ddrs
def ddrs_rows(model, num_classes: int, xs: torch.Tensor, spec: RunSpec, batch: int, seed: int) -> dict:
    """OptimizeSigma (Alg. 1) then CERTIFY at each σ*_x, all noise from one generator seeded by ``seed``.
    Returns per-example columns (C,): prediction, radius, p_lower, seconds, sigma."""
    generator = torch.Generator(device=xs.device).manual_seed(seed)
    start = time.perf_counter()
    search = optimize_sigma(model, xs, SigmaConfig(spec.sigma, spec.steps, spec.lr, spec.n_opt), batch, generator)
    per = (time.perf_counter() - start) / len(xs)
    certs = certify_at_sigma(model, num_classes, xs, search.sigma, spec.n0, spec.n, spec.alpha, batch, generator)
    return dict(prediction=[c.prediction for c in certs], radius=[c.radius for c in certs],
                p_lower=[c.p_lower for c in certs], seconds=[per + c.seconds for c in certs],
                sigma=search.sigma.tolist())


# ---------------------------------------------------------------------- bernstein
@dataclass(frozen=True, eq=False)
class BernsteinEngine:
    parts: Bottleneck                        # G (ends in the Sigmoid) and the head
    poly: bernstein.BernsteinPolynomial      # the head's Bernstein polynomial on [0, 1]^d
    lipschitz_g: float                       # guaranteed ℓ2 Lipschitz bound of G (Eq. 4)
    root_finding: bool                       # also run Algorithm 2


def bernstein_engine(model, input_shape, spec: RunSpec) -> BernsteinEngine:
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
        cert = bernstein.lipschitz_certificate(engine.poly, f, 2.0)
        root = bernstein.root_finding_radius(engine.poly, f, 2.0) if engine.root_finding else None
        for key, value in zip(cols, (cert.prediction, cert.radius / engine.lipschitz_g, -1.0,
                                     time.perf_counter() - start,
                                     root.radius / engine.lipschitz_g if root else None)):
            cols[key].append(value)
    return cols


# ---------------------------------------------------------------------- dispatch
def plan_chunks(spec: RunSpec, num_test: int, shard: Shard, done: set[int]) -> list[np.ndarray]:
    """ddrs/bernstein: chunks cut from the whole selection, every world_size-th to this rank, minus the
    chunks already stored; the same chunks (hence the same noise) however the run is split or resumed."""
    selection = spec.select(num_test)
    step = chunk_size(spec.n, spec.batch) if spec.method == "ddrs" else (1 if spec.root_finding else 64)
    chunks = [selection[lo: lo + step] for lo in range(0, len(selection), step)][shard.rank:: shard.world_size]
    return [c for c in chunks if not all(int(i) in done for i in c)]


def run_chunks(loaded, data: RunData, spec: RunSpec, device: torch.device, shard: Shard = Shard(),
               done: set[int] = frozenset(), on_note: Note = lambda text: None) -> Iterator[list[dict]]:
    """Certify this shard's examples of the run that are not in ``done``; yields rows chunk by chunk."""
    if spec.method == "cohen":
        todo = [i for i in shard.take(spec.select(len(data.y))) if int(i) not in done]
        smooth = Smooth(loaded.model.to(device), data.num_classes, spec.sigma)
        yield from certify_chunks(smooth, data, todo, spec, device, shard.rank, on_note)
        return
    model = loaded.model.to(device)
    if spec.method == "bernstein":
        shape = loaded.input_shape or data.x.shape[1:]
        engine = bernstein_engine(model, shape, spec)
        on_note(f"Bernstein n={spec.degree} ({spec.smooth}) on d={engine.parts.d} features; L_G ≤ "
                f"{engine.lipschitz_g:.4g} (computed bound): input radius = feature radius / L_G (Eq. 4).")
    batch = spec.batch
    for idx in plan_chunks(spec, len(data.y), shard, done):
        xs = torch.from_numpy(data.x[idx]).to(device)                    # (C, *D)
        if spec.method == "ddrs":
            seed = chunk_seed(spec.seed, idx[0])
            cols, batch = with_backoff(lambda b: ddrs_rows(model, data.num_classes, xs, spec, b, seed),
                                       batch, device, on_note)
        else:
            cols = bernstein_rows(engine, xs)
        yield _rows(data, idx, shard.rank, _base(model, xs), **cols)


# ---------------------------------------------------------------------- reading
def certified(spec: RunSpec, raw: Examples, x: np.ndarray | None = None) -> Examples:
    """The run's examples as its method certifies them.

    cohen, bernstein and ddrs without memory: the stored rows (for ddrs without memory these are NOT
    certificates of the data-dependent classifier). ddrs with memory: the finished examples are queried
    into a fresh ``CertificationMemory`` in idx order (Sec. 3.5, Fig. 2); prediction, radius and correct
    become the memory's answers, p_lower is set to -1 (unknown) where the memory changed the class.
    ``x`` (N, *D) are the run's test inputs (``run_inputs.run_data(spec).x``), needed for that case only.
    """
    if spec.method != "ddrs" or not spec.memory or len(raw) == 0:
        return raw
    if x is None or len(x) <= int(raw.idx.max()):
        raise ValueError("The memory of a ddrs run needs the run's test inputs (every stored idx); "
                         "they could not be loaded.")
    answers, _ = memory_certify(np.asarray(x)[raw.idx].reshape(len(raw), -1), raw.prediction, raw.radius)
    prediction = np.array([a.prediction for a in answers], dtype=np.int64)           # (m,)
    radius = np.array([a.radius for a in answers], dtype=np.float64)                 # (m,)
    return replace(raw, prediction=prediction, radius=radius, correct=prediction == raw.label,
                   p_lower=np.where(prediction == raw.prediction, raw.p_lower, -1.0))


def memory_changes(raw: Examples, view: Examples) -> np.ndarray:
    """(m,) bool: where the memory relabelled an answer or shrank its region."""
    return (view.prediction != raw.prediction) | (view.radius < raw.radius)
