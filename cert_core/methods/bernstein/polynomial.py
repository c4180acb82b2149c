"""Bernstein-polynomial smoothing of a classifier head on [0, 1]^d (its radii: ``bernstein.radii``).

Reference: Kao, Ko & Lu, "Deterministic Certification to Adversarial Attacks via Bernstein Polynomial
Approximation" (``shared/papers/bernstein-polynomial-certification.md``).

Smoothing (Definition 2, Eq. 7-8). For a head f: [0, 1]^d -> R^K and degree n,

    B_n(f; x) = sum_{k in {0..n}^d} f(k/n) prod_j b_{n,k_j}(x_j),   b_{n,k}(t) = C(n,k) t^k (1-t)^(n-k),

i.e. E[f(eta/n)] with independent eta_j ~ Bin(n, x_j). ``fit`` evaluates f once on the (n+1)^d lattice;
evaluation contracts the coefficient tensor with the 1-D bases axis by axis (a loop over the d axes,
never over lattice points). Option ``smooth``: "logits" (the paper: B_n of the logits, then softmax)
or "probabilities" (B_n of softmax(f): a convex combination of probability vectors).

Shapes: M points, d dims, K classes, N = n + 1 lattice points per axis; coefficients (N,)*d + (K,).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy.special import comb, softmax

from cert_core.validation import check_choice, check_int
from cert_core.tensors import model_device, model_dtype

MAX_LATTICE_VALUES = 20_000_000   # (n+1)^d * K head outputs: 160 MB of float64
MAX_DEGREE = 200                  # float64 binomials and powers stay exact enough up to here
SMOOTH_MODES = ("logits", "probabilities")
_CHUNK_VALUES = 4_000_000         # bound on the (M, N^(d-1), K) intermediate of one contraction


def basis(n: int, t) -> np.ndarray:
    """1-D Bernstein basis b_{n,k}(t), k = 0..n (Eq. 5).                              # (M, n+1)"""
    t = np.asarray(t, dtype=np.float64).reshape(-1, 1)                    # (M, 1)
    k = np.arange(n + 1)
    return comb(n, k) * t ** k * (1.0 - t) ** (n - k)                      # 0**0 == 1 at the ends


def basis_derivative(n: int, t) -> np.ndarray:
    """d/dt b_{n,k}(t) = n (b_{n-1,k-1}(t) - b_{n-1,k}(t)).                         # (M, n+1)"""
    low = basis(n - 1, t)                                                   # (M, n)
    out = np.zeros((low.shape[0], n + 1))
    out[:, 1:] += low
    out[:, :-1] -= low
    return n * out


def largest_degree(d: int, k: int, limit: int = MAX_LATTICE_VALUES) -> int:
    """The largest n with (n+1)^d * K <= limit (0 when even n = 1 does not fit)."""
    n = int(math.floor((limit / k) ** (1.0 / d))) - 1
    while n >= 0 and (n + 2) ** d * k <= limit:            # float roots can be off by one either way
        n += 1
    while n >= 1 and (n + 1) ** d * k > limit:
        n -= 1
    return max(n, 0)


def lattice(n: int, d: int) -> np.ndarray:
    """The points k/n, k in {0..n}^d, in C order (the first axis varies slowest).    # ((n+1)^d, d)"""
    axes = np.meshgrid(*([np.arange(n + 1) / n] * d), indexing="ij")
    return np.stack([a.ravel() for a in axes], 1)


@dataclass(frozen=True, eq=False)
class BernsteinPolynomial:
    """f~ = [B_n(f_1), ..., B_n(f_K)] (Eq. 8), stored as the head's values on the lattice."""
    coeffs: np.ndarray        # (n+1,)*d + (K,) float64: f(k/n), or softmax(f)(k/n) for "probabilities"
    n: int                    # degree per axis (n_1 = ... = n_d = n, as in the paper)
    smooth: str               # "logits" | "probabilities"

    @property
    def d(self) -> int:
        return self.coeffs.ndim - 1

    @property
    def num_classes(self) -> int:
        return self.coeffs.shape[-1]

    def __call__(self, x) -> np.ndarray:
        """beta = B_n(f; x) for a batch of points in [0, 1]^d.                          # (M, K)"""
        x = domain_points(x, self.d, "BernsteinPolynomial")
        per = max(1, _CHUNK_VALUES // max(1, self.coeffs[0].size))        # rows per chunk
        return np.concatenate([self.evaluate_anywhere(x[s:s + per]) for s in range(0, len(x), per)] or
                              [np.zeros((0, self.num_classes))])

    def evaluate_anywhere(self, x: np.ndarray, derivative: int | None = None) -> np.ndarray:
        """B_n at points anywhere in R^d (no domain check, no chunking: LM steps outside the box). Contract axis
        by axis; on axis ``derivative`` use d/dt of the basis instead.                       # (M, K)"""
        bases = [basis_derivative(self.n, x[:, j]) if j == derivative else basis(self.n, x[:, j])
                 for j in range(self.d)]
        out = np.tensordot(bases[0], self.coeffs, axes=(1, 0))              # (M, N, ..., K)
        for j in range(1, self.d):                                          # one axis at a time
            out = np.einsum("mk,mk...->m...", bases[j], out)
        return out                                                          # (M, K)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """d beta_k / d x_j at points anywhere in R^d (no domain check: used inside LM).  # (M, K, d)"""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.d)
        return np.stack([self.evaluate_anywhere(x, j) for j in range(self.d)], -1)

    def probabilities(self, x) -> np.ndarray:
        """S(beta): softmax of smoothed logits, or the smoothed probabilities themselves.  # (M, K)"""
        beta = self(x)
        return softmax(beta, axis=1) if self.smooth == "logits" else beta

    def predict(self, x) -> np.ndarray:
        return self(x).argmax(1)                                            # (M,)

    def margin_lipschitz(self, a: int, p: float = 2.0) -> np.ndarray:
        """||L^{(a,c)}||_q for every class c: Lipschitz constants of B_n(f_a - f_c) on [0,1]^d.  # (K,)"""
        g = self.coeffs[..., a:a + 1] - self.coeffs                         # (N,)*d + (K,)
        slopes = np.stack([self.n * np.abs(np.diff(g, axis=j)).reshape(-1, self.num_classes).max(0)
                           for j in range(self.d)], 0)                      # (d, K): L_j per class
        return np.linalg.norm(slopes, ord=_dual(p), axis=0)                 # (K,)


def _dual(p: float) -> float:
    return math.inf if p == 1 else (1.0 if math.isinf(p) else p / (p - 1.0))


def domain_points(x, d: int, func: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"The 'x' parameter of {func} must be points of shape (M, {d}). "
                         f"Got shape {np.shape(x)} instead.")
    if not np.isfinite(x).all() or x.min(initial=0) < -1e-9 or x.max(initial=1) > 1 + 1e-9:
        raise ValueError(f"The 'x' parameter of {func} must lie in [0, 1]^{d} (the Bernstein "
                         f"polynomial's domain). Got values in [{x.min():.3g}, {x.max():.3g}] instead.")
    return np.clip(x, 0.0, 1.0)


def head_function(head: torch.nn.Module, batch_size: int = 65_536) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a torch head (B, d) -> (B, K) as a numpy function, evaluated in eval mode without grad."""
    def f(points: np.ndarray) -> np.ndarray:
        device, dtype = model_device(head), model_dtype(head)
        was = head.training
        head.eval()
        try:
            with torch.no_grad():
                pts = torch.as_tensor(points, dtype=dtype, device=device)
                return torch.cat([head(pts[s:s + batch_size]).double().cpu()
                                  for s in range(0, len(pts), batch_size)]).numpy()
        finally:
            head.train(was)
    return f


def fit(head, n: int, d: int, smooth: str = "logits") -> BernsteinPolynomial:
    """Evaluate ``head`` (a torch module or a numpy function (M, d) -> (M, K) or (M,)) on the lattice.

    Raises ValueError when (n+1)^d * K exceeds ``MAX_LATTICE_VALUES``, naming the largest n that fits.
    """
    func = "bernstein.fit"
    n = check_int(n, "n", func, 1, MAX_DEGREE)
    d = check_int(d, "d", func, 1, 12)
    smooth = check_choice(smooth, "smooth", func, SMOOTH_MODES)
    f = head_function(head) if isinstance(head, torch.nn.Module) else head
    k = np.atleast_2d(np.asarray(f(np.full((1, d), 0.5)), dtype=np.float64).reshape(1, -1)).shape[1]
    if (n + 1) ** d * k > MAX_LATTICE_VALUES:
        best = largest_degree(d, k)
        raise ValueError(f"The 'n' parameter of {func} is too large: the lattice needs (n+1)^d * K = "
                         f"{n + 1}^{d} * {k} = {(n + 1) ** d * k:,} head outputs (limit "
                         f"{MAX_LATTICE_VALUES:,}). The largest degree that fits for d = {d}, K = {k} is "
                         f"n = {best}." + (" Reduce d." if best < 1 else ""))
    values = np.asarray(f(lattice(n, d)), dtype=np.float64).reshape((n + 1) ** d, k)  # ((n+1)^d, K)
    if not np.isfinite(values).all():
        raise ValueError(f"The head passed to {func} returned NaN or infinite values on the lattice.")
    if smooth == "probabilities":
        values = softmax(values, axis=1)
    return BernsteinPolynomial(values.reshape((n + 1,) * d + (k,)), n, smooth)
