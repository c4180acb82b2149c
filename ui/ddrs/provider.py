"""Per-input σ* (Alfarra et al., 2022): OptimizeSigma from the sidebar's σ, then CERTIFY at σ*.

Honest flags: the number is a valid (1 − α) radius for the classifier smoothed with the *fixed* σ*,
but not for the data-dependent classifier, whose σ changes inside the ball (Súkeník et al., 2022),
so it is an "estimate" with sound=False. The "Per-input σ" page shows the counterexample.
"""
from __future__ import annotations

import torch

from cert_core.methods.ddrs.sigma import SigmaConfig, certify_at_sigma, optimize_sigma
from cert_core.smoothing import ABSTAIN
from ui.inspector import InspectorContext, RadiusRow, register_provider

SALT = 7          # the provider's own seeded stream (see InspectorContext.generator)


@register_provider(order=60, name="ddrs_sigma_star", slow=True)
def sigma_star_row(ctx: InspectorContext) -> RadiusRow:
    cfg = SigmaConfig.preset("explorer", ctx.sigma)   # the paper's rule, fast enough for a click
    x = torch.tensor([ctx.point], dtype=torch.float32)                      # (1, 2)
    gen = ctx.generator(SALT)
    search = optimize_sigma(ctx.model, x, cfg, ctx.batch_size, gen)
    sigma_star = float(search.sigma[0])
    cert = certify_at_sigma(ctx.model, ctx.num_classes, x, [sigma_star], ctx.n0, ctx.n, ctx.alpha,
                            ctx.batch_size, gen)[0]
    how = (f"σ* = {sigma_star:.3f} from σ₀ = {cfg.sigma0:g}, OptimizeSigma with {cfg.describe()}; "
           f"CERTIFY at σ* is about g with that fixed σ only — no certificate for per-input σ without a "
           f"memory (Súkeník et al. 2022)")
    if cert.abstained:
        return RadiusRow("Per-input σ* (no memory)", 0.0, ABSTAIN, "estimate", False, "abstains; " + how)
    return RadiusRow("Per-input σ* (no memory)", cert.radius, cert.prediction, "estimate", False, how)
