"""SC-RFP: the network repressed around a centre x, and Cohen et al.'s smoothing of it.

Implements Algorithm 1 and Theorem 3 of Jiang, "On explaining neural network robustness with activation path"
(``shared/papers/activation-paths-float-neurons-sc-rfp.md``), on the networks and patterns of
``cert_core.methods.paths.neurons``.

* Algorithm 1 (SC-RFP): layer by layer, units whose pattern at x + ε differs from x are float and their
  pre-activations are scaled by (1 − η). ``ScRfpSmooth`` runs Cohen et al.'s PREDICT/CERTIFY on it.
  ``pool`` says which masks are repressed. "paper" (default): only the activations' masks I_i^T, as
  Algorithm 1 prints them (z_i before σ) and as APCT's DualNet does (its hooks sit on the blocks' ReLUs
  only; max-pool windows pass through untouched). "repress-max-pool": our extension that also treats a
  max-pool window whose arg-max moved as float and scales its output by (1 − η); on a CNN it changes the
  votes and p_A (see ``tests/test_paths.py``), so it is a named variant, never the default.
  NOT SOUND: the base function depends on x, so the radius certifies smooth(f_x) at x only, not the
  SC-RFP classifier at nearby points (see ``cert_core.methods.paths.audit``).

Shapes: N noisy points, D input shape, K classes; per neuron layer, U is the unit shape.
"""
from __future__ import annotations

import torch
from torch import nn

from cert_core.methods.paths.network import MaxPool, as_network, network_inputs
from cert_core.methods.paths.neurons import forward_patterns
from cert_core.smoothing import Certificate, Smooth
from cert_core.validation import check_choice, check_float, check_int

POOLS = ("paper", "repress-max-pool")   # SC-RFP: which neuron layers Algorithm 1 represses (see the docstring)


# ------------------------------------------------------------------------------ SC-RFP (Algorithm 1)
def center_patterns(model, center: torch.Tensor, batched: bool = False) -> list[torch.Tensor]:
    """The clean patterns of SC-RFP's centre x (D), or of one centre per row (N, *D) when ``batched``."""
    net = as_network(model)
    return forward_patterns(net, network_inputs(center, net, "scrfp_forward", single=not batched))[1]  # [(1|N, *U)]


def scrfp_forward(model, center, noisy: torch.Tensor, eta: float, pool: str = "paper") -> torch.Tensor:
    """Algorithm 1's inner loop: logits of the repressed network at ``noisy`` (N, *D) -> (N, K).

    ``center`` is x (D), or precomputed ``center_patterns`` (one centre, or one per row of ``noisy``). At every
    activation layer, units whose pattern at the (repressed) noisy input differs from the clean pattern at x
    have their pre-activation scaled by (1 − η) before the activation. Max-pooling is left as it is
    (pool="paper", Algorithm 1's masks), or, with pool="repress-max-pool", a window whose arg-max moved gives
    (1 − η) max (positive homogeneity). η = 0 gives f exactly.
    """
    eta = check_float(eta, "eta", "scrfp_forward", 0, 1)
    pool = check_choice(pool, "pool", "scrfp_forward", POOLS)
    net = as_network(model)
    clean = center if isinstance(center, list) else center_patterns(net, center)
    h = network_inputs(noisy, net, "scrfp_forward")
    layer = 0
    for s in net.steps:
        if isinstance(s, nn.Module):
            h = s(h)
            continue
        layer += 1
        if isinstance(s, MaxPool):
            if pool == "paper":
                h = s(h)                                                         # not a block of Algorithm 1
            else:
                floating = s.pattern(h) != clean[layer - 1]                       # (N, *U)
                h = torch.where(floating, (1.0 - eta) * s(h), s(h))
        else:
            floating = s.pattern(h) != clean[layer - 1]                           # (N, *U)
            h = s(torch.where(floating, (1.0 - eta) * h, h))
    return h


class Repressed(nn.Module):
    """f_x of SC-RFP: the network repressed relative to a fixed centre x; maps (B, *D) -> (B, K)."""

    def __init__(self, model, center: torch.Tensor, eta: float, pool: str = "paper"):
        super().__init__()
        self.net = as_network(model)
        self.register_buffer("center", torch.as_tensor(center).detach().clone())
        self.eta = check_float(eta, "eta", "Repressed", 0, 1)
        self.pool = check_choice(pool, "pool", "Repressed", POOLS)
        self.clean = center_patterns(self.net, self.center)
        self._params = nn.ParameterList([p for s in self.net.steps if isinstance(s, nn.Module) for p in s.parameters()])

    def forward(self, x):
        return scrfp_forward(self.net, self.clean, x, self.eta, self.pool)


class ScRfpSmooth:
    """The SC-RFP smoothed classifier g'(x) = argmax_c P(f_x(x + ε) = c) with PREDICT / CERTIFY.

    ``certify`` returns the radius the paper claims (Theorem 3: Cohen's formula on SC-RFP's counts).
    That radius is NOT a guarantee for g' at nearby points, whose base function f_{x'} differs.
    ``pool`` picks the masks: "paper" (Algorithm 1, the default) or the named "repress-max-pool" variant.
    """

    def __init__(self, model: nn.Module, num_classes: int, sigma: float, eta: float, pool: str = "paper"):
        self.net = as_network(model)
        self.num_classes = check_int(num_classes, "num_classes", "ScRfpSmooth", low=2)
        self.sigma = check_float(sigma, "sigma", "ScRfpSmooth", 0, None, low_open=True)
        self.eta = check_float(eta, "eta", "ScRfpSmooth", 0, 1)
        self.pool = check_choice(pool, "pool", "ScRfpSmooth", POOLS)

    def at(self, x: torch.Tensor) -> Smooth:
        """Cohen's smoothing of the repressed base function f_x of centre x."""
        return Smooth(Repressed(self.net, x, self.eta, self.pool), self.num_classes, self.sigma)

    def predict(self, x, n: int, alpha: float, batch_size: int = 1000, generator=None) -> int:
        return self.at(torch.as_tensor(x)).predict(x, n, alpha, batch_size, generator)

    def certify(self, x, n0: int, n: int, alpha: float, batch_size: int = 1000, generator=None) -> Certificate:
        return self.at(torch.as_tensor(x)).certify(x, n0, n, alpha, batch_size, generator)

    def certify_batch(self, xs, n0: int, n: int, alpha: float, batch_size: int = 1000,
                      generator=None) -> list[Certificate]:
        return [self.certify(x, n0, n, alpha, batch_size, generator) for x in torch.as_tensor(xs)]
