"""Margin-based certificates: Theorem 0, MCR (Eq. 6), MSCR (Eq. 5, 7) and the RS lower bound (Eq. 8-9).

References: the lecture's Theorem 0 (Lipschitz certificate on probability outputs) and "Smoothed Robustness
Analysis" (Rodrigues Crespo & Teramae, SRA): margin loss Eq. 4, MSCR Eq. 5, MCR Eq. 6, closed-form smoothed
margin Eq. 7 (App. A.3), Zhen's P_c Eq. 8 and the RS radius lower bound Eq. 9, ReLU moments App. A.5 and
their propagation App. C.2. p = 2 throughout, so alpha_2 = sqrt(2) (Prop. 5).

What is guaranteed (K = a guaranteed Lipschitz upper bound of the logit map, ``lipschitz_upper_bound``):

* ``theorem0_radius`` and ``mcr``: deterministic certificates for the BASE classifier argmax o(x).
* ``mscr_certificate`` (Monte Carlo): with probability >= 1 - alpha, every x + delta, ||delta|| < radius, has
  a negative smoothed margin, so the MEAN-LOGIT smoothed classifier argmax_k E[o_k(x + eps)] predicts c
  (max_i E o_i <= E max_i o_i < E o_c). The confidence bound is Gaussian concentration of the sqrt(2) K-
  Lipschitz margin. It says the majority-vote smoothed classifier of Cohen et al. predicts c only under the
  paper's symmetric-output assumption (Prop. 3), which is not guaranteed: the app audits it.
* ``smoothed_margin_closed_form`` / ``mscr_closed_form`` (Eq. 7) and ``zhen_probability`` /
  ``rs_radius_lower_bound`` (Eq. 8-9): ESTIMATES under the assumption that the outputs are independent
  normals with the moments propagated through the network as if every unit were independent (C.2). No
  guarantee; the tests measure how close they are to Monte Carlo on orthogonal networks.
  ``mscr_closed_form_audit`` measures how often Eq. 7 over-claims against the Monte Carlo MSCR: with more than
  two classes it keeps only the top two incorrect outputs and over-claims on most points.

Shapes: x (B, *D), logits (B, K), labels (B,) int64, per-example results (B,).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from cert_core.models.architectures import Normalize
from cert_core.models.orthogonal import BjorckLinear
from cert_core.validation import check_finite_scores, check_float, check_int
from cert_core.tensors import flat_layers

SQRT2 = math.sqrt(2.0)  # alpha_2 of Eq. 5-6: the margin of a K-Lipschitz map is sqrt(2) K-Lipschitz
SOFTMAX_LIPSCHITZ = 0.5  # ||J_softmax||_2 <= 1/2: v^T (diag p - p p^T) v = Var_p(v) <= (max v - min v)^2 / 4 <= |v|^2 / 2


def margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 4: o_m - o_c, m the largest incorrect class. Negative iff c is the (strict) argmax."""  # (B,)
    correct = logits.gather(1, labels[:, None])[:, 0]
    others = logits.scatter(1, labels[:, None], float("-inf"))
    return others.max(dim=1).values - correct


def theorem0_radius(probs: torch.Tensor, lipschitz: float) -> torch.Tensor:
    """Lecture Theorem 0: (P_A - P_B) / (2 L) for an L-Lipschitz probability map f. GUARANTEE for argmax f.

    For f = softmax(o) with o K-Lipschitz, L = K / 2 (``SOFTMAX_LIPSCHITZ``).
    """  # probs (B, K) -> (B,)
    check_float(lipschitz, "lipschitz", "theorem0_radius", low=0.0, low_open=True)
    top2 = probs.topk(2, dim=1).values
    return (top2[:, 0] - top2[:, 1]) / (2.0 * lipschitz)


def mcr(logits: torch.Tensor, labels: torch.Tensor, lipschitz: float) -> torch.Tensor:
    """Eq. 6, -L_M / (sqrt(2) K): the margin certified radius of the BASE classifier (a GUARANTEE when K is
    an upper bound of the logit Lipschitz constant). Negative for misclassified points (kept for losses;
    a certificate clips it at 0)."""  # (B,)
    check_float(lipschitz, "lipschitz", "mcr", low=0.0, low_open=True)
    return -margin(logits, labels) / (SQRT2 * lipschitz)


def relu_moments(mean: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """App. A.5: mean and variance of ReLU(s), s ~ N(mean, var) (the rectified Gaussian), elementwise.

    h_bar = sigma phi(mu/sigma) + mu Phi(mu/sigma);  Var = sigma^2 Phi(mu/sigma) - h_bar (h_bar - mu).
    var == 0 gives the deterministic limit (ReLU(mu), 0). Differentiable.
    """
    std = var.clamp_min(0).sqrt()
    safe = torch.where(std > 0, std, torch.ones_like(std))
    z = mean / safe
    cdf, pdf = torch.special.ndtr(z), torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    h = std * pdf + mean * cdf
    v = (var * cdf - h * (h - mean)).clamp_min(0)
    return torch.where(std > 0, h, mean.clamp_min(0)), torch.where(std > 0, v, torch.zeros_like(v))


def _leaky_moments(mean, var, slope):
    """h = ReLU(s) - a ReLU(-s): E h = m+ - a m-, E h^2 = q+ + a^2 q-, with q- = E s^2 - q+ (disjoint supports)."""
    m_pos, v_pos = relu_moments(mean, var)
    m_neg = m_pos - mean  # E ReLU(-s) = E ReLU(s) - E s
    q_pos = v_pos + m_pos ** 2
    q_neg = (var + mean ** 2 - q_pos).clamp_min(0)
    h = m_pos - slope * m_neg
    return h, (q_pos + slope ** 2 * q_neg - h ** 2).clamp_min(0)


def propagate_moments(model: nn.Module, x: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """App. C.2: mean and variance of the logits o(x + eps), eps ~ N(0, sigma^2 I), by diagonal moment
    propagation (units treated as independent normals; exact for the first affine layer, an approximation
    after each ReLU that is good for orthogonal weights). Differentiable in the weights and in x."""
    check_float(sigma, "sigma", "propagate_moments", low=0.0)
    mean, var = x, torch.full_like(x, sigma ** 2)
    for i, layer in enumerate(_layers(model)):
        if isinstance(layer, nn.Flatten):
            mean, var = layer(mean), layer(var)
        elif isinstance(layer, Normalize):
            mean, var = layer(mean), var / layer.std ** 2
        elif isinstance(layer, (nn.Linear, BjorckLinear)):
            w = layer.ortho_weight() if isinstance(layer, BjorckLinear) else layer.weight
            mean, var = nn.functional.linear(mean, w, layer.bias), nn.functional.linear(var, w * w)
        elif isinstance(layer, nn.Conv2d):
            mean, var = layer(mean), layer._conv_forward(var, layer.weight * layer.weight, None)
        elif isinstance(layer, nn.ReLU):
            mean, var = relu_moments(mean, var)
        elif isinstance(layer, nn.LeakyReLU):
            mean, var = _leaky_moments(mean, var, layer.negative_slope)
        elif isinstance(layer, (nn.Identity, nn.Dropout)):
            continue
        else:
            raise ValueError(f"Layer {i} ({type(layer).__name__}) is not supported by moment propagation "
                             "(Linear, BjorckLinear, Conv2d, ReLU, LeakyReLU, Flatten, Normalize only; the paper "
                             "avoids pooling because it skews the pre-activations, App. C.1).")
    return mean, var


def _layers(model):
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"The 'model' parameter of propagate_moments must be an nn.Sequential. "
                         f"Got {type(model).__name__} instead.")
    return flat_layers(model)


def _top_two_incorrect(mean, var, labels):
    masked = mean.scatter(1, labels[:, None], float("-inf"))
    idx = masked.topk(2, dim=1).indices  # (B, 2)
    return mean.gather(1, idx), var.gather(1, idx)


def expected_max_normal(mu1, var1, mu2, var2):
    """E[max(X1, X2)] for independent normals (Clark 1961), the core of Eq. 7:
    sqrt(s^2 / 2pi) exp(-(mu1-mu2)^2 / 2s^2) + mu2 + (mu1-mu2)/2 (1 + erf((mu1-mu2) / sqrt(2) s)), s^2 = var1 + var2."""
    s2 = var1 + var2
    s = s2.clamp_min(1e-24).sqrt()
    d = mu1 - mu2
    smooth = s * torch.exp(-0.5 * (d / s) ** 2) / math.sqrt(2 * math.pi) + mu2 + d * torch.special.ndtr(d / s)
    return torch.where(s2 > 0, smooth, torch.maximum(mu1, mu2))


def smoothed_margin_from_moments(mean, var, labels):
    """Eq. 7 from output moments (B, K): the two largest incorrect outputs' expected max minus mu_c."""  # (B,)
    mu_c = mean.gather(1, labels[:, None])[:, 0]
    if mean.shape[1] == 2:  # one incorrect class: E[o_m] = mu_m exactly
        return mean.scatter(1, labels[:, None], float("-inf")).max(dim=1).values - mu_c
    mu, v = _top_two_incorrect(mean, var, labels)
    return expected_max_normal(mu[:, 0], v[:, 0], mu[:, 1], v[:, 1]) - mu_c


def smoothed_margin_closed_form(model, x, labels, sigma):
    """Eq. 7 with moments from ``propagate_moments``: an ESTIMATE of E[L_M(x + eps, c)] (normality assumed)."""
    mean, var = propagate_moments(model, x, sigma)
    return smoothed_margin_from_moments(mean, var, labels)


def _zhen_ratio(mean, var, labels):
    """(mu_c - mu_1) / sqrt(var_c + var_1), mu_1 the largest incorrect mean; +-inf when the variance is 0."""
    mu_c, v_c = mean.gather(1, labels[:, None])[:, 0], var.gather(1, labels[:, None])[:, 0]
    top = mean.scatter(1, labels[:, None], float("-inf")).max(dim=1)
    diff, s2 = mu_c - top.values, v_c + var.gather(1, top.indices[:, None])[:, 0]
    return torch.where(s2 > 0, diff / s2.clamp_min(1e-30).sqrt(), torch.sign(diff) * math.inf)


def zhen_probability(mean, var, labels):
    """Eq. 8: P_c ~ Phi((mu_c - mu_1) / sqrt(var_c + var_1)), an ESTIMATE under independent normal outputs."""
    return torch.special.ndtr(_zhen_ratio(mean, var, labels))  # (B,)


def rs_radius_lower_bound(mean, var, labels, sigma):
    """Eq. 9: sigma (mu_c - mu_1) / sqrt(var_c + var_1), Zhen's closed form of sigma Phi^-1(P_c) <= the Cohen
    radius. An ESTIMATE (it rests on Eq. 8). Negative when P_c < 1/2; 0 at sigma = 0."""
    check_float(sigma, "sigma", "rs_radius_lower_bound", low=0.0)
    if sigma == 0:
        return torch.zeros(mean.shape[0], dtype=mean.dtype, device=mean.device)
    return sigma * _zhen_ratio(mean, var, labels)  # (B,)


@dataclass(frozen=True)
class MarginSamples:
    mean: torch.Tensor  # (B,) Monte Carlo mean of L_M(x + eps, c)
    std: torch.Tensor  # (B,) sample standard deviation
    n: int  # samples per input


def smoothed_margin_mc(model, x, labels, sigma, n=1000, batch_size=10_000, generator=None) -> MarginSamples:
    """Monte Carlo estimate of the smoothed margin E[L_M(x + eps, c)], eps ~ N(0, sigma^2 I) (Eq. 5's L-bar)."""
    func = "smoothed_margin_mc"
    check_float(sigma, "sigma", func, low=0.0)
    check_int(n, "n", func, low=2)
    check_int(batch_size, "batch_size", func, low=1)
    means, stds = [], []
    with torch.no_grad():
        for xi, ci in zip(x, labels):
            vals = []
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                noise = torch.randn((m, *xi.shape), generator=generator, dtype=xi.dtype).to(xi.device)
                logits = model(xi[None] + sigma * noise)                                  # (m, K)
                check_finite_scores(logits, "noisy samples of a batch")  # an inf logit: an infinite radius
                vals.append(margin(logits, ci.repeat(m)))
            v = torch.cat(vals)
            means.append(v.mean())
            stds.append(v.std())
    return MarginSamples(torch.stack(means), torch.stack(stds), n)


def mscr_certificate(samples: MarginSamples, lipschitz: float, sigma: float, alpha: float) -> torch.Tensor:
    """Eq. 5 with a sound Monte Carlo smoothed margin: radius = -U / (sqrt(2) K), clipped at 0, where
    U = mean + sigma sqrt(2) K sqrt(2 ln(1/alpha) / n) is a (1 - alpha) upper confidence bound on the smoothed
    margin (the margin is sqrt(2) K-Lipschitz in eps, so the sample mean is sub-Gaussian with variance proxy
    2 K^2 sigma^2 / n). GUARANTEE with probability >= 1 - alpha for the mean-logit smoothed classifier."""
    func = "mscr_certificate"
    check_float(lipschitz, "lipschitz", func, low=0.0, low_open=True)
    check_float(sigma, "sigma", func, low=0.0)
    check_float(alpha, "alpha", func, low=0.0, high=1.0, low_open=True, high_open=True)
    upper = samples.mean + sigma * SQRT2 * lipschitz * math.sqrt(2 * math.log(1 / alpha) / samples.n)
    return (-upper / (SQRT2 * lipschitz)).clamp_min(0)


def mscr_closed_form(model, x, labels, sigma, lipschitz) -> torch.Tensor:
    """Eq. 5 with Eq. 7: -L-bar_M / (sqrt(2) K), unclipped. An ESTIMATE (normality assumption)."""
    check_float(lipschitz, "lipschitz", "mscr_closed_form", low=0.0, low_open=True)
    return -smoothed_margin_closed_form(model, x, labels, sigma) / (SQRT2 * lipschitz)


@dataclass(frozen=True)
class ClosedFormAudit:
    """Eq. 7's MSCR against the Monte Carlo MSCR (Eq. 5) on the same points (``mscr_closed_form_audit``).

    Sign convention: L_M = o_m - o_c (Eq. 4), so a NEGATIVE smoothed margin means c wins on average and gives
    the positive radius -L_M / (sqrt(2) K)."""
    closed: torch.Tensor        # (B,) Eq. 7 radius, unclipped
    mc: torch.Tensor            # (B,) Monte Carlo radius -mean / (sqrt(2) K), unclipped (point estimate)
    mc_upper: torch.Tensor      # (B,) the largest MSCR radius within the Monte Carlo error (margin - slack)
    margin_mean: torch.Tensor   # (B,) Monte Carlo smoothed margin
    margin_slack: torch.Tensor  # (B,) its error: Phi^-1(1 - alpha) standard errors
    num_classes: int
    n: int                      # noise samples per point
    alpha: float

    @property
    def over_claims(self) -> torch.Tensor:
        """(B,) bool: Eq. 7 claims a positive radius above every MSCR radius the samples allow."""
        return (self.closed > 0) & (self.closed > self.mc_upper.clamp_min(0) + 1e-6)   # 1e-6: float noise at sigma 0

    @property
    def over_claim_rate(self) -> float:
        return float(self.over_claims.double().mean()) if self.closed.numel() else 0.0

    @property
    def median_excess(self) -> float:
        """Median of (Eq. 7 - Monte Carlo radius) / Monte Carlo radius over the over-claims (0 if none)."""
        over = self.over_claims & (self.mc > 0)
        return float(((self.closed - self.mc) / self.mc)[over].median()) if over.any() else 0.0

    @property
    def wrong_side(self) -> torch.Tensor:
        """(B,) bool: Eq. 7's radius is positive though the smoothed margin is >= 0 beyond its Monte Carlo
        error (c does not win on average, the true MSCR is 0)."""
        return (self.closed > 0) & (self.margin_mean - self.margin_slack >= 0)


def mscr_closed_form_audit(model, x, labels, sigma: float, lipschitz: float, n: int = 1000, alpha: float = 0.001,
                           generator=None) -> ClosedFormAudit:
    """Where Eq. 7's closed-form MSCR over-claims: compare it with the Monte Carlo MSCR of the same points.

    Eq. 7 keeps only the two largest incorrect outputs, so E max_i o_i is under-estimated whenever a third class
    can win under noise: with more than two classes the smoothed margin comes out too negative and the radius
    too large (the moment propagation of C.2 adds its own error after the first ReLU layer). An over-claim must
    exceed the largest Monte Carlo radius within Phi^-1(1 - alpha) standard errors of the sample mean (a per-point
    test at level ~alpha: this audits an estimate, it certifies nothing). ValueError for layers that moment
    propagation does not support (e.g. max-pooling)."""
    func = "mscr_closed_form_audit"
    check_float(lipschitz, "lipschitz", func, low=0.0, low_open=True)
    check_float(sigma, "sigma", func, low=0.0)
    check_float(alpha, "alpha", func, low=0.0, high=1.0, low_open=True, high_open=True)
    with torch.no_grad():
        closed = mscr_closed_form(model, x, labels, sigma, lipschitz)
        k_out = model(x[:1]).shape[1]
    samples = smoothed_margin_mc(model, x, labels, sigma, n=n, generator=generator)
    slack = float(torch.special.ndtri(torch.tensor(1 - alpha, dtype=torch.float64))) * samples.std / math.sqrt(n)
    scale = SQRT2 * lipschitz
    return ClosedFormAudit(closed, -samples.mean / scale, -(samples.mean - slack) / scale, samples.mean, slack,
                           int(k_out), samples.n, alpha)
