"""Summaries, paper tables and file formats of certification runs.

* ``summarize`` — what the live view shows: certified accuracy against radius (Cohen et al. 2019,
  Section 4: the fraction of examples classified correctly *and* certified at radius ≥ r), ACR
  (Zhai et al. 2020), smoothed and clean (base classifier) accuracy, abstain rate, throughput, ETA.
* ``paper_table`` — one row per run, like Table 1 of Cohen et al. (and of Alfarra et al.: a row per
  method, a column per radius, ACR): the method, certified accuracy at chosen radii.
* ``to_cohen_tsv`` / ``parse_cohen_tsv`` / ``import_tsv`` — the TSV written by Cohen et al.'s
  ``certify.py`` (``idx label predict radius correct time``; time as seconds or H:MM:SS.ffffff).
* ``to_csv`` — every stored column plus the run's parameters, for spreadsheets and pandas.
* ``format_radius_down`` — the one way a certified radius is written as rounded text (TSV, CLI): rounded
  DOWN, so a file never claims more than the certificate (to-nearest could add up to 5e-5).

Every function takes the examples as the method certifies them (``cert_core.runs.engine.certified``: a ddrs run
after its memory). The figure as standalone HTML is built in ``ui/`` (cert_core never imports plotly).
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal

import numpy as np
from scipy.stats import norm

from cert_core.metrics import average_certified_radius, certified_accuracy
from cert_core.runs.engine import run_method
from cert_core.runs.records import BASE_COLUMNS, Examples, Run
from cert_core.runs.store import RunSpec, RunStore
from cert_core.validation import check_float

COHEN_HEADER = ("idx", "label", "predict", "radius", "correct", "time")


def samples_per_example(spec: RunSpec) -> float:
    """Forward passes per example: n0 + n (Cohen), plus (K + 1) n_opt for OptimizeSigma (ddrs), nan for
    Bernstein (its cost is the lattice and root-finding, not samples)."""
    return run_method(spec.method).samples_per_example(spec)


def method_name(spec: RunSpec) -> str:
    return run_method(spec.method).display_name(spec)


@dataclass(frozen=True)
class RunSummary:
    done: int                  # finished examples
    total: int                 # selected examples
    radii: np.ndarray          # (R,) radius grid
    curve: np.ndarray          # (R,) certified accuracy at each radius (over finished examples)
    acr: float                 # average certified radius (0 for wrong or abstained)
    smoothed_accuracy: float   # certified accuracy at radius 0 (the smoothed classifier g)
    clean_accuracy: float      # accuracy of the base classifier f on the clean inputs (nan: unknown)
    abstain_rate: float        # fraction of abstentions
    seconds_per_example: float  # mean compute time per example
    samples_per_second: float  # noisy samples (n0 + n) per second, all ranks together
    eta_seconds: float         # time left at the current rate (0 when done, nan when unknown)


def summarize(run: Run, ex: Examples, radii) -> RunSummary:
    radii = np.asarray(radii, dtype=np.float64)
    m = len(ex)
    if m == 0:
        nan = math.nan
        return RunSummary(0, run.total, radii, np.zeros_like(radii), nan, nan, nan, nan, nan, nan, nan)
    ranks = max(1, len(np.unique(ex.rank)))
    per = float(ex.seconds.mean())
    known = ex.base_prediction >= 0
    clean = float((ex.base_prediction[known] == ex.label[known]).mean()) if known.any() else math.nan
    drawn = samples_per_example(run.spec)
    if math.isnan(drawn) and len(ex.samples) == m and np.isfinite(ex.samples).any():
        drawn = float(np.nanmean(ex.samples))     # data-dependent (sequential): the samples actually drawn
    rate = drawn * ranks / per if per > 0 else math.nan
    left = max(0, run.total - m)
    return RunSummary(m, run.total, radii, certified_accuracy(ex.radius, ex.correct, radii),
                      average_certified_radius(ex.radius, ex.correct),
                      float(certified_accuracy(ex.radius, ex.correct, [0.0])[0]), clean,
                      float((ex.prediction == -1).mean()), per, rate, left * per / ranks)


def paper_table(items, radii=(0.0, 0.25, 0.5, 0.75, 1.0)) -> list[dict]:
    """One row per (Run, Examples): parameters, certified accuracy at ``radii``, ACR, accuracies."""
    rows = []
    for run, ex in items:
        s = summarize(run, ex, radii)
        noisy = run_method(run.spec.method).noisy
        row = {"run": run.id, "name": run.name, "method": method_name(run.spec),
               "σ": run.spec.sigma if noisy else math.nan, "n": run.spec.n if noisy else math.nan,
               "α": run.spec.alpha if noisy else math.nan, "examples": f"{s.done}/{s.total}"}
        row.update({f"r = {r:g}": float(a) for r, a in zip(s.radii, s.curve)})
        row.update({"ACR": s.acr, "smoothed acc.": s.smoothed_accuracy, "clean acc. (f)": s.clean_accuracy,
                    "abstain": s.abstain_rate, "s / example": s.seconds_per_example})
        rows.append(row)
    return rows


def format_radius_down(radius: float, decimals: int = 4) -> str:
    """``radius`` with ``decimals`` places, rounded toward -inf: read back, float(text) <= radius always.

    The floor is taken in decimal on repr(radius), the shortest text that reads back as the same double
    (so 0.3 is written 0.3000, not 0.2999 from its binary expansion); reading the floored text rounds to
    the nearest double, which cannot pass ``radius``, itself the double nearest a value at or above it.
    0 stays "0.0000"; inf and nan are written as Python writes them.
    """
    r = float(radius) + 0.0                               # -0.0 -> 0.0: no "-0.0000" for an abstention
    if not math.isfinite(r):
        return f"{r:.{decimals}f}"
    step = Decimal(1).scaleb(-decimals)
    return f"{Decimal(repr(r)).quantize(step, rounding=ROUND_FLOOR, context=Context(prec=400)):f}"  # any double fits


def cohen_tsv_line(row: dict) -> str:
    """One example (a row dict as the engine yields it) as a line of Cohen et al.'s TSV; radius rounded down."""
    return (f"{row['idx']}\t{row['label']}\t{row['prediction']}\t{format_radius_down(row['radius'])}\t"
            f"{int(row['correct'])}\t{row['seconds']:.4f}")


def to_cohen_tsv(ex: Examples) -> str:
    """Cohen et al.'s TSV, one line per example (``cohen_tsv_line``), sorted as stored."""
    lines = ["\t".join(COHEN_HEADER)]
    for i in range(len(ex)):
        lines.append(cohen_tsv_line(dict(idx=ex.idx[i], label=ex.label[i], prediction=ex.prediction[i],
                                         radius=ex.radius[i], correct=ex.correct[i], seconds=ex.seconds[i])))
    return "\n".join(lines) + "\n"


def to_csv(run: Run, ex: Examples) -> str:
    """The run's parameters and every stored column its method fills (a Cohen run: the base columns)."""
    out = io.StringIO()
    spec = run.spec
    params = {"run": run.id, "name": run.name, "model": spec.model_label, "data": spec.data_label,
              "sigma": spec.sigma, "n0": spec.n0, "n": spec.n, "alpha": spec.alpha}
    method = run_method(spec.method)
    if method.fields:
        params.update({"method": spec.method, **{f.name: getattr(spec, f.name) for f in method.fields}})
    columns = BASE_COLUMNS + method.columns
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*params, *columns])
    for i in range(len(ex)):
        writer.writerow([*params.values(), *(getattr(ex, c)[i].item() for c in columns)])
    return out.getvalue()


def _seconds(text: str) -> float:
    """'0.1234' or Cohen et al.'s str(timedelta): '0:00:01.234567'."""
    parts = text.split(":")
    value = sum(float(p) * 60 ** k for k, p in enumerate(reversed(parts)))
    if not math.isfinite(value) or value < 0 or len(parts) > 3:
        raise ValueError
    return value


MAX_INDEX = 2**31 - 1     # idx, label and prediction of a TSV row (a test set index, a class)


def parse_cohen_tsv(text: str) -> Examples:
    """Examples from Cohen et al.'s TSV; ValueError names the first bad line."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or tuple(lines[0].split("\t")) != COHEN_HEADER:
        raise ValueError("A Cohen et al. TSV must start with the header line 'idx label predict radius correct "
                         f"time' (tab-separated). Got {lines[0][:60]!r} instead." if lines else "The TSV is empty.")
    cols = {k: [] for k in COHEN_HEADER}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        try:
            if len(fields) != 6:
                raise ValueError
            idx, label, pred, radius, correct, sec = fields
            values = (int(idx), int(label), int(pred), float(radius), int(correct), _seconds(sec))
            if values[3] < 0 or not math.isfinite(values[3]) or values[4] not in (0, 1) or values[2] < -1:
                raise ValueError
        except ValueError:
            raise ValueError(f"Line {number} of the TSV is not 'idx label predict radius correct time': "
                             f"{line[:80]!r}") from None
        i, label, pred, radius, correct = values[:5]
        if not (0 <= i <= MAX_INDEX and 0 <= label <= MAX_INDEX and pred <= MAX_INDEX):
            raise ValueError(f"Line {number} of the TSV has an idx, label or prediction outside [0, {MAX_INDEX:,}] "
                             f"(prediction -1: abstained): {line[:80]!r}")
        if correct != int(pred == label) or (pred == -1 and radius != 0):
            why = ("it abstained but has a radius" if pred == -1 and radius != 0 else
                   f"'correct' is {correct} but the prediction {pred} {'is' if pred == label else 'is not'} "
                   f"the label {label}")
            raise ValueError(f"Line {number} of the TSV contradicts itself ({why}): {line[:80]!r}")
        for key, value in zip(COHEN_HEADER, values):
            cols[key].append(value)
    if len(set(cols["idx"])) != len(cols["idx"]):
        raise ValueError("The TSV lists some idx more than once.")
    order = np.argsort(cols["idx"], kind="stable")
    pick = lambda key, dtype: np.asarray(cols[key], dtype=dtype)[order]  # noqa: E731
    m = len(order)
    return Examples(pick("idx", np.int64), pick("label", np.int64), pick("predict", np.int64),
                    pick("radius", np.float64), np.full(m, -1.0), pick("correct", bool),
                    np.full(m, -1, np.int64), pick("time", np.float64), np.zeros(m, np.int64), np.zeros(m))


def import_tsv(store: RunStore, text: str, name: str, sigma: float, n0: int = 100, n: int = 100_000,
               alpha: float = 0.001, model_label: str = "imported") -> int:
    """Store a Cohen et al. TSV as a finished run (status 'imported'); returns its id.

    The TSV has no p_lower; for non-abstained rows it is set to Φ(radius / σ), the value consistent with
    the WRITTEN radius (so the given σ must be the one the TSV was certified with); abstentions keep −1
    (unknown). It is not the certified p̲_A: the radius was rounded on writing. From this app's TSVs
    (rounded down) it is a lower bound on it; Cohen et al.'s certify.py rounds to nearest, so there it may
    be slightly above. Radii, and everything computed from them, are taken as written."""
    sigma = check_float(sigma, "sigma", "import_tsv", 0, None, low_open=True)
    ex = parse_cohen_tsv(text)
    p_lower = np.where(ex.prediction >= 0, norm.cdf(ex.radius / sigma), -1.0)
    spec = RunSpec({"imported": name}, {"name": "imported"}, sigma, n0=n0, n=n, alpha=alpha,
                   model_label=model_label, data_label="from TSV")
    run_id = store.create_run(spec, len(ex), name=name, status="imported")
    rows = [dict(idx=ex.idx[i], label=ex.label[i], prediction=ex.prediction[i], radius=ex.radius[i],
                 p_lower=p_lower[i], correct=ex.correct[i], base_prediction=-1, seconds=ex.seconds[i], rank=0)
            for i in range(len(ex))]
    store.add_examples(run_id, rows)
    return run_id
