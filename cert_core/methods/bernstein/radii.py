"""The distance from x0 to the decision boundary of a Bernstein polynomial (``bernstein.polynomial``): the paper's
root-finding radius and a sound Lipschitz certificate (in 2D, the exact grid distance: ``bernstein.plane``).

Reference: Kao, Ko & Lu, "Deterministic Certification to Adversarial Attacks via Bernstein Polynomial
Approximation" (``shared/papers/bernstein-polynomial-certification.md``).

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

Shapes: M points, d dims, K classes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import least_squares
from scipy.special import softmax

from cert_core.methods.bernstein.polynomial import BernsteinPolynomial, domain_points
from cert_core.validation import check_float, check_int


def _check_p(p, func: str) -> float:
    """The l_p norm of a radius: p in [1, inf] (inf allowed, unlike check_float)."""
    if isinstance(p, (int, float)) and not isinstance(p, bool) and math.isinf(p) and p > 0:
        return math.inf
    return check_float(p, "p", func, 1.0, None)



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
        beta = poly.evaluate_anywhere(x.reshape(1, -1))[0]              # LM may step outside the box: B_n extends
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
        beta, dbeta = poly.evaluate_anywhere(x.reshape(1, -1))[0], poly.jacobian(x)[0]   # (K,), (K, d)
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
    x0 = domain_points(x0, poly.d, func)[0]
    p = _check_p(p, func)
    max_nfev = None if max_nfev is None else check_int(max_nfev, "max_nfev", func, 1)
    beta0 = poly.evaluate_anywhere(x0[None])[0]
    ranks = np.argsort(-beta0, kind="stable")
    size = max(poly.d + 1, 3)                                # LM needs >= as many residuals as unknowns
    sol = least_squares(_residuals(poly, ranks, size), x0, jac=_residual_jacobian(poly, ranks, size),
                        method="lm", x_scale=1.0, max_nfev=max_nfev)   # isotropic steps: R is a distance
                        # (SciPy >= 1.16 defaults LM to x_scale="jac"; 1.0 was the default the paper used)
    point = np.clip(sol.x, 0.0, 1.0)
    beta = poly.evaluate_anywhere(point[None])[0]
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
    x0 = domain_points(x0, poly.d, func)
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
