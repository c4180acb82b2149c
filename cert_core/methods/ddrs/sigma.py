"""Data-dependent randomized smoothing (Alfarra, Bibi, Torr & Ghanem, UAI 2022).

Per-input noise: instead of one global σ, each input x is smoothed with the σ*_x that maximises the
radius of Eq. (1), R = σ/2 (Φ⁻¹(E_A) − Φ⁻¹(E_B)), found by ``optimize_sigma`` (Algorithm 1): K steps
of stochastic gradient ascent on σ, with the expectation of the *soft* classifier (softmax of the
model) estimated by n reparameterised samples x + σ ε̂, ε̂ ~ N(0, I) (Eq. 3).

Soundness. Certifying each x with Cohen et al.'s CERTIFY at its own σ*_x does **not** certify the
data-dependent classifier g(x) = argmax E[f(x + σ_x ε)]: the ball around x is about g_{σ*_x}, but at
a point x' inside it the classifier uses σ*_{x'}, a different function (Súkeník, Kuvshinov &
Günnemann, ICML 2022). ``stripe_counterexample`` builds a concrete 2D case. The memory of Sec. 3.5
(``CertificationMemory``) makes the answers mutually consistent *for the queries it has seen*, in the
order it saw them; a different order gives different answers (also shown by the counterexample).

Shapes: M inputs, D the input shape, K classes, S steps, n samples per step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import norm
from torch import nn

from cert_core.smoothing import ABSTAIN, Certificate, Smooth
from cert_core.validation import check_choice, check_float, check_int
from cert_core.tensors import model_device

CLAMP = 0.02      # E_A, E_B clamped to [0.02, 0.98] as in the authors' code: keeps Φ⁻¹ finite


# ----------------------------------------------------------------------------- Eq. (1) and Alg. 1
def _radius_t(sigma: torch.Tensor, e_a: torch.Tensor, e_b: torch.Tensor, clamp: float) -> torch.Tensor:
    """σ/2 (Φ⁻¹(E_A) − Φ⁻¹(E_B)) with E clamped to [clamp, 1 − clamp]; differentiable in all three."""
    lo, hi = clamp, 1.0 - clamp
    return sigma / 2 * (torch.special.ndtri(e_a.clamp(lo, hi)) - torch.special.ndtri(e_b.clamp(lo, hi)))


def proxy_radius(sigma, p_a, p_b, clamp: float = CLAMP) -> np.ndarray:
    """The radius of Eq. (1) at given (σ, p_A, p_B), with the optimiser's clamp; arrays broadcast.

    With ``clamp=0`` and exact p_A ≥ p_B this is Cohen et al.'s exact radius; the clamp caps it at
    σ Φ⁻¹(1 − clamp) (about 2.05 σ for the default).
    """
    func = "proxy_radius"
    clamp = check_float(clamp, "clamp", func, 0, 0.5, high_open=True)
    s, a, b = (np.asarray(v, dtype=np.float64) for v in (sigma, p_a, p_b))
    if np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"The 'sigma' parameter of {func} must be positive floats. Got {sigma!r} instead.")
    for name, arr, raw in (("p_a", a, p_a), ("p_b", b, p_b)):
        if np.any(~np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"The '{name}' parameter of {func} must be floats in [0, 1]. Got {raw!r} instead.")
    return _radius_t(torch.from_numpy(s), torch.from_numpy(a), torch.from_numpy(b), clamp).numpy()


SIGMA_RULES = ("paper", "fixed-top-class")
# "paper": Algorithm 1 as printed, and the authors' code (``OptimzeSigma`` / ddsmoothing's
#   ``optimize_isotropic_dds``: ``torch.topk(out, 2)`` at every step, ``sig.data += lr * grad``): E_A, E_B are
#   the top two classes of ψ(σ_k), re-picked at every step; σ has no floor.
# "fixed-top-class": Eq. (2) of the paper read literally (ours, the explorer's): c_A is the top class at σ_0
#   and stays fixed, so the answer keeps the σ_0 prediction and R(σ) < 0 pulls σ back where c_A loses; σ ≥ 0.01.


@dataclass(frozen=True)
class SigmaConfig:
    """Hyper-parameters of OptimizeSigma (Algorithm 1); ``SigmaConfig.preset(name)`` for the named settings."""
    sigma0: float = 0.25          # σ_x^0: the initial σ (the paper uses the training σ)
    steps: int = 900              # K steps (the paper cross-validates K and prints none; 900: the authors' code)
    lr: float = 1e-4              # α, the step size of σ ← σ + α ∇_σ R (the paper: 10⁻⁴)
    n: int = 1                    # Monte Carlo samples per step (the paper: 1, 8 with MACER)
    min_sigma: float = 0.0        # σ is kept ≥ this; 0: no floor (Algorithm 1 and the authors' code have none)
    clamp: float = CLAMP          # E_A, E_B clamped to [clamp, 1 − clamp]
    rule: str = "paper"           # SIGMA_RULES: re-pick the top two classes each step, or fix c_A at σ_0

    @classmethod
    def preset(cls, name: str, sigma0: float = 0.25) -> "SigmaConfig":
        """The named settings of ``PRESETS`` ("paper", "authors", "explorer") starting from ``sigma0``."""
        check_choice(name, "name", "SigmaConfig.preset", tuple(PRESETS))
        return cls(sigma0, **PRESETS[name])

    @property
    def preset_name(self) -> str | None:
        """The preset these settings are (whatever σ_0), or None for custom settings."""
        for name, kw in PRESETS.items():
            if all(getattr(self, k) == v for k, v in kw.items()) and self.clamp == CLAMP:
                return name
        return None

    def describe(self) -> str:
        """In words, for pages and captions: preset, rule, K, α, n, floor."""
        floor = f"σ ≥ {self.min_sigma:g}" if self.min_sigma > 0 else "no floor"
        rule = ("top two classes re-picked each step" if self.rule == "paper" else "c_A fixed at σ₀ (Eq. 2)")
        name = self.preset_name
        head = f"preset “{PRESET_LABELS[name]}”" if name else "custom settings"
        return f"{head}: rule “{self.rule}” ({rule}, {floor}), K = {self.steps}, α = {self.lr:g}, n = {self.n}"

    def validated(self, func: str = "optimize_sigma") -> "SigmaConfig":
        return SigmaConfig(check_float(self.sigma0, "sigma0", func, 0, None, low_open=True),
                           check_int(self.steps, "steps", func, 0, 10_000),
                           check_float(self.lr, "lr", func, 0, None),
                           check_int(self.n, "n", func, 1, 1_000_000),
                           check_float(self.min_sigma, "min_sigma", func, 0, None),
                           check_float(self.clamp, "clamp", func, 0, 0.5, high_open=True),
                           check_choice(self.rule, "rule", func, SIGMA_RULES))


PRESETS = {   # the named settings of OptimizeSigma (σ_0 apart)
    "paper": dict(steps=900, lr=1e-4, n=1, min_sigma=0.0, rule="paper"),       # Sec. 4: α = 10⁻⁴, n = 1 (K: see above)
    "authors": dict(steps=900, lr=0.04, n=100, min_sigma=0.0, rule="paper"),   # the authors' package defaults
    "explorer": dict(steps=20, lr=0.05, n=32, min_sigma=0.0, rule="paper"),    # the paper's rule, fast enough to click
    "fixed-top-class": dict(steps=20, lr=0.05, n=32, min_sigma=0.01, rule="fixed-top-class"),  # ours, the old default
}
PRESET_LABELS = {"paper": "paper (Alg. 1, Sec. 4)", "authors": "authors' code", "explorer": "explorer (paper's rule, fast)",
                 "fixed-top-class": "ours: c_A fixed, σ ≥ 0.01"}


@dataclass(frozen=True)
class SigmaSearch:
    """The result of ``optimize_sigma`` for M inputs."""
    sigma: np.ndarray             # (M,) σ*_x = σ_K
    sigmas: np.ndarray            # (M, S + 1) the trajectory σ_0 .. σ_K
    radii: np.ndarray             # (M, S + 1) the proxy radius R(σ_k), each from its own n samples
    prediction: np.ndarray        # (M,) the class ascended: c_A at σ_0 ("fixed-top-class"), y_A at σ_K ("paper")
    config: SigmaConfig


def _as_inputs(xs, func: str) -> torch.Tensor:
    if isinstance(xs, np.ndarray):
        xs = torch.from_numpy(np.ascontiguousarray(xs))
    if not isinstance(xs, torch.Tensor):
        raise ValueError(f"The 'xs' parameter of {func} must be a torch.Tensor or numpy array. Got {type(xs).__name__} instead.")
    if xs.ndim < 2 or xs.shape[0] == 0:
        raise ValueError(f"The 'xs' parameter of {func} must be a non-empty batch of shape (M, *D). Got shape {tuple(xs.shape)} instead.")
    if not torch.isfinite(xs.float()).all():
        raise ValueError(f"The 'xs' parameter of {func} must contain only finite values. Got NaN or inf instead.")
    return xs.float()


def _expectation(model, xs, sigma, eps) -> torch.Tensor:
    """ψ(σ) = 1/n Σ softmax f(x + σ ε̂_i), reparameterised (Eq. 3).   xs (m, *D), eps (m, n, *D)."""
    m, n = eps.shape[:2]
    scale = sigma.view(m, 1, *([1] * (xs.ndim - 1)))
    noisy = (xs[:, None] + scale * eps).reshape(m * n, *xs.shape[1:])     # (m n, *D)
    return model(noisy).softmax(-1).reshape(m, n, -1).mean(1)            # (m, K)


def _top_two(psi: torch.Tensor, c_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    e_a = psi.gather(1, c_a[:, None])[:, 0]                                # (m,)
    e_b = psi.scatter(1, c_a[:, None], -1.0).max(1).values                 # (m,)
    return e_a, e_b


def _optimize_chunk(model, xs, cfg: SigmaConfig, generator) -> tuple[np.ndarray, ...]:
    m = xs.shape[0]
    sigma = torch.full((m,), cfg.sigma0, device=xs.device)
    sigmas, radii, c_a = [], [], None
    for k in range(cfg.steps + 1):
        if isinstance(generator, list):                # one generator per input: its noise is its own
            eps = torch.stack([torch.randn((cfg.n, *xs.shape[1:]), generator=g, device=g.device)
                               for g in generator]).to(xs.device)
        else:
            noise_device = generator.device if generator is not None else xs.device
            eps = torch.randn((m, cfg.n, *xs.shape[1:]), generator=generator, device=noise_device).to(xs.device)
        s = sigma.clone().requires_grad_(True)
        with torch.enable_grad():
            psi = _expectation(model, xs, s, eps)                          # (m, K)
            if c_a is None or cfg.rule == "paper":
                c_a = psi.detach().argmax(1)          # "paper": y_A of this step; else c_A at σ_0 (Eq. 2)
            radius = _radius_t(s, *_top_two(psi, c_a), cfg.clamp)          # (m,)
            grad = torch.autograd.grad(radius.sum(), s)[0] if k < cfg.steps else None
        sigmas.append(sigma.cpu().numpy()), radii.append(radius.detach().cpu().numpy())
        if grad is not None:                   # the last pass only measures R(σ_K)
            sigma = sigma + cfg.lr * torch.nan_to_num(grad)
            if cfg.min_sigma > 0:
                sigma = sigma.clamp_min(cfg.min_sigma)
    return np.stack(sigmas, 1), np.stack(radii, 1), c_a.cpu().numpy()


def optimize_sigma(model: nn.Module, xs, config: SigmaConfig = SigmaConfig(), batch_size: int = 10_000,
                   generator: torch.Generator | list[torch.Generator] | None = None) -> SigmaSearch:
    """OptimizeSigma (Algorithm 1) for every input of ``xs`` (M, *D), batched over inputs.

    Each step draws n fresh ε̂ ~ N(0, I) per input, estimates ψ(σ_k) of the soft classifier, and
    ascends R(σ_k) = σ_k/2 (Φ⁻¹(E_A) − Φ⁻¹(E_B)). ``config.rule`` says which classes: "paper" (Algorithm 1
    as printed and the authors' code) takes the top two of ψ(σ_k) at every step, so R ≥ 0 always and σ
    can drift far when ψ is noisy (n = 1); "fixed-top-class" keeps c_A, the top class at σ_0 (Eq. 2), so
    the prediction does not change. Without a floor σ_k may cross 0; N(0, σ²) depends on σ² only, so
    σ* = |σ_K|. No guarantee comes with σ*: it is a heuristic choice; see the module docstring.
    Up to ``batch_size`` noisy samples are evaluated at once; the same generator seed and batch_size
    give identical results. A list of M generators gives input i its noise from ``generator[i]`` alone, so its
    result does not depend on the other inputs or on batch_size. The device is the model's (the input's for a
    parameter-free model).
    """
    func = "optimize_sigma"
    if not isinstance(model, nn.Module):
        raise ValueError(f"The 'model' parameter of {func} must be a torch.nn.Module. Got {type(model).__name__} instead.")
    cfg = config.validated(func)
    batch_size = check_int(batch_size, "batch_size", func, 1)
    xs = _as_inputs(xs, func)
    xs = xs.to(model_device(model, xs.device))
    _check_generators(generator, len(xs), func)
    per = max(1, batch_size // cfg.n)
    was_training = model.training
    model.eval()
    try:
        parts = [_optimize_chunk(model, xs[s:s + per], cfg, generator[s:s + per] if isinstance(generator, list)
                                 else generator) for s in range(0, len(xs), per)]
    except RuntimeError as exc:
        raise ValueError(f"The model could not be evaluated on inputs of shape {tuple(xs.shape[1:])}: {exc}") from None
    finally:
        model.train(was_training)
    sigmas, radii, c_a = (np.concatenate(p) for p in zip(*parts))
    return SigmaSearch(np.abs(sigmas[:, -1]), sigmas, radii, c_a, cfg)


def certify_at_sigma(model: nn.Module, num_classes: int, xs, sigmas, n0: int, n: int, alpha: float,
                     batch_size: int = 10_000, generator: torch.Generator | list[torch.Generator] | None = None
                     ) -> list[Certificate]:
    """Cohen et al.'s CERTIFY of each input x_i at its own σ_i (Sec. 3.5, before the memory); with a list of
    generators, input i's noise comes from ``generator[i]`` alone.

    Each certificate is a valid (1 − α) statement about g_{σ_i}, the classifier smoothed with the
    *fixed* σ_i, only; it is not a certificate of the data-dependent classifier.
    """
    func = "certify_at_sigma"
    xs = _as_inputs(xs, func)
    sig = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    if sig.shape[0] != xs.shape[0] or np.any(~np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"The 'sigmas' parameter of {func} must hold one positive float per input "
                         f"({xs.shape[0]}). Got shape {sig.shape} instead.")
    _check_generators(generator, len(xs), func)
    gens = generator if isinstance(generator, list) else [generator] * len(xs)
    return [Smooth(model, num_classes, float(s)).certify(x, n0, n, alpha, batch_size, g)
            for x, s, g in zip(xs, sig, gens)]


def _check_generators(generator, count: int, func: str) -> None:
    if isinstance(generator, list) and len(generator) != count:
        raise ValueError(f"The 'generator' parameter of {func} must be one generator or a list of one per input "
                         f"({count}). Got a list of {len(generator)} instead.")


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
