"""The stakeholder demo export: one self-contained HTML report of a run comparison.

``build_report(items)`` takes the runs the Compare view shows, as ``(Run, Examples)`` pairs, and returns
one HTML document that opens from a file with no server and no network: plotly.js is inlined once
(``include_plotlyjs=True`` on the first figure, the others reuse it), styles are inline, nothing is
fetched. It holds what a reader needs to trust the numbers:

* the guarantee in words (Cohen, Rosenfeld & Kolter 2019, Theorem 1 with CERTIFY's Clopper–Pearson
  bound: each certificate holds with probability ≥ 1 − α; certified accuracy at r counts examples that
  are correct *and* certified at radius ≥ r);
* the certified-accuracy figure of the Compare view (``run_figures.accuracy_figure``, with the envelope
  over σ, Cohen et al. Fig. 7) and a radius histogram per run;
* the paper-like table (``cert_core.runs.export.paper_table``, the best value per radius in bold);
* the model's description and every setting (σ, n0, n, α, examples, device, seed, versions), plus the
  CLI command that reruns it.

``export_button`` puts it behind one download button; the HTML is built only when clicked.
"""
from __future__ import annotations

import datetime as dt
import html
import math

import numpy as np
import plotly.graph_objects as go

from cert_core.runs.engine import run_method
from cert_core.runs.export import paper_table, summarize
from cert_core.metrics import envelope as envelope_of
from cert_core.models.zoo import ZOO, load_zoo_model
from ui.runs import figures as run_figures
from ui.runs.launch import parse_radii

DEFAULT_RADII = (0.0, 0.25, 0.5, 0.75, 1.0)
MAX_HISTOGRAMS = 6
_CSS = """body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:1100px;margin:2em auto;padding:0 1.5em;
line-height:1.45}h1{font-size:1.9em;margin-bottom:.1em}h2{margin-top:1.6em;border-bottom:2px solid #0072B2;
padding-bottom:.2em}table{border-collapse:collapse;margin:.6em 0;font-size:.95em}th,td{border:1px solid #ccc;
padding:.3em .6em;text-align:right}th{background:#f2f6fa}td.l,th.l{text-align:left}.note{color:#555;font-size:.92em}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccc;border-radius:8px;padding:.6em 1em;min-width:11em}
.card b{display:block;font-size:1.6em;color:#0072B2}code{background:#f4f4f4;padding:.1em .3em;border-radius:3px}"""


def build_report(items, radii=DEFAULT_RADII, max_radius: float | None = None, envelope: bool | None = None,
                 title: str = "Certified robustness report", now: dt.datetime | None = None) -> str:
    """The HTML document for ``items`` = [(Run, Examples), ...]; ValueError if nothing can be reported."""
    items = [(run, ex) for run, ex in items if len(ex) > 0]
    if not items:
        raise ValueError("The report needs at least one run with finished examples.")
    radii = tuple(float(r) for r in radii)
    if not radii or any(not math.isfinite(r) or r < 0 for r in radii):
        raise ValueError(f"The report's radii must be numbers ≥ 0. Got {radii!r} instead.")
    top = max(max(float(ex.radius.max()), 2 * run.spec.sigma) for run, ex in items)
    grid = run_figures.radius_grid(max_radius if max_radius and max_radius > 0 else top * 1.05)
    curves = [run_figures.Curve(run.name, grid, summarize(run, ex, grid).curve, len(ex), run.total)
              for run, ex in items]
    show_env = len(items) > 1 if envelope is None else envelope
    env = envelope_of([c.accuracy for c in curves]) if show_env else None
    figures = [run_figures.accuracy_figure(curves, env, title="Certified accuracy against radius")]
    for run, ex in items[:MAX_HISTOGRAMS]:
        fig = run_figures.radius_histogram(ex.radius, ex.correct)
        fig.update_layout(title=f"#{run.id} {run.name}: certified radii", height=300)
        figures.append(fig)
    when = (now or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    parts = [f"<h1>{_e(title)}</h1>",
             f"<p class='note'>Certified Robustness Explorer · generated {when} · {len(items)} run(s)</p>",
             _guarantee(), _cards(items), "<h2>Certified accuracy</h2>", _figures_html(figures[:1]),
             "<h2>Table</h2>", _table(paper_table(items, radii)),
             "<p class='note'>Certified accuracy at each ℓ2 radius r (best per column in bold), average certified "
             "radius (ACR), accuracy of the smoothed classifier g (r = 0) and of the base classifier f.</p>",
             "<h2>Models</h2>", _models(items), "<h2>Settings</h2>", _settings(items)]
    if len(figures) > 1:
        parts += ["<h2>Radius distribution</h2>", _figures_html(figures[1:], first=False)]
    parts.append("<p class='note'>Randomized smoothing: Cohen, Rosenfeld &amp; Kolter, <i>Certified Adversarial "
                 "Robustness via Randomized Smoothing</i>, ICML 2019. This file is self-contained: it opens "
                 "offline in any browser.</p>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _guarantee() -> str:
    return ("<p><b>What the numbers promise.</b> For each test example, CERTIFY samples the base classifier f under "
            "Gaussian noise N(0, σ²I): it selects the top class with n0 samples, bounds its probability from below "
            "(p̲_A, one-sided Clopper–Pearson at level α) with n fresh samples and certifies the radius "
            "R = σ Φ⁻¹(p̲_A), or abstains if p̲_A &lt; ½. With probability at least 1 − α, the smoothed classifier g "
            "gives the same answer on every input within ℓ2 distance R. <b>Certified accuracy at r</b> is the "
            "fraction of examples that are classified correctly and certified at radius ≥ r.</p>")


def _cards(items) -> str:
    cards = []
    for run, ex in items:
        s = summarize(run, ex, [0.0])
        acr = "–" if np.isnan(s.acr) else f"{s.acr:.3f}"
        cards.append(f"<div class='card'>#{run.id} {_e(run.name)}<b>{s.smoothed_accuracy:.1%}</b>smoothed accuracy"
                     f" · ACR {acr}<br>σ = {run.spec.sigma:g} · {s.done}/{s.total} examples</div>")
    return f"<div class='cards'>{''.join(cards)}</div>"


def _figures_html(figures: list[go.Figure], first: bool = True) -> str:
    """The first figure of the document inlines plotly.js; later ones reuse it."""
    out = []
    for i, fig in enumerate(figures):
        out.append(fig.to_html(full_html=False, include_plotlyjs=first and i == 0,
                               config={"displaylogo": False, "responsive": True}))
    return "".join(out)


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return _e(value)


def _table(rows: list[dict]) -> str:
    """An HTML table of ``paper_table`` rows; the best certified accuracy per radius in bold."""
    cols = list(rows[0])
    best = {c: max(r[c] for r in rows) for c in cols if c.startswith("r = ")}
    head = "".join(f"<th class='l'>{_e(c)}</th>" if c == "name" else f"<th>{_e(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            text = _fmt(r[c])
            if c in best and len(rows) > 1 and r[c] == best[c]:
                text = f"<b>{text}</b>"
            cells.append(f"<td class='l'>{text}</td>" if c == "name" else f"<td>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def describe_model(model: dict, label: str = "") -> list[tuple[str, str]]:
    """(field, value) rows describing a run's model spec ({"zoo": name}, {"path": ..., "sha256": ...}, ...)."""
    name = model.get("zoo")
    entry = next((e for e in ZOO if e.name == name), None)
    if entry is None:
        rows = [("model", label or next(iter(model.values()), "unknown"))]
        rows += [(k, str(v)) for k, v in model.items()]
        return rows
    cfg = entry.config
    rows = [("model", f"{name} (built-in zoo)"), ("description", entry.description),
            ("architecture", f"{cfg.arch} · width {cfg.width} · depth {cfg.depth} · {cfg.activation}"),
            ("input · classes", f"{'×'.join(map(str, cfg.input_shape))} · {cfg.num_classes}"),
            ("training data", ", ".join(f"{k}={v}" for k, v in entry.dataset_spec.items())),
            ("σ_train (noise augmentation)", f"{entry.train.sigma_train:g}")]
    try:
        acc = load_zoo_model(name).metadata.get("accuracy")
    except Exception:                    # a missing bundle must not break the report
        acc = None
    if isinstance(acc, (int, float)):
        rows.append(("clean test accuracy (f)", f"{acc:.1%}"))
    return rows


def _models(items) -> str:
    seen, out = set(), []
    for run, _ in items:
        key = repr(sorted(run.spec.model.items()))
        if key in seen:
            continue
        seen.add(key)
        rows = "".join(f"<tr><th class='l'>{_e(k)}</th><td class='l'>{_e(v)}</td></tr>"
                       for k, v in describe_model(run.spec.model, run.spec.model_label))
        out.append(f"<table>{rows}</table>")
    return "".join(out)


def _when(t) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "–"


def _settings(items) -> str:
    fields = ("run", "method", "data", "σ", "n0", "n", "α", "batch", "examples", "every k-th", "device", "seed", "status",
              "started", "finished", "versions")
    rows = []
    for run, ex in items:
        sp = run.spec
        versions = ", ".join(f"{k} {v}" for k, v in sorted(run.versions.items())) or "–"
        rows.append((f"#{run.id} {run.name}", sp.method, sp.data_label or sp.data.get("name", ""), f"{sp.sigma:g}", sp.n0,
                     f"{sp.n:,}", f"{sp.alpha:g}", sp.batch, f"{len(ex)}/{run.total}", sp.skip,
                     run.device or sp.device, sp.seed, run.status, _when(run.started), _when(run.finished), versions))
    head = "".join(f"<th class='l'>{f}</th>" for f in fields)
    body = "".join("<tr>" + "".join(f"<td class='l'>{_e(v)}</td>" for v in r) + "</tr>" for r in rows)
    cli = [_cli(run) for run, _ in items if "zoo" in run.spec.model and run_method(run.spec.method).cli]
    note = ("<p class='note'>Rerun from a terminal (same engine, same seed, same numbers):</p>"
            + "".join(f"<p><code>{_e(c)}</code></p>" for c in cli)) if cli else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _cli(run) -> str:
    sp = run.spec
    extra = f" --max {sp.max_examples}" if sp.max_examples else ""
    return (f"python -m cert_core certify --model {sp.model['zoo']} --sigma {sp.sigma:g} --n0 {sp.n0} --n {sp.n} "
            f"--alpha {sp.alpha:g} --batch {sp.batch}{extra}{run_method(sp.method).cli_flags(sp)} --seed {sp.seed} "
            f"--out run{run.id}.tsv")


def export_button(container, items, radii_text: str | None = None, max_radius: float | None = None,
                  envelope: bool | None = None) -> None:
    """One click: the report of ``items`` as a download (built only when the button is pressed).
    ``radii_text`` is the Compare view's radii field, so the report's table matches the one on screen."""
    try:
        radii = parse_radii(radii_text) if radii_text else DEFAULT_RADII
    except ValueError:
        radii = DEFAULT_RADII
    names = ", ".join(f"#{run.id}" for run, _ in items)
    container.download_button(
        "Demo report (HTML)", lambda: build_report(items, radii, max_radius, envelope), "certification_report.html",
        "text/html", key="report_download", icon=":material/slideshow:", type="primary",
        help=f"A self-contained HTML report of runs {names}: figures, table, model and settings. Opens with no "
             "server and no network, e.g. on a stakeholder's laptop.")
