"""Björck orthonormalisation and 1-Lipschitz (orthogonal) linear layers.

Reference: Björck & Bowie (1971), as used in "Smoothed Robustness Analysis" (Rodrigues Crespo & Teramae),
Appendix C.2.1: with order p = 1 the iteration is

    A_{k+1} = A_k (3/2 I - 1/2 A_k^T A_k),

which drives every singular value s of A_0 towards 1 (s -> s (3 - s^2) / 2) as long as all 0 < s < sqrt(3).
We start from A_0 = W / ||W||_F (all s <= 1), so the iteration converges for any full-rank W and is
differentiable: training updates the raw matrix W and the layer always uses the orthonormalised one.

An orthonormal (m, n) matrix has all singular values 1, so the layer is 1-Lipschitz in l2 (exactly, up to
the reported ``orthogonality_error``: every singular value s satisfies |s^2 - 1| <= error). Rows are
orthonormal when m <= n, columns when m > n (then the layer is an isometry).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from cert_core.validation import check_float, check_int


def bjorck_orthonormalize(w: torch.Tensor, iters: int = 20, tol: float = 0.0) -> torch.Tensor:
    """The order-1 Björck iteration (App. C.2.1) on ``w`` (m, n) -> (m, n) with orthonormal rows or columns.

    Stops after ``iters`` steps, or earlier once ``orthogonality_error`` <= ``tol`` (tol = 0: never early,
    which keeps the computation graph and the result independent of rounding). Differentiable.
    """
    check_int(iters, "iters", "bjorck_orthonormalize", low=0, high=10_000)
    check_float(tol, "tol", "bjorck_orthonormalize", low=0.0)
    if not isinstance(w, torch.Tensor) or w.ndim != 2 or not w.is_floating_point():
        raise ValueError(f"The 'w' parameter of bjorck_orthonormalize must be a 2D float tensor. Got "
                         f"{type(w).__name__}{tuple(w.shape) if isinstance(w, torch.Tensor) else ''} instead.")
    a = w / w.norm().clamp_min(1e-12)  # ||.||_F >= ||.||_2: every singular value in [0, 1]
    wide = a.shape[0] <= a.shape[1]  # iterate on the smaller Gram matrix: same result, cheaper
    eye = torch.eye(min(a.shape), dtype=a.dtype, device=a.device)
    for _ in range(iters):
        if wide:
            a = (1.5 * eye - 0.5 * a @ a.T) @ a  # == a (3/2 I - 1/2 a^T a) for row-orthonormalisation
        else:
            a = a @ (1.5 * eye - 0.5 * a.T @ a)
        if tol > 0 and orthogonality_error(a) <= tol:
            break
    return a


def orthogonality_error(w: torch.Tensor) -> float:
    """||G - I||_2 for the smaller Gram matrix G (W W^T if m <= n else W^T W); bounds |s^2 - 1| for all s."""
    w = w.detach().double()
    g = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return float(torch.linalg.matrix_norm(g - torch.eye(g.shape[0], dtype=g.dtype, device=g.device), ord=2))


def mean_row_dot(w: torch.Tensor) -> float:
    """The paper's stopping statistic (App. C.2.1): mean |<w_i, w_j>| over pairs of distinct rows i != j."""
    w = w.detach().double()
    n = w.shape[0]
    if n < 2:
        return 0.0
    g = (w @ w.T).abs()
    return float((g.sum() - g.diagonal().sum()) / (n * (n - 1)))


class BjorckLinear(nn.Module):
    """y = A x + b with A = bjorck_orthonormalize(weight): 1-Lipschitz in l2 (see ``lipschitz_bound``).

    ``weight`` (out, in) is the unconstrained parameter (orthogonally initialised, so A == weight at start).
    Training re-orthonormalises every forward pass; in eval mode the orthonormal matrix is cached per
    weight version, so inference and exact 2D maps cost one matmul.
    """

    def __init__(self, in_features: int, out_features: int, iters: int = 20, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features, self.iters = in_features, out_features, iters
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        nn.init.orthogonal_(self.weight)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(in_features)
            nn.init.uniform_(self.bias, -bound, bound)
        self._cache: tuple | None = None

    def ortho_weight(self) -> torch.Tensor:
        """The orthonormalised (out, in) matrix the layer applies."""
        if self.training or torch.is_grad_enabled():
            self._cache = None
            return bjorck_orthonormalize(self.weight, self.iters)
        key = (self.weight._version, self.weight.data_ptr(), self.weight.device)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, bjorck_orthonormalize(self.weight, self.iters))
        return self._cache[1]

    def forward(self, x):  # (B, in) -> (B, out)
        return nn.functional.linear(x, self.ortho_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, iters={self.iters}"
