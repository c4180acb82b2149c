"""THE receipts registry: every published number the product can recompute, once, in the order the page shows them.

Adding a receipt is one entry here: ``Receipt(key, title, check)`` with ``check(scale) -> ReceiptResult``
(``cert_core.receipts.base``). The Receipts page renders every entry as a card and the test suite runs every entry
at ``scale="test"`` and fails on a ✗ (tests/receipts/test_receipts.py).
"""
from __future__ import annotations

from cert_core.receipts import bernstein, cohen, ddrs, float_soundness, paths, sequential
from cert_core.receipts.base import Receipt

RECEIPTS: tuple[Receipt, ...] = (
    Receipt("radius-cap", "CERTIFY's largest radius", cohen.radius_cap),
    Receipt("predict-n10", "PREDICT needs n ≥ 11", cohen.predict_needs_eleven),
    Receipt("linear-radius", "Linear classifier: radius = distance", cohen.linear_radius),
    Receipt("per-input-sigma", "Per-input σ is not a certificate", ddrs.counterexample),
    Receipt("scrfp", "SC-RFP's radius is violated", paths.scrfp_violated),
    Receipt("bernstein", "Bernstein identities, root-finding", bernstein.identities_and_root_finding),
    Receipt("ddrs-table-1", "Per-input σ: more certified at larger radii", ddrs.table_direction),
    Receipt("sequential", "Sequential certification saves samples", sequential.samples_saved),
    Receipt("float-soundness", "Floating point can break a certificate", float_soundness.rounding_breaks_standard_smoothing),
)
BY_KEY = {r.key: r for r in RECEIPTS}


def receipt(key: str) -> Receipt:
    """The registered receipt ``key``; ValueError names the valid keys."""
    if key not in BY_KEY:
        raise ValueError(f"The 'key' parameter of receipt must be one of {tuple(BY_KEY)}. Got {key!r} instead.")
    return BY_KEY[key]
