"""Receipts for Cohen, Rosenfeld & Kolter (2019): CERTIFY's radius cap, PREDICT's smallest useful n, and the
linear classifier whose exact smoothed radius is its distance to the hyperplane (Theorem 1, tight for linear f).

All three run ``cert_core.smoothing.Smooth`` (PREDICT / CERTIFY) and ``cert_core.stats`` as every page does; the
exact radius comes from the exact 2D map of ``cert_core.grid`` (the Decision boundaries page's ground truth).
"""
from __future__ import annotations

import numpy as np
import torch

from cert_core import grid
from cert_core.receipts.base import Line, ReceiptResult, Scale, View, close
from cert_core.smoothing import ABSTAIN, Smooth
from cert_core.stats import binomial_pvalue

ALPHA = 0.001
N0 = 100


def two_class_linear(w=(1.0, 0.0), b: float = 0.0) -> torch.nn.Linear:
    """f(x) = 1[w·x + b > 0] as a 2-class scores module (class 1 scores w·x + b, class 0 scores 0).
    w = 0 gives a constant classifier (class 1 if b > 0 else class 0)."""
    lin = torch.nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 0.0], list(w)], dtype=torch.float32))
        lin.bias.copy_(torch.tensor([0.0, b], dtype=torch.float32))
    return lin.eval()


def _power(n: int) -> str:
    e = int(round(np.log10(n)))
    return f"n = 10{str(e).translate(str.maketrans('0123456789', '⁰¹²³⁴⁵⁶⁷⁸⁹'))}" if 10 ** e == n and e > 2 else f"n = {n}"


def radius_cap(scale: Scale) -> ReceiptResult:
    """Unanimous votes give p̲_A = α^(1/n), so CERTIFY's radius is at most σ Φ⁻¹(α^(1/n)) whatever the model."""
    published = {100: 1.50, 1_000: 2.46, 10_000: 3.20, 100_000: 3.81}
    sigma, x = 1.0, torch.zeros(2)
    smooth = Smooth(two_class_linear((0.0, 0.0), 1.0), 2, sigma)          # every vote goes to class 1
    lines = []
    for n, value in published.items():
        cert = smooth.certify(x, N0, n, ALPHA, 10_000, torch.Generator().manual_seed(0))
        ratio = cert.radius / sigma
        lines.append(Line(_power(n), f"{ratio:.3f} σ", f"{value:.2f} σ", close(ratio, value, 0.005)))
    return ReceiptResult("", "The largest radius CERTIFY can return at α = 0.001 is 1.50σ (n = 100), 2.46σ (10³), "
                         "3.20σ (10⁴), 3.81σ (10⁵): all n votes agree, p̲_A = α^(1/n).",
                         "Cohen et al. (2019), CERTIFY and Sec. 4 (the cap on the radius); lecture, 'the σ trade-off'",
                         "± 0.005σ (the published values have two decimals)", tuple(lines),
                         View("boundaries", "spirals-mlp-s0.25", 0.5, (1.5, -0.5),
                              "far from the boundary the radius stops at the cap"),
                         setting=f"Smooth.certify on a constant classifier, n0 = {N0}, α = {ALPHA:g}, seed 0")


def predict_needs_eleven(scale: Scale) -> ReceiptResult:
    """PREDICT abstains when the two-sided binomial p-value of the top two counts exceeds α; with n votes the
    smallest p-value is 2·2⁻ⁿ, so n = 10 can never answer at α = 0.001."""
    smooth, x = Smooth(two_class_linear((0.0, 0.0), 1.0), 2, 0.25), torch.zeros(2)
    p10, p11 = binomial_pvalue(10, 0), binomial_pvalue(11, 0)
    at10 = smooth.predict(x, 10, ALPHA, generator=torch.Generator().manual_seed(0))
    at11 = smooth.predict(x, 11, ALPHA, generator=torch.Generator().manual_seed(0))
    smallest = next(n for n in range(1, 64) if binomial_pvalue(n, 0) <= ALPHA)
    lines = (Line("smallest p-value, n = 10", f"{p10:.5f}", "0.00195 > α", close(p10, 0.00195, 5e-6) and p10 > ALPHA),
             Line("PREDICT, n = 10, all votes agree", "abstain" if at10 == ABSTAIN else f"class {at10}", "abstain",
                  at10 == ABSTAIN),
             Line("PREDICT, n = 11, all votes agree", "abstain" if at11 == ABSTAIN else f"class {at11}",
                  f"class 1 (p = {p11:.5f} ≤ α)", at11 == 1),
             Line("smallest n that can answer", str(smallest), "11", smallest == 11))
    return ReceiptResult("", "PREDICT with n = 10 at α = 0.001 abstains on every input, by construction: the smallest "
                         "two-sided p-value is 0.00195 > α, so n ≥ 11 is needed.",
                         "Cohen et al. (2019), PREDICT; the reference implementation's users met it: "
                         "locuslab/smoothing issue #8",
                         "p-value ± 5·10⁻⁶; the abstain / answer outcomes exactly", lines,
                         View("boundaries", "moons-mlp-s0.25", 0.25, (1.0, 0.5), "PREDICT's votes in the inspector"),
                         setting="Smooth.predict on a constant classifier (the best case: unanimous votes), seed 0")


def linear_radius(scale: Scale) -> ReceiptResult:
    """A linear f: p_A = Φ(d/σ) exactly, so σ/2 (Φ⁻¹(p_A) − Φ⁻¹(p_B)) = d; CERTIFY's σ Φ⁻¹(p̲_A) climbs to d."""
    sigma, distance = 0.5, 0.6
    w, b = np.array([0.6, 0.8]), 0.0                                   # unit normal: w·x + b is the signed distance
    point = tuple(float(v) for v in distance * w)                     # on class 1's side, d from the line
    model = two_class_linear(tuple(w), b)
    base = grid.evaluate_base(model, (-2.0, 2.0, -2.0, 2.0), 201, max_sigma=sigma)
    exact = float(grid.exact_radius(grid.probabilities_at(base, point, sigma), sigma))
    pixel = max(base.view.spacing)
    lines = [Line("exact map (grid)", f"{exact:.4f}", f"d = {distance:.4f} ± {pixel:.2f}", close(exact, distance, pixel))]
    ns = (100, 1_000, 10_000, 100_000)                                 # cheap for a linear f: same at every scale
    smooth, radii = Smooth(model, 2, sigma), []
    for n in ns:
        cert = smooth.certify(torch.tensor(point), N0, n, ALPHA, 10_000, torch.Generator().manual_seed(1))
        radii.append(cert.radius)
        rising = len(radii) == 1 or radii[-1] > radii[-2]
        lines.append(Line(f"CERTIFY, {_power(n)}", f"{cert.radius:.4f}", "≤ d, rising", cert.radius <= distance and rising))
    gap = 1 - radii[-1] / distance
    limit = 0.05
    lines.append(Line(f"gap at {_power(ns[-1])}", f"{100 * gap:.1f}%", f"≤ {100 * limit:g}% of d", 0 <= gap <= limit))
    return ReceiptResult("", "A linear classifier's exact smoothed radius is its distance to the hyperplane; "
                         "CERTIFY's radius stays below it and approaches it as n grows.",
                         "Cohen et al. (2019), Theorem 1 and its tightness for linear classifiers (Sec. 3.1)",
                         f"exact map within one pixel ({pixel:.2f}); CERTIFY ≤ d at every n, rising with n, "
                         f"within {100 * limit:g}% of d at the largest n", tuple(lines),
                         View("boundaries", "moons-mlp-s0.25", 0.25, (-0.5, 0.5),
                              "the inspector compares CERTIFY's radius with the exact distance"),
                         note="The app's zoo has no linear model; the button opens the same comparison (Monte Carlo "
                              "radius vs exact radius vs true distance) on a trained MLP.",
                         setting=f"f(x) = 1[0.6 x₁ + 0.8 x₂ > 0], σ = {sigma:g}, d = {distance:g}, n0 = {N0}, "
                                 f"α = {ALPHA:g}, seed 1")
