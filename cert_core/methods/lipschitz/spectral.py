"""Guaranteed spectral norms of single layers: Linear, BjorckLinear and Conv2d (``spectral_norm``), and pools.

Used by ``cert_core.methods.lipschitz.bounds`` (the network's bound is the product of these per-layer bounds).

Per layer, ``spectral_norm`` returns two numbers:

* ``estimate``: power iteration on A^T A (A the layer's linear operator on the given input shape, bias
  dropped). It is ||A v|| for a unit v, hence a LOWER bound on ||A||_2; it stops when the relative change
  of the estimate is <= ``tol`` (default 1e-6) or after ``max_iter`` steps (``converged`` says which).
* ``upper``: a GUARANTEED upper bound (exact arithmetic; computed in float64 and inflated by a relative
  1e-6 against rounding). When the operator has at most ``MAX_DENSE`` entries it is the Gram iteration
  bound ||A||_2 <= ||G_k||_F^(1/2^k), G_0 = A, G_{j+1} = G_j^T G_j (Delattre et al. 2023), which is within
  a factor rank^(1/2^(k+1)) of the truth (< 1.0001 for k = 16); otherwise the Schur bound
  sqrt(||A||_1 ||A||_inf) from absolute row and column sums, which is cheap but looser.

Pools: an AvgPool2d is linear too; its bound is the norm of the operator the layer itself computes (its
real divisors under padding, ``count_include_pad``, ``ceil_mode`` and ``divisor_override``), not of a
kh*kw average. A MaxPool2d's constant is exactly sqrt(most windows holding one input pixel).

Shapes: ``input_shape`` excludes the batch dimension, e.g. (2,) or (1, 8, 8).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cert_core.models.orthogonal import BjorckLinear
from cert_core.validation import check_float, check_int

MAX_DENSE = 1 << 23  # operators with at most this many entries get the tight Gram-iteration bound
ROUNDING_SLACK = 1e-6  # relative inflation of every upper bound against floating-point error
GRAM_STEPS = 16
POOL_DENSE = 1 << 18  # a pool plane this small also gets the Gram bound: 16 squarings of <= 512^2 stay cheap
POOL_POWER_STEPS = 50  # power steps for a pool's lower estimate (started from the constant image)


@dataclass(frozen=True)
class SpectralNorm:
    estimate: float  # power-iteration value: a lower bound on ||A||_2 (up to float rounding)
    upper: float  # a guaranteed upper bound on ||A||_2
    iterations: int  # power-iteration steps used
    converged: bool  # relative change <= tol before max_iter
    method: str  # how ``upper`` was obtained: "gram" | "schur" | "exact"


def _gram_bound(mat: torch.Tensor, steps: int = GRAM_STEPS) -> float:
    """||mat||_2 <= ||G_k||_F^(1/2^k) with per-step rescaling (log domain) so nothing overflows."""
    g = mat.double()
    if g.shape[0] < g.shape[1]:
        g = g.T
    log_scale = 0.0
    for _ in range(steps):
        f = float(g.norm())
        if f == 0.0:
            return 0.0
        g, log_scale = g / f, log_scale + math.log(f)
        g, log_scale = g.T @ g, 2.0 * log_scale
    f = float(g.norm())
    return 0.0 if f == 0.0 else math.exp((log_scale + math.log(f)) / 2 ** steps)


def _power_iteration(op, adjoint, shape, tol, max_iter, generator, start=None) -> tuple[float, int, bool]:
    v = torch.randn((1, *shape), generator=generator, dtype=torch.float64) if start is None else start
    v = v / v.norm()
    est, it = 0.0, 0
    for it in range(1, max_iter + 1):
        u = op(v)
        new = float(u.norm())
        w = adjoint(u)
        norm_w = float(w.norm())
        if norm_w == 0.0:
            return new, it, True
        v = w / norm_w
        if abs(new - est) <= tol * max(new, 1e-300):
            return new, it, True
        est = new
    return est, it, False


def _operator(layer: nn.Module, shape: tuple[int, ...]):
    """The bias-free linear map of a Linear/Conv2d/BjorckLinear layer in float64, and its adjoint."""
    if isinstance(layer, nn.Conv2d):
        conv = copy.deepcopy(layer).double().cpu()
        conv.bias = None
        weight = conv.weight.detach()

        def op(x):
            return conv._conv_forward(x, weight, None)
    else:
        weight = (layer.ortho_weight() if isinstance(layer, BjorckLinear) else layer.weight).detach().double().cpu()

        def op(x):
            return x.reshape(x.shape[0], -1) @ weight.T

    def adjoint(y):
        x = torch.zeros((1, *shape), dtype=torch.float64, requires_grad=True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(op(x), x, grad_outputs=y)
        return grad
    return op, adjoint, weight


def _schur_bound(layer: nn.Module, shape) -> float:
    """sqrt(max abs row sum * max abs column sum) of the operator, via the same op with |W|."""
    abs_layer = copy.deepcopy(layer).double().cpu()
    with torch.no_grad():
        abs_layer.weight.abs_()
    op, adjoint, _ = _operator(abs_layer, shape)
    ones_in = torch.ones((1, *shape), dtype=torch.float64)
    with torch.no_grad():
        out = op(ones_in)
    rows = float(out.max())
    cols = float(adjoint(torch.ones_like(out)).max())
    return math.sqrt(max(rows, 0.0) * max(cols, 0.0))


def spectral_norm(layer: nn.Module, input_shape: tuple[int, ...], tol: float = 1e-6, max_iter: int = 1000,
                  seed: int = 0) -> SpectralNorm:
    """||A||_2 of a Linear, BjorckLinear or Conv2d layer acting on inputs of ``input_shape`` (see module doc).

    For Conv2d the operator depends on the input size, padding and stride, so the norm is that of the
    layer on this shape (not the kernel's). Deterministic for a fixed ``seed``.
    """
    func = "spectral_norm"
    if not isinstance(layer, (nn.Linear, nn.Conv2d, BjorckLinear)):
        raise ValueError(f"The 'layer' parameter of {func} must be a Linear, BjorckLinear or Conv2d layer. "
                         f"Got {type(layer).__name__} instead.")
    check_float(tol, "tol", func, low=0.0, high=1.0, low_open=True)
    check_int(max_iter, "max_iter", func, low=1)
    shape = check_input_shape(input_shape, func)
    op, adjoint, weight = _operator(layer, shape)
    est, it, ok = _power_iteration(op, adjoint, shape, tol, max_iter, torch.Generator().manual_seed(seed))
    n_in = math.prod(shape)
    with torch.no_grad():
        n_out = op(torch.zeros((1, *shape), dtype=torch.float64)).numel()
    if isinstance(layer, nn.Conv2d) and n_in * n_out > MAX_DENSE:
        upper, method = _schur_bound(layer, shape), "schur"
    else:
        with torch.no_grad():
            mat = weight if not isinstance(layer, nn.Conv2d) else _dense(op, shape)
        upper, method = _gram_bound(mat), "gram"
    upper = max(upper, est) * (1 + ROUNDING_SLACK)
    return SpectralNorm(est, upper, it, ok, method)


def _dense(op, shape) -> torch.Tensor:
    """The operator as an (n_out, n_in) matrix, by applying it to the standard basis in chunks."""
    n_in = math.prod(shape)
    cols = []
    for start in range(0, n_in, 256):
        basis = torch.eye(n_in, dtype=torch.float64)[start:start + 256].reshape(-1, *shape)
        cols.append(op(basis).reshape(basis.shape[0], -1))
    return torch.cat(cols).T


def check_input_shape(shape, func) -> tuple[int, ...]:
    if not (isinstance(shape, (tuple, list)) and shape and all(isinstance(s, int) and s > 0 for s in shape)):
        raise ValueError(f"The 'input_shape' parameter of {func} must be a non-empty tuple of positive ints. "
                         f"Got {shape!r} instead.")
    return tuple(shape)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _coverage(in_len: int, out_len: int, k: int, s: int, p: int, d: int) -> int:
    """Most windows any real input position lies in along one axis (out_len from torch: ceil_mode exact)."""
    pos = np.arange(out_len)[:, None] * s - p + np.arange(k)[None, :] * d          # (out_len, k)
    pos = pos[(pos >= 0) & (pos < in_len)]
    return int(np.bincount(pos, minlength=in_len).max()) if pos.size else 0


def max_pool_bound(layer: nn.MaxPool2d, shape, out_shape) -> float:
    """Exact: a max is 1-Lipschitz in its window's l_inf <= l_2 norm, so ||f(x) - f(y)||^2 <= sum_i c_i
    (x_i - y_i)^2, c_i = windows holding pixel i (padding is -inf, never the max); a spike attains it."""
    (kh, kw), (sh, sw) = _pair(layer.kernel_size), _pair(layer.stride or layer.kernel_size)
    (ph, pw), (dh, dw) = _pair(layer.padding), _pair(layer.dilation)
    return math.sqrt(_coverage(shape[-2], out_shape[-2], kh, sh, ph, dh)
                     * _coverage(shape[-1], out_shape[-1], kw, sw, pw, dw))


def avg_pool_norm(layer: nn.AvgPool2d, shape, tol, max_iter) -> SpectralNorm:
    """||A||_2 of the linear map A_wi = 1/d_w (i in window w), with the divisors d_w the layer itself uses
    (padding, count_include_pad, ceil_mode, divisor_override of either sign), so no reading of those
    options can go stale. Channels pool alike, so one (H, W) plane has the norm. Upper: Schur
    sqrt(||A||_1 ||A||_inf), exact for uniform windows, or the Gram bound of a small plane if lower."""
    plane = (1, *shape[-2:]) if len(shape) == 3 else tuple(shape)

    def op(x):
        return layer(x.double())

    def adjoint(y):
        x = torch.zeros((1, *plane), dtype=torch.float64, requires_grad=True)
        with torch.enable_grad():
            return torch.autograd.grad(op(x), x, grad_outputs=y)[0]
    ones = torch.ones((1, *plane), dtype=torch.float64)
    # An average's top singular vector is nearly constant: from ones a few steps get close, where 1000
    # from noise would not converge (the top singular values cluster) and cost seconds.
    est, it, ok = _power_iteration(op, adjoint, plane, tol, min(max_iter, POOL_POWER_STEPS), None, ones)
    with torch.no_grad():
        rows = op(ones)                                      # row sums; a row's entries share one sign
    cols = adjoint(torch.ones_like(rows))                    # column sums; likewise
    upper, method = math.sqrt(float(rows.abs().max()) * float(cols.abs().max())), "schur"
    if math.prod(plane) * rows.numel() <= POOL_DENSE:
        with torch.no_grad():
            upper, method = min((upper, method), (_gram_bound(_dense(op, plane)), "gram"))
    return SpectralNorm(est, max(upper, est) * (1 + ROUNDING_SLACK), it, ok, method)
