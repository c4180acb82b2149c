"""Receipt for SC-RFP (Rodrigues Crespo & Teramae, Alg. 1): its radius is not a certificate, because the base
function it smooths depends on the centre x. Shown on the 2-neuron network built for it and on a zoo model at
η = 1, with the exact 2D soundness audit the Activation paths page runs (``cert_core.methods.paths.audit``).
"""
from __future__ import annotations

import numpy as np

from cert_core.methods.paths import audit
from cert_core.models.data import load_dataset
from cert_core.models.zoo import load_zoo_model
from cert_core.receipts.base import Line, ReceiptResult, Scale, View

SIGMA, ETA, ALPHA = 0.25, 1.0, 0.001
ZOO_MODEL = "moons-mlp-s0.25"
# scale -> (test points whose SC-RFP ball the exact audit breaks at seed 0, search grid per axis)
ZOO_AUDIT = {"page": ((1, 5), 17), "test": ((5,), 9)}


def _line(label: str, result: audit.AuditResult, expect_violation: bool) -> Line:
    worst = result.worst()
    ours = (f"{result.violations}/{result.certified} balls broken"
            + (f"; class {worst.counter_prediction} at {worst.distance:.2f} < R = {worst.radius:.2f}" if worst else ""))
    ok = result.violations > 0 if expect_violation else result.violations == 0
    return Line(label, ours, "a violation" if expect_violation else "no violation", ok)


def scrfp_violated(scale: Scale) -> ReceiptResult:
    net, x = audit.constructed_network(), np.array([[0.3, 0.0]])
    lines = [_line("constructed net, SC-RFP η = 1", audit.audit_2d(net, x, 2, SIGMA, ETA, 100, 2000, ALPHA, 25), True),
             _line("constructed net, Cohen et al.", audit.audit_2d(net, x, 2, SIGMA, None, 100, 2000, ALPHA, 25), False)]
    loaded = load_zoo_model(ZOO_MODEL)
    data = load_dataset(**loaded.metadata["dataset"])
    indices, resolution = ZOO_AUDIT[scale]
    xs = data.x_test[list(indices)]
    for eta, label in ((ETA, f"{ZOO_MODEL}, SC-RFP η = 1"), (None, f"{ZOO_MODEL}, Cohen et al.")):
        lines.append(_line(label, audit.audit_2d(loaded.model.eval(), xs, data.num_classes, SIGMA, eta, 100, 1000,
                                                 ALPHA, resolution), eta is not None))
    points = ", ".join(str(i) for i in indices)
    return ReceiptResult("", "SC-RFP's radius is violated: inside the claimed ball the same SC-RFP classifier predicts "
                         "another class (its base function changes with the centre); Cohen et al.'s radius passes "
                         "the same audit.",
                         "Rodrigues Crespo & Teramae, Algorithm 1 (SC-RFP) and its radius; audit: this product "
                         "(bench/RESULTS.md, 'SC-RFP soundness audit')",
                         "exact: another class wins by more than twice the grid's probability slack (0.4 h/σ)",
                         tuple(lines), View("paths", ZOO_MODEL, SIGMA, None, "the soundness audit and the constructed net"),
                         setting=f"σ = {SIGMA:g}, α = {ALPHA:g}, seed 0; constructed net at (0.3, 0), n = 2000, "
                                 f"25×25 search; {ZOO_MODEL} test points {points}, n = 1000, {resolution}×{resolution} search"
                                 + ("" if scale == "page" else " (test setting; the page audits points 1, 5 on 17×17)"))
