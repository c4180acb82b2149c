"""The robustness curves and AUCs of Appendix B of "Smoothed Robustness Analysis" (SRA).

* B.1 certified-radius "survival" curves: the fraction of test points that are correct with CR >= r, for
  the margin CR (Eq. 6, deterministic) and for the randomized-smoothing CR (Cohen et al. CERTIFY); their
  AUC_CR = 0.5 dr sum_j (S(r_{j+1}) + S(r_j)) is the average certified radius.
* B.2 noise-accuracy curve NoiseAcc(sigma_j) (base model under N(0, sigma_j^2 I), ``samples`` draws per
  input, 100 in the paper), its normalisation NoiseAcc' = (1 - a_j) A_j / (1 - a_j A_j) with
  a_j = 1 - (A_j - min A) / (A_0 - min A), which keeps A_0 and maps the floor ~1/|C| to 0, and AUC_GN.
* B.3 linear-corruption curve (Jang et al. 2021): accuracy on I = a x + (1 - a) n with n a "gray" image
  (the middle of the data range) plus N(0, (6/255 range)^2) noise, for a in [0, 1].

Curves are fractions in [0, 1] (the paper plots counts); AUCs use the trapezoid rule on uniform grids.
The two CR curves have *separate* radius grids: margin radii of an unconstrained net are ~1e-2 while Cohen
radii reach sigma Phi^-1(alpha^(1/n)) (~2.5 sigma), so one grid would truncate one of them. By default each
grid runs from 0 to just past the largest radius its certificate can give (``cr_grid``), so every curve
ends at 0 and its AUC equals the average certified radius up to the trapezoid error (<= step / 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cert_core.metrics import certified_accuracy
from cert_core.models.train import accuracy, noisy_accuracy
from cert_core.validation import check_float, check_int


def auc(values, step: float) -> float:
    """0.5 step sum_j (v_{j+1} + v_j): the trapezoid area of a curve sampled every ``step`` (App. B.1-B.2)."""
    step = check_float(step, "step", "auc", low=0.0, low_open=True)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"The 'values' parameter of auc must be a 1-D array of >= 2 finite numbers. "
                         f"Got shape {v.shape} instead.")
    return float(0.5 * step * np.sum(v[1:] + v[:-1]))


def cr_grid(top: float, steps: int) -> np.ndarray:
    """``steps`` uniform radii from 0 whose last one lies one step past ``top`` (> 0), so a survival curve
    of radii <= top ends at 0: (steps,)."""
    top = check_float(top, "top", "cr_grid", low=0.0, low_open=True)
    steps = check_int(steps, "steps", "cr_grid", low=3)
    return top / (steps - 2) * np.arange(steps)


def largest_cohen_radius(sigma: float, n: int, alpha: float) -> float:
    """The largest radius CERTIFY can return with n samples: sigma Phi^-1(alpha^(1/n)) (all n votes agree)."""
    from cert_core.stats import gaussian_radius, lower_confidence_bound
    return float(gaussian_radius(lower_confidence_bound(n, n, alpha), sigma))


def radius_survival(radii, correct, radius_grid) -> np.ndarray:
    """App. B.1: fraction of points correct with certified radius >= r, per r: (R,)."""
    return certified_accuracy(radii, correct, radius_grid)


def normalized_noise_accuracy(acc) -> np.ndarray:
    """App. B.2: NoiseAcc'_j = (1 - a_j) A_j / (1 - a_j A_j); keeps A_0, sends min_k A_k to 0. (J,) -> (J,)."""
    a = np.asarray(acc, dtype=np.float64)
    if a.ndim != 1 or a.size < 2 or np.any((a < 0) | (a > 1)):
        raise ValueError(f"The 'acc' parameter of normalized_noise_accuracy must be a 1-D array of >= 2 "
                         f"accuracies in [0, 1]. Got {acc!r} instead.")
    lo, top = a.min(), a[0]
    if top <= lo:  # flat (or rising) curve: nothing to normalise against
        return a.copy()
    alpha = np.clip(1.0 - (a - lo) / (top - lo), 0.0, 1.0)
    denom = 1.0 - alpha * a
    return np.where(denom > 0, (1.0 - alpha) * a / np.where(denom > 0, denom, 1.0), 0.0)


def noise_accuracy_curve(model, x, y, sigmas, samples: int = 100, seed: int = 0) -> np.ndarray:
    """App. B.2 steps 1-4: accuracy of the base model on x + N(0, sigma^2 I) per sigma, ``samples`` draws."""
    return noisy_accuracy(model, x, y, sigmas, samples=samples, seed=seed)


def linear_corruption_curve(model, x, y, alphas, seed: int = 0) -> np.ndarray:
    """App. B.3: accuracy on a x + (1 - a) n, n = mid-range gray + N(0, (6/255 * range)^2), per a: (A,)."""
    check_int(seed, "seed", "linear_corruption_curve", low=0)
    alphas = [check_float(a, "alphas", "linear_corruption_curve", low=0.0, high=1.0) for a in np.atleast_1d(alphas)]
    x = np.asarray(x, dtype=np.float32)
    lo, hi = float(x.min()), float(x.max())
    rng = np.random.default_rng(seed)
    gray = 0.5 * (lo + hi) + (6.0 / 255.0) * (hi - lo) * rng.standard_normal(x.shape).astype(np.float32)
    return np.array([accuracy(model, a * x + (1.0 - a) * gray, y) for a in alphas])


@dataclass(frozen=True)
class RobustnessCurves:
    radius_grid: np.ndarray  # (R,) radii of the margin CR curve
    margin_cr: np.ndarray  # (R,) survival of the margin CR (Eq. 6)
    rs_radius_grid: np.ndarray | None  # (S,) radii of the Cohen CR curve (its own grid), None if not computed
    rs_cr: np.ndarray | None  # (S,) survival of the Cohen CR, None if not computed
    sigmas: np.ndarray  # (J,) noise levels of the noise-accuracy curve
    noise_acc: np.ndarray  # (J,) NoiseAcc
    noise_acc_norm: np.ndarray  # (J,) NoiseAcc'
    alphas: np.ndarray  # (A,) signal fractions of the linear corruption
    corruption_acc: np.ndarray  # (A,)

    @property
    def aucs(self) -> dict:
        """AUC_CR (margin), AUC_CR (RS), AUC_GN (on the normalised curve), and the corruption AUC; each
        on its own grid."""
        dr, ds = self.radius_grid[1] - self.radius_grid[0], self.sigmas[1] - self.sigmas[0]
        out = {"AUC_CR margin": auc(self.margin_cr, dr), "AUC_GN": auc(self.noise_acc_norm, ds),
               "AUC corruption": auc(self.corruption_acc, self.alphas[1] - self.alphas[0])}
        if self.rs_cr is not None:
            out["AUC_CR RS"] = auc(self.rs_cr, self.rs_radius_grid[1] - self.rs_radius_grid[0])
        return out


def margin_radii(model, x, y, lipschitz: float, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """MCR (Eq. 6) of every test point, clipped at 0, and whether the base model is correct: (N,), (N,)."""
    from cert_core.methods.margin.radii import mcr  # local: margin imports models, keep this module light to import
    xs = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    ys = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    with torch.no_grad():
        logits = torch.cat([model(b) for b in xs.split(batch_size)])
    radii = mcr(logits, ys, lipschitz).clamp_min(0).numpy()
    return radii.astype(np.float64), (logits.argmax(1) == ys).numpy()


@dataclass(frozen=True)
class ReportParams:
    max_radius: float | None = None  # end of the margin CR grid; None: one step past the largest margin radius
    radius_steps: int = 21  # points of each CR grid (the paper takes ~10 increments to degrade fully)
    rs_max_radius: float | None = None  # end of the RS CR grid; None: past the largest radius CERTIFY can give
    sigma_step: float = 0.2  # Delta sigma_x of the noise-accuracy curve (App. B.2, MNIST)
    sigma_steps: int = 11  # points of the noise-accuracy curve
    noise_samples: int = 20  # draws per input per sigma (the paper: 100)
    rs_sigma: float = 0.25  # sigma of CERTIFY for the RS CR (App. B.1: 0.25)
    rs_n: int = 1000  # CERTIFY estimation samples (the paper: 1e5)
    rs_alpha: float = 0.001  # CERTIFY failure probability
    seed: int = 0


def robustness_report(model, x, y, num_classes: int, lipschitz: float, params: ReportParams = ReportParams(),
                      ) -> RobustnessCurves:
    """All four Appendix B curves for one model on a test set (RS CR skipped when rs_n == 0)."""
    p = params
    radii, correct = margin_radii(model, x, y, lipschitz)
    top = p.max_radius if p.max_radius is not None else float(np.max(radii, initial=0.0))
    grid = cr_grid(max(top, 1e-6), p.radius_steps)  # all-zero radii: a tiny grid whose curve still ends at 0
    rs_grid, rs = None, None
    if p.rs_n > 0:
        rs_grid, rs = rs_survival(model, x, y, num_classes, p)
    sigmas = p.sigma_step * np.arange(p.sigma_steps)
    noise = noise_accuracy_curve(model, x, y, sigmas, samples=p.noise_samples, seed=p.seed)
    alphas = np.linspace(0.0, 1.0, 21)  # Jang et al.: 0.05 increments
    return RobustnessCurves(grid, radius_survival(radii, correct, grid), rs_grid, rs, sigmas, noise,
                            normalized_noise_accuracy(noise), alphas,
                            linear_corruption_curve(model, x, y, alphas, seed=p.seed))


def rs_survival(model, x, y, num_classes: int, params: ReportParams) -> tuple[np.ndarray, np.ndarray]:
    """App. B.1 for randomized smoothing: Cohen CERTIFY (n0 = 100, ``rs_n``, ``rs_alpha``, ``rs_sigma``) on every
    test point, and the survival of its radii on their own grid (abstentions count as wrong): (S,), (S,)."""
    from cert_core.smoothing import Smooth
    p = params
    certs = Smooth(model, num_classes, p.rs_sigma).certify_batch(
        torch.as_tensor(np.asarray(x), dtype=torch.float32), 100, p.rs_n, p.rs_alpha,
        generator=torch.Generator().manual_seed(p.seed))
    radii = np.array([max(c.radius, 0.0) for c in certs])
    correct = np.array([c.prediction for c in certs]) == np.asarray(y)
    top = p.rs_max_radius if p.rs_max_radius is not None else largest_cohen_radius(p.rs_sigma, p.rs_n, p.rs_alpha)
    grid = cr_grid(top, p.radius_steps)
    return grid, radius_survival(radii, correct, grid)

