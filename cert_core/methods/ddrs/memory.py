"""Data-dependent randomized smoothing (Alfarra, Bibi, Torr & Ghanem, UAI 2022): the memory of Sec. 3.5 and why
it is needed (per-input σ itself: ``cert_core.methods.ddrs.sigma``).

Soundness. Certifying each x with Cohen et al.'s CERTIFY at its own σ*_x does **not** certify the
data-dependent classifier g(x) = argmax E[f(x + σ_x ε)]: the ball around x is about g_{σ*_x}, but at
a point x' inside it the classifier uses σ*_{x'}, a different function (Súkeník, Kuvshinov &
Günnemann, ICML 2022). ``stripe_counterexample`` builds a concrete 2D case. The memory of Sec. 3.5
(``CertificationMemory``) makes the answers mutually consistent *for the queries it has seen*, in the
order it saw them; a different order gives different answers (also shown by the counterexample).

Shapes: M inputs, d the flattened input dimension.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from cert_core.smoothing import ABSTAIN
from cert_core.validation import check_choice, check_float


# ----------------------------------------------------------------------------- memory (Sec. 3.5)
@dataclass(frozen=True)
class MemoryAnswer:
    """The memory-enhanced classifier's answer for one query (Figure 2)."""
    prediction: int               # the class answered (ABSTAIN = -1)
    radius: float                 # the region kept in memory (0: none)
    proposed_prediction: int      # what CERTIFY at σ*_x said
    proposed_radius: float
    case: str                     # "added" | "relabelled" (Fig. 2 middle) | "shrunk" (Fig. 2 right) | "abstain"
    culprits: tuple[int, ...]     # memory indices of the regions that forced the change

    @property
    def conflict(self) -> bool:
        return self.case in ("relabelled", "shrunk")


MEMORY_RULES = ("paper", "authors")
# "paper": Sec. 3.5 as printed: x inside R_i of another class is relabelled C_i with the largest subset of its
#   *proposed* ball inside R_i, radius min(r, r_i − d); abstentions are not stored.
# "authors": the authors' post-processing (as the audit reports it; their memory script is not in our reference
#   store): the relabelled radius is r_i − d (the largest ball inside R_i, not capped by r), and abstentions are
#   stored as zero-radius regions (class −1), so later regions of other classes stop short of them.


class CertificationMemory:
    """Memory-based certification of a data-dependent classifier (Sec. 3.5, Figure 2).

    Invariant: regions (open ℓ2 balls) of different classes never intersect. ``query`` processes
    one input with its proposed (prediction, radius):

    * x inside an earlier region of another class C_i → the answer becomes C_i and the region the
      largest ball around x inside that region (Figure 2, middle);
    * otherwise a proposed region intersecting an earlier one of another class shrinks to the
      largest ball that does not (Figure 2, right); same-class overlaps are kept (Figure 2, left).

    The answers are consistent with every earlier answer; they depend on the order of the queries.
    ``rule`` ("paper" | "authors", ``MEMORY_RULES``) is how a relabelled radius and an abstention are kept.
    """

    def __init__(self, dim: int | None = None, rule: str = "paper"):
        self.rule = check_choice(rule, "rule", "CertificationMemory", MEMORY_RULES)
        self._centers: list[np.ndarray] = []
        self._radii: list[float] = []
        self._classes: list[int] = []
        self.answers: list[MemoryAnswer] = []
        self.dim = dim

    def __len__(self) -> int:
        return len(self._centers)

    @property
    def regions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(centers (N, d), radii (N,), classes (N,)) of the stored regions."""
        d = self.dim or 0
        centers = np.stack(self._centers) if self._centers else np.zeros((0, d))
        return centers, np.asarray(self._radii, float), np.asarray(self._classes, int)

    @property
    def conflicts(self) -> int:
        return sum(a.conflict for a in self.answers)

    def query(self, x, prediction: int, radius: float) -> MemoryAnswer:
        """Answer for x given CERTIFY's proposal; stores the (possibly changed) region."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        self.dim = self.dim or x.size
        if x.size != self.dim or not np.all(np.isfinite(x)):
            raise ValueError(f"The 'x' parameter of CertificationMemory.query must be {self.dim} finite numbers. Got shape {x.shape} instead.")
        radius = check_float(radius, "radius", "CertificationMemory.query", 0, None)
        prediction = int(prediction)
        cls, r, case, culprits = prediction, radius if prediction != ABSTAIN else 0.0, "added", ()
        centers, radii, classes = self.regions
        dist = np.linalg.norm(centers - x, axis=1) if len(self) else np.zeros(0)   # (N,)
        inside = (dist < radii) & (classes != prediction)
        if inside.any():                                  # Fig. 2 middle: take the earlier class
            cls = int(classes[inside][0])
            host = inside & (classes == cls)
            inner = float(np.max(radii[host] - dist[host]))                 # the largest ball inside R_i
            r = inner if self.rule == "authors" else min(r, inner)
            case, culprits = "relabelled", tuple(np.flatnonzero(host).tolist())
        elif cls == ABSTAIN:
            case = "abstain"
        other = (classes != cls) & (dist < r + radii)
        if cls != ABSTAIN and other.any():                # Fig. 2 right: shrink to stay disjoint
            r = max(0.0, min(r, float(np.min(dist[other] - radii[other]))))
            if case == "added":
                case, culprits = "shrunk", tuple(np.flatnonzero(other).tolist())
        answer = MemoryAnswer(cls, r, prediction, radius, case, culprits)
        if (cls != ABSTAIN and r > 0) or (cls == ABSTAIN and self.rule == "authors"):
            self._centers.append(x), self._radii.append(r), self._classes.append(cls)
        self.answers.append(answer)
        return answer

    def query_all(self, xs, predictions, radii) -> list[MemoryAnswer]:
        """``query`` each input in order."""
        xs = np.asarray(xs, dtype=np.float64).reshape(len(predictions), -1)
        return [self.query(x, int(p), float(r)) for x, p, r in zip(xs, predictions, radii)]


def memory_certify(xs, predictions, radii, order=None,
                   rule: str = "paper") -> tuple[list[MemoryAnswer], CertificationMemory]:
    """Query a fresh memory (``rule``: "paper" | "authors") with every input in ``order`` (default 0..M-1).

    Returns the answers in *input* order (answer i is about xs[i]) and the memory.
    """
    xs = np.asarray(xs, dtype=np.float64).reshape(len(predictions), -1)
    m = len(xs)
    order = np.arange(m) if order is None else np.asarray(order, dtype=int)
    if sorted(order.tolist()) != list(range(m)):
        raise ValueError(f"The 'order' parameter of memory_certify must be a permutation of 0..{m - 1}. Got {order!r} instead.")
    memory = CertificationMemory(xs.shape[1], rule)
    answers: list[MemoryAnswer | None] = [None] * m
    for i in order:
        answers[i] = memory.query(xs[i], int(predictions[i]), float(radii[i]))
    return answers, memory


# ----------------------------------------------------------------------------- a concrete counterexample
def stripe_probability(x1, a: float, b: float, sigma) -> np.ndarray:
    """P(a ≤ x1 + σ ε ≤ b): the exact smoothed probability of the stripe class at first coordinate x1."""
    x1, sigma = np.asarray(x1, float), np.asarray(sigma, float)
    return norm.cdf((b - x1) / sigma) - norm.cdf((a - x1) / sigma)


@dataclass(frozen=True)
class Counterexample:
    """Two points of the stripe classifier f(x) = 1 iff a ≤ x₁ ≤ b, with exact per-input σ*."""
    stripe: tuple[float, float]       # (a, b)
    points: np.ndarray                # (2, 2): x_far (left of the stripe), x_in (on the stripe)
    sigma_star: np.ndarray            # (2,) argmax of the exact radius over ``sigmas``
    prediction: np.ndarray            # (2,) the class each point gets at its own σ*
    radius: np.ndarray                # (2,) the exact radius each point claims at its own σ*
    distance: float                   # ‖x_far − x_in‖
    memory_far_first: tuple[MemoryAnswer, MemoryAnswer]
    memory_in_first: tuple[MemoryAnswer, MemoryAnswer]

    @property
    def inconsistent(self) -> bool:
        """x_in lies inside x_far's "certified" ball yet gets another class: no certificate."""
        return self.distance < self.radius[0] and self.prediction[0] != self.prediction[1]

    @property
    def order_dependent(self) -> bool:
        """The memory's answer at x_in depends on which point was queried first."""
        return self.memory_far_first[1].prediction != self.memory_in_first[0].prediction


def _exact_star(x1: float, a: float, b: float, sigmas: np.ndarray, sigma0: float) -> tuple[float, int, float]:
    p1 = stripe_probability(x1, a, b, np.append(sigmas, sigma0))           # (S + 1,)
    cls = int(p1[-1] > 0.5)                                                 # c_A at σ0 (Eq. 2)
    p_a = p1[:-1] if cls == 1 else 1 - p1[:-1]
    lo = 1e-15
    r = sigmas / 2 * (norm.ppf(np.clip(p_a, lo, 1 - lo)) - norm.ppf(np.clip(1 - p_a, lo, 1 - lo)))
    i = int(np.argmax(r))
    return float(sigmas[i]), cls, float(r[i])


def stripe_counterexample(stripe: tuple[float, float] = (0.0, 0.2), x_far: float = -1.0,
                          sigma0: float = 0.05, sigma_range: tuple[float, float] = (0.02, 2.0)) -> Counterexample:
    """Input-dependent σ without memory is unsound, and the memory depends on the query order.

    f is 1 on the stripe a ≤ x₁ ≤ b and 0 elsewhere, so P(f(x + σε) = 1) is a difference of two
    Φ's: everything is exact. Far from the stripe a large σ maximises the radius (the thin stripe's
    mass vanishes), so x_far "certifies" class 0 on a ball that swallows the stripe; at the stripe's
    centre a small σ is best and x_in gets class 1, inside that ball.
    """
    a, b = (check_float(v, "stripe", "stripe_counterexample") for v in stripe)
    if not a < b:
        raise ValueError(f"The 'stripe' parameter of stripe_counterexample must be (a, b) with a < b. Got {stripe!r} instead.")
    sigmas = np.geomspace(*sigma_range, 400)
    pts = np.array([[x_far, 0.0], [(a + b) / 2, 0.0]])
    stars = [_exact_star(p[0], a, b, sigmas, sigma0) for p in pts]
    sigma_star, pred, radius = (np.array(v) for v in zip(*stars))
    far_first, in_first = CertificationMemory(2), CertificationMemory(2)
    ff = tuple(far_first.query(pts[i], pred[i], radius[i]) for i in (0, 1))
    inf_ = tuple(in_first.query(pts[i], pred[i], radius[i]) for i in (1, 0))
    return Counterexample((a, b), pts, sigma_star, pred, radius, float(math.dist(*pts)), ff, inf_)
