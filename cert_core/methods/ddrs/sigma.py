"""Data-dependent randomized smoothing (Alfarra, Bibi, Torr & Ghanem, UAI 2022).

Per-input noise: instead of one global σ, each input x is smoothed with the σ*_x that maximises the
radius of Eq. (1), R = σ/2 (Φ⁻¹(E_A) − Φ⁻¹(E_B)), found by ``optimize_sigma`` (Algorithm 1): K steps
of stochastic gradient ascent on σ, with the expectation of the *soft* classifier (softmax of the
model) estimated by n reparameterised samples x + σ ε̂, ε̂ ~ N(0, I) (Eq. 3).

Soundness. Certifying each x with Cohen et al.'s CERTIFY at its own σ*_x does **not** certify the
data-dependent classifier (Súkeník, Kuvshinov & Günnemann, ICML 2022); ``cert_core.methods.ddrs.memory`` holds the
memory of Sec. 3.5 and a concrete 2D counterexample.

Shapes: M inputs, D the input shape, K classes, S steps, n samples per step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cert_core.smoothing import Certificate, Smooth
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
