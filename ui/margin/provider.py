"""Lipschitz-based radii in the inspector: the lecture's Theorem 0, the margin CR (SRA Eq. 6) and the margin
smoothed CR (SRA Eq. 5) by Monte Carlo (with a confidence bound) and in closed form (Eq. 7).

The Monte Carlo MSCR row is a sound certificate (probability 1 - alpha) about a *different* classifier than
the other smoothed rows: the mean-logit smoothed classifier argmax E[o(x+ε)], not Cohen's majority vote g;
its ``classifier`` says so, which also keeps it out of the audit against g's exact radius."""
from __future__ import annotations

import torch

from cert_core.methods.margin import radii as mg
from cert_core.methods.lipschitz.bounds import lipschitz_upper_bound
from ui.inspector import InspectorContext, RadiusRow, register_provider


def _lipschitz(ctx: InspectorContext) -> float | None:
    """The network's Lipschitz bound K, computed once per model (every row and point shares it)."""
    def compute() -> float | None:
        try:
            return lipschitz_upper_bound(ctx.model, (2,))
        except ValueError:
            return None  # unsupported layers: the rows below do not apply
    return ctx.per_model("lipschitz_bound", compute)


def _k_note(k: float) -> str:
    if k <= 1.01:
        return f"K ≤ {k:.4f} (1-Lipschitz network)"
    return (f"K ≤ {k:.3g}: a product of layer spectral norms, loose for an unconstrained network, so the "
            "radius is small; it is still a guarantee")


def _point(ctx) -> torch.Tensor:
    return torch.tensor([ctx.point], dtype=torch.float32)  # (1, 2)


@register_provider(order=60, name="lipschitz_theorem0")
def theorem0(ctx: InspectorContext) -> RadiusRow | None:
    k = _lipschitz(ctx)
    if k is None:
        return None
    with torch.no_grad():
        logits = ctx.model(_point(ctx))
    r = float(mg.theorem0_radius(torch.softmax(logits, 1), mg.SOFTMAX_LIPSCHITZ * k)[0])
    return RadiusRow("Lipschitz, Theorem 0", r, int(logits.argmax()), "certificate", True,
                     f"(P_A − P_B)/(2L) on softmax outputs, L = K/2; {_k_note(k)}", classifier="base")


@register_provider(order=61, name="margin_cr")
def margin_cr(ctx: InspectorContext) -> RadiusRow | None:
    k = _lipschitz(ctx)
    if k is None:
        return None
    with torch.no_grad():
        logits = ctx.model(_point(ctx))
    pred = logits.argmax(1)
    r = float(mg.mcr(logits, pred, k).clamp_min(0)[0])
    return RadiusRow("Margin CR (MCR, Eq. 6)", r, int(pred), "certificate", True,
                     f"−(o_m − o_c)/(√2 K); {_k_note(k)}", classifier="base")


def _mean_logit_class(ctx) -> int:
    """Selection with a separate sample (like CERTIFY's n0): the class of the mean logits."""
    gen = ctx.generator(salt=61)
    with torch.no_grad():
        noisy = _point(ctx) + ctx.sigma * torch.randn((ctx.n0, 2), generator=gen)
        return int(ctx.model(noisy).mean(0).argmax())


@register_provider(order=62, name="mscr_monte_carlo")
def mscr_monte_carlo(ctx: InspectorContext) -> RadiusRow | None:
    k = _lipschitz(ctx)
    if k is None:
        return None
    c = _mean_logit_class(ctx)
    samples = mg.smoothed_margin_mc(ctx.model, _point(ctx), torch.tensor([c]), ctx.sigma, n=ctx.n,
                                    batch_size=ctx.batch_size, generator=ctx.generator(salt=62))
    r = float(mg.mscr_certificate(samples, k, ctx.sigma, ctx.alpha)[0])
    # Sound (prob. >= 1 - alpha) for the mean-logit classifier h(x) = argmax E[o(x+ε)]: E[o] is K-Lipschitz and
    # Ū is a Gaussian-concentration upper bound on its margin. It is NOT about the majority vote g that the
    # table's "smoothed" rows (and its exact-radius audit) describe, so the row names its own classifier.
    note = (f"guaranteed (prob. ≥ {1 - ctx.alpha:g}) for the mean-logit smoothed classifier argmax E[o(x+ε)], "
            "not for the majority vote g on the map (that holds only under the paper's symmetric-output "
            f"assumption, Prop. 3); −Ū/(√2 K), Ū an upper confidence bound on the smoothed margin "
            f"(mean {float(samples.mean[0]):.3f}, {ctx.n:,} samples); {_k_note(k)}")
    return RadiusRow("MSCR, Monte Carlo (Eq. 5)", r, c, "certificate", True, note, classifier="mean-logit smoothed")


@register_provider(order=63, name="mscr_closed_form")
def mscr_closed_form(ctx: InspectorContext) -> RadiusRow | None:
    k = _lipschitz(ctx)
    if k is None:
        return None
    x = _point(ctx)
    try:
        with torch.no_grad():
            mean, _ = mg.propagate_moments(ctx.model, x, ctx.sigma)
            c = mean.argmax(1)
            r = float(mg.mscr_closed_form(ctx.model, x, c, ctx.sigma, k).clamp_min(0)[0])
    except ValueError:
        return None  # layers moment propagation does not support (pooling)
    return RadiusRow("MSCR, closed form (Eq. 7)", r, int(c), "estimate", False,
                     "ReLU moment propagation + two-largest-output normal approximation; no guarantee",
                     classifier="mean-logit smoothed")
