"""SC-RFP (Jiang, Algorithm 1 + Theorem 3) in the point inspector: the radius the paper claims, flagged.

The number is Cohen et al.'s formula on SC-RFP's votes at the point. It is an "estimate" with
sound=False: SC-RFP's base function f_x depends on x, so the radius certifies smooth(f_x) at x only,
not the SC-RFP classifier at nearby points, which use their own f_{x'}. The row's note reports the
nearest counterexample that an exact grid search inside the claimed ball finds (``cert_core.methods.paths.audit``).
The inspector uses η = 0.25 (``DEFAULT_ETA``, the paper's best repression rate, Table 5) and Algorithm 1's
masks as printed (``DEFAULT_POOL`` = "paper": ReLU masks only, max-pool windows untouched).
"""
from __future__ import annotations

import numpy as np
import torch

from cert_core.methods.paths import audit
from cert_core.methods.paths.network import as_network
from cert_core.methods.paths.scrfp import ScRfpSmooth
from cert_core.smoothing import ABSTAIN
from ui.inspector import InspectorContext, RadiusRow, register_provider

SALT = 61
DEFAULT_ETA = 0.25
DEFAULT_POOL = "paper"
SEARCH_RESOLUTION = 15     # query grid per axis over the claimed ball (about 170 points)


@register_provider(order=70, name="scrfp_claimed_radius", slow=True)
def scrfp_row(ctx: InspectorContext) -> RadiusRow | None:
    try:
        as_network(ctx.model)
    except ValueError:
        return None  # SC-RFP needs a piecewise-linear network (e.g. not Björck layers or smooth activations)
    eta, pool = DEFAULT_ETA, DEFAULT_POOL
    smooth = ScRfpSmooth(ctx.model, ctx.num_classes, ctx.sigma, eta, pool)
    x = torch.tensor(ctx.point, dtype=torch.float32)
    cert = smooth.certify(x, ctx.n0, ctx.n, ctx.alpha, ctx.batch_size, ctx.generator(SALT))
    name = f"{audit.method_name(eta, pool)}, unsound"
    if cert.abstained:
        return RadiusRow(name, 0.0, ABSTAIN, "estimate", False, f"abstains: p̲'_A = {cert.p_lower:.4f} < 1/2")
    found = audit.audit_point(0, np.array(ctx.point), cert, ctx.model, ctx.sigma, eta, SEARCH_RESOLUTION, None,
                              pool)
    why = "f_x depends on x: the radius is about smooth(f_x) at x, not SC-RFP at nearby points"
    if found.violated:
        cx, cy = found.counterexample
        note = (f"{why}; counterexample at distance {found.distance:.3f} < {cert.radius:.3f}: SC-RFP predicts "
                f"class {found.counter_prediction} at ({cx:.3f}, {cy:.3f}) (exact, margin {found.margin:.2f})")
    else:
        note = f"{why}; the exact search ({found.checked} points) found no counterexample here — still no proof"
    return RadiusRow(name, cert.radius, cert.prediction, "estimate", False, note)
