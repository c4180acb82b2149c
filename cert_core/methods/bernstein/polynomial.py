"""Bernstein-polynomial smoothing of a classifier head on [0, 1]^d, its root-finding radius and a
sound Lipschitz certificate.

Reference: Kao, Ko & Lu, "Deterministic Certification to Adversarial Attacks via Bernstein Polynomial
Approximation" (``shared/papers/bernstein-polynomial-certification.md``).

Smoothing (Definition 2, Eq. 7-8). For a head f: [0, 1]^d -> R^K and degree n,

    B_n(f; x) = sum_{k in {0..n}^d} f(k/n) prod_j b_{n,k_j}(x_j),   b_{n,k}(t) = C(n,k) t^k (1-t)^(n-k),

i.e. E[f(eta/n)] with independent eta_j ~ Bin(n, x_j). ``fit`` evaluates f once on the (n+1)^d lattice;
evaluation contracts the coefficient tensor with the 1-D bases axis by axis (a loop over the d axes,
never over lattice points). Option ``smooth``: "logits" (the paper: B_n of the logits, then softmax)
or "probabilities" (B_n of softmax(f): a convex combination of probability vectors).

Root-finding radius (Eq. 9-10, Algorithm 2). Solve Phi(x) = 0 with Levenberg-Marquardt
(``scipy.optimize.least_squares(method="lm")``) from x0, project to [0, 1]^d, R = ||x0 - sol||_p.
This returns *a* point near the boundary (or just a least-squares minimiser that is not on it), so R is
at best an UPPER bound on the distance to the boundary, never a certificate.

Sound certificate (ours, in the style of the lecture's Theorem 0). The partial derivative of a Bernstein
polynomial is n times a degree-(n-1) Bernstein polynomial of the lattice forward differences,

    d/dx_j B_n(g; x) = n sum_k [g((k + e_j)/n) - g(k/n)] b_{n-1,k_j}(x_j) prod_{i != j} b_{n,k_i}(x_i),

and the basis weights are >= 0 and sum to 1 on [0, 1]^d, so |d_j B_n(g)| <= L_j := n max_k |Delta_j g(k)|.
For the margin g = f_a - f_c, |B(g)(x') - B(g)(x0)| <= ||L||_q ||x' - x0||_p (1/p + 1/q = 1) along the
segment, which stays in the convex box. Hence the prediction a cannot change inside [0, 1]^d within

    R = min_{c != a} B_n(f_a - f_c; x0) / ||L^{(a,c)}||_q.

Shapes: M points, d dims, K classes, N = n + 1 lattice points per axis; coefficients (N,)*d + (K,).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy.optimize import least_squares
from scipy.special import comb, softmax

from cert_core import grid
from cert_core.validation import check_choice, check_float, check_int
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
        x = _points(x, self.d, "BernsteinPolynomial")
        per = max(1, _CHUNK_VALUES // max(1, self.coeffs[0].size))        # rows per chunk
        return np.concatenate([self._eval(x[s:s + per]) for s in range(0, len(x), per)] or
                              [np.zeros((0, self.num_classes))])

    def _eval(self, x: np.ndarray, derivative: int | None = None) -> np.ndarray:
        """Contract axis by axis; on axis ``derivative`` use d/dt of the basis instead.    # (M, K)"""
        bases = [basis_derivative(self.n, x[:, j]) if j == derivative else basis(self.n, x[:, j])
                 for j in range(self.d)]
        out = np.tensordot(bases[0], self.coeffs, axes=(1, 0))              # (M, N, ..., K)
        for j in range(1, self.d):                                          # one axis at a time
            out = np.einsum("mk,mk...->m...", bases[j], out)
        return out                                                          # (M, K)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """d beta_k / d x_j at points anywhere in R^d (no domain check: used inside LM).  # (M, K, d)"""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.d)
        return np.stack([self._eval(x, j) for j in range(self.d)], -1)

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


def _check_p(p, func: str) -> float:
    """The l_p norm of a radius: p in [1, inf] (inf allowed, unlike check_float)."""
    if isinstance(p, (int, float)) and not isinstance(p, bool) and math.isinf(p) and p > 0:
        return math.inf
    return check_float(p, "p", func, 1.0, None)


def _points(x, d: int, func: str) -> np.ndarray:
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


@dataclass(frozen=True, eq=False)
class RootFinding:
    """Algorithm 2's output. NOT a certificate: see ``on_boundary`` and the module docstring."""
    radius: float             # ||x0 - sol||_p after projecting sol to [0, 1]^d
    point: np.ndarray         # (d,) the projected solution sol
    prediction: int           # rho(1): the top class at x0
    runner_up: int            # rho(2): the class whose boundary is sought
    cost: float               # F(sol) = 1/2 ||Phi(sol)||^2 (Eq. 10) before projection
    on_boundary: bool         # argmax at sol is not rho(1) (or ties): then radius >= true distance
    nfev: int                 # residual evaluations used by LM


def _residuals(poly: BernsteinPolynomial, ranks: np.ndarray, size: int) -> Callable:
    """Phi of Eq. 9: [beta_a - beta_b, S_a - 1/2, S_b - 1/2, S_rho(3), ..., S_rho(d)], zero-padded."""
    def phi(x: np.ndarray) -> np.ndarray:
        beta = poly._eval(x.reshape(1, -1))[0]              # LM may step outside the box: B_n extends
        s = softmax(beta) if poly.smooth == "logits" else beta
        out = np.zeros(size)
        out[0] = beta[ranks[0]] - beta[ranks[1]]
        out[1], out[2] = s[ranks[0]] - 0.5, s[ranks[1]] - 0.5
        tail = s[ranks[2:poly.d]]                            # rho(3) .. rho(d), as far as K allows
        out[3:3 + len(tail)] = tail
        return out
    return phi


def _residual_jacobian(poly: BernsteinPolynomial, ranks: np.ndarray, size: int) -> Callable:
    """d Phi / d x, analytic (softmax'(beta) = diag(S) - S S^T), so LM needs no finite differences."""
    def jac(x: np.ndarray) -> np.ndarray:
        beta, dbeta = poly._eval(x.reshape(1, -1))[0], poly.jacobian(x)[0]   # (K,), (K, d)
        if poly.smooth == "logits":
            s = softmax(beta)
            ds = s[:, None] * (dbeta - s @ dbeta)                           # (K, d)
        else:
            ds = dbeta
        out = np.zeros((size, poly.d))
        out[0] = dbeta[ranks[0]] - dbeta[ranks[1]]
        out[1], out[2] = ds[ranks[0]], ds[ranks[1]]
        tail = ds[ranks[2:poly.d]]
        out[3:3 + len(tail)] = tail
        return out
    return jac


def root_finding_radius(poly: BernsteinPolynomial, x0, p: float = 2.0, max_nfev: int | None = None) -> RootFinding:
    """The paper's radius (Eq. 9-10, Alg. 2): LM from x0, project to [0,1]^d, R = ||x0 - sol||_p.

    ``max_nfev`` None is SciPy's default (100 d evaluations for LM with a Jacobian), as in the paper.
    Deterministic. An upper bound on the distance to the boundary when ``on_boundary``, otherwise
    no bound at all; it is never a certificate (LM finds *a* root, not the nearest one).
    """
    func = "root_finding_radius"
    x0 = _points(x0, poly.d, func)[0]
    p = _check_p(p, func)
    max_nfev = None if max_nfev is None else check_int(max_nfev, "max_nfev", func, 1)
    beta0 = poly._eval(x0[None])[0]
    ranks = np.argsort(-beta0, kind="stable")
    size = max(poly.d + 1, 3)                                # LM needs >= as many residuals as unknowns
    sol = least_squares(_residuals(poly, ranks, size), x0, jac=_residual_jacobian(poly, ranks, size),
                        method="lm", x_scale=1.0, max_nfev=max_nfev)   # isotropic steps: R is a distance
                        # (SciPy >= 1.16 defaults LM to x_scale="jac"; 1.0 was the default the paper used)
    point = np.clip(sol.x, 0.0, 1.0)
    beta = poly._eval(point[None])[0]
    crossed = bool(beta[ranks[0]] <= np.delete(beta, ranks[0]).max())
    return RootFinding(float(np.linalg.norm(x0 - point, ord=p)), point, int(ranks[0]), int(ranks[1]),
                       float(sol.cost), crossed, int(sol.nfev))


@dataclass(frozen=True, eq=False)
class LipschitzCertificate:
    """Sound: every x' in [0,1]^d with ||x' - x0||_p < radius gets the prediction of x0."""
    radius: float             # min_c margin_c / lipschitz_c; inf if no class can ever overtake
    prediction: int           # a = argmax B_n(f; x0)
    margins: np.ndarray       # (K,) B_n(f_a - f_c; x0) (0 for c = a)
    lipschitz: np.ndarray     # (K,) ||L^{(a,c)}||_q, the margin's Lipschitz constant on [0,1]^d
    binding: int              # the class c that limits the radius (-1 if none)


def lipschitz_certificate(poly: BernsteinPolynomial, x0, p: float = 2.0) -> LipschitzCertificate:
    """The sound radius from the forward-difference Lipschitz bound (module docstring; Theorem 0 style)."""
    func = "lipschitz_certificate"
    x0 = _points(x0, poly.d, func)
    p = _check_p(p, func)
    beta = poly(x0)[0]                                                      # (K,)
    a = int(np.argmax(beta))
    margins, lips = beta[a] - beta, poly.margin_lipschitz(a, p)             # (K,), (K,)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(lips > 0, margins / lips, math.inf)                  # (K,) L = 0: c never overtakes
    per = np.where(margins <= 0, 0.0, per)                                  # a tie certifies nothing
    per[a] = math.inf
    c = int(np.argmin(per))
    radius = float(per[c]) * (1 - 1e-12)                                    # round toward safety
    return LipschitzCertificate(radius, a, margins, lips, c if math.isfinite(per[c]) else -1)


def grid_boundary_distance(poly: BernsteinPolynomial, x0, resolution: int = 401,
                           scores: np.ndarray | None = None) -> grid.BoundaryDistance:
    """d = 2 only: the distance from x0 to the Bernstein decision boundary inside [0,1]^2, located on a
    resolution^2 grid with sub-pixel (marching squares) interpolation; error <= one pixel spacing.
    ``scores`` (K, R, R): the polynomial on that grid, if already computed (``grid_scores``)."""
    func = "grid_boundary_distance"
    if poly.d != 2:
        raise ValueError(f"The 'poly' parameter of {func} must be 2-dimensional. Got d = {poly.d} instead.")
    x0 = _points(x0, 2, func)[0]
    view = grid.make_view((0.0, 1.0, 0.0, 1.0), resolution, func)
    scores = grid_scores(poly, resolution) if scores is None else scores
    cls = int(np.argmax(poly(x0[None])[0]))
    return grid.boundary_distance(scores, view, x0, cls)


def grid_scores(poly: BernsteinPolynomial, resolution: int) -> np.ndarray:
    """B_n on the pixel centres of [0,1]^2, indexed [k, i, j] = (y_i, x_j).          # (K, R, R)"""
    view = grid.make_view((0.0, 1.0, 0.0, 1.0), resolution, "grid_scores")
    gx, gy = np.meshgrid(view.x, view.y)
    return poly(np.stack([gx.ravel(), gy.ravel()], 1)).T.reshape(-1, resolution, resolution)
