"""Data-dependent smoothing (Alfarra et al., 2022): Eq. (1) proxy, Algorithm 1, memory (Fig. 2),
and the soundness counterexample."""
import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from cert_core.methods.ddrs import sigma as ddrs
from cert_core.methods.ddrs.sigma import CertificationMemory, SigmaConfig, optimize_sigma, proxy_radius
from cert_core.smoothing import ABSTAIN
from cert_core.stats import exact_gaussian_radius


class ProbitStripe(torch.nn.Module):
    """Soft classifier: P(class 1 | x) = Φ(k(x₁ + h)) − Φ(k(x₁ − h)), a soft stripe |x₁| < h.

    Smoothing it with N(0, σ²) is the hard stripe smoothed with σ_eff = √(σ² + 1/k²), so at the
    stripe's centre R(σ) = σ Φ⁻¹(2Φ(h/σ_eff) − 1): zero at σ → 0 and σ → ∞, one interior maximum.
    """

    def __init__(self, h: float = 0.5, k: float = 5.0):
        super().__init__()
        self.h, self.k = h, k

    def forward(self, x):
        p = torch.special.ndtr(self.k * (x[:, 0] + self.h)) - torch.special.ndtr(self.k * (x[:, 0] - self.h))
        p = p.clamp(1e-7, 1 - 1e-7)
        return torch.stack([torch.log1p(-p), torch.log(p)], 1)      # softmax gives back (1 − p, p)

    def exact_radius(self, sigma):
        p = 2 * norm.cdf(self.h / np.sqrt(sigma ** 2 + self.k ** -2)) - 1
        return sigma / 2 * (norm.ppf(p) - norm.ppf(1 - p))


def test_proxy_radius_closed_form():
    # unclamped, it is Cohen's exact two-class radius
    for s, pa, pb in [(0.25, 0.9, 0.1), (1.0, 0.7, 0.2), (0.5, 0.6, 0.4)]:
        assert proxy_radius(s, pa, pb, clamp=0) == pytest.approx(exact_gaussian_radius(pa, pb, s), rel=1e-12)
    assert proxy_radius(0.5, 0.8413447460685429, 0.15865525393145707, clamp=0) == pytest.approx(0.5, rel=1e-9)
    # the clamp caps E_A at 0.98: R = σ Φ⁻¹(0.98) when p_A = 1, p_B = 0
    assert proxy_radius(2.0, 1.0, 0.0) == pytest.approx(2.0 * norm.ppf(0.98), rel=1e-12)
    np.testing.assert_allclose(proxy_radius([0.1, 0.2], 0.9, 0.05), [0.1, 0.2] * np.array(
        (norm.ppf(0.9) - norm.ppf(0.05)) / 2), rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(sigma=0.0, p_a=0.9, p_b=0.1), "'sigma' parameter of proxy_radius"),
    (dict(sigma=0.5, p_a=1.2, p_b=0.1), "'p_a' parameter of proxy_radius"),
    (dict(sigma=0.5, p_a=0.9, p_b=0.1, clamp=0.5), "'clamp' parameter of proxy_radius"),
])
def test_proxy_radius_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        proxy_radius(**kwargs)


def test_optimizer_finds_the_known_sigma_star_from_both_sides():
    model = ProbitStripe()
    best = minimize_scalar(lambda s: -model.exact_radius(s), bounds=(0.01, 1.0), method="bounded")
    sigma_star, r_star = best.x, -best.fun                                # ≈ 0.259, 0.296
    xs = torch.zeros(4, 2)
    for sigma0 in (0.1, 0.6):
        cfg = SigmaConfig(sigma0=sigma0, steps=60, lr=0.05, n=256)
        res = optimize_sigma(model, xs, cfg, generator=torch.Generator().manual_seed(0))
        assert res.sigmas.shape == res.radii.shape == (4, 61)
        assert np.all(res.prediction == 1)
        np.testing.assert_allclose(res.sigma, sigma_star, atol=0.03)
        assert np.all(model.exact_radius(res.sigma) > model.exact_radius(sigma0))
        assert np.all(model.exact_radius(res.sigma) > r_star - 0.01)


def test_optimizer_is_seeded_batched_and_keeps_sigma_positive():
    model = ProbitStripe()
    xs = torch.tensor([[0.0, 0.0], [0.3, 1.0], [2.0, 0.0]])
    cfg = SigmaConfig(sigma0=0.3, steps=5, lr=5.0, n=16, min_sigma=0.02)
    a = optimize_sigma(model, xs, cfg, batch_size=64, generator=torch.Generator().manual_seed(3))
    b = optimize_sigma(model, xs, cfg, batch_size=64, generator=torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(a.sigmas, b.sigmas)
    assert np.all(a.sigmas >= 0.02) and np.all(a.sigmas[:, 0] == 0.3)
    one = optimize_sigma(model, xs[:1], cfg, generator=torch.Generator().manual_seed(3))
    assert one.sigma.shape == (1,)
    assert optimize_sigma(model, xs, SigmaConfig(steps=0)).sigma.tolist() == [0.25] * 3
    # works on numpy inputs and a real MLP
    mlp = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    res = optimize_sigma(mlp, np.zeros((2, 2), np.float32), SigmaConfig(steps=2, n=4))
    assert res.sigma.shape == (2,) and np.all(np.isfinite(res.radii))


@pytest.mark.parametrize("call, match", [
    (lambda m: optimize_sigma(m, torch.zeros(2, 2), SigmaConfig(sigma0=-1)), "'sigma0' parameter of optimize_sigma"),
    (lambda m: optimize_sigma(m, torch.zeros(2, 2), SigmaConfig(n=0)), "'n' parameter of optimize_sigma"),
    (lambda m: optimize_sigma(m, torch.zeros(0, 2)), "'xs' parameter of optimize_sigma"),
    (lambda m: optimize_sigma(m, [[0.0, 0.0]]), "'xs' parameter of optimize_sigma"),
    (lambda m: optimize_sigma(m, torch.zeros(2, 5)), "could not be evaluated"),
    (lambda m: optimize_sigma("model", torch.zeros(2, 2)), "'model' parameter of optimize_sigma"),
    (lambda m: ddrs.certify_at_sigma(m, 2, torch.zeros(2, 2), [0.1], 10, 10, 0.1), "'sigmas' parameter"),
])
def test_bad_arguments_are_clear(call, match):
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match=match):
        call(model)


def test_certify_at_sigma_uses_each_inputs_sigma():
    model = ProbitStripe()
    certs = ddrs.certify_at_sigma(model, 2, torch.zeros(2, 2), [0.1, 0.3], 50, 500, 0.01,
                                  generator=torch.Generator().manual_seed(0))
    assert [c.sigma for c in certs] == [0.1, 0.3]
    assert all(c.prediction == 1 for c in certs)


# ----------------------------------------------------------------------------- memory, Figure 2
def test_memory_left_same_class_overlap_is_kept():
    mem = CertificationMemory()
    mem.query([0, 0], 1, 1.0)
    ans = mem.query([1.5, 0], 1, 1.0)
    assert (ans.prediction, ans.radius, ans.case, ans.conflict) == (1, 1.0, "added", False)
    assert len(mem) == 2 and mem.conflicts == 0


def test_memory_middle_inside_other_region_takes_its_class_and_largest_inner_ball():
    mem = CertificationMemory()
    mem.query([0, 0], 0, 1.0)
    ans = mem.query([0.6, 0], 1, 2.0)
    assert (ans.prediction, ans.case, ans.culprits) == (0, "relabelled", (0,))
    assert ans.radius == pytest.approx(0.4)                             # 1.0 − 0.6: the ball inside R_1
    assert (ans.proposed_prediction, ans.proposed_radius) == (1, 2.0)
    assert mem.conflicts == 1


def test_memory_right_outside_shrinks_to_largest_disjoint_ball():
    mem = CertificationMemory()
    mem.query([0, 0], 0, 1.0)
    ans = mem.query([3, 4], 1, 6.0)                                      # distance 5
    assert (ans.prediction, ans.case) == (1, "shrunk")
    assert ans.radius == pytest.approx(4.0)
    ans = mem.query([0, -1.5], 2, 0.2)                                   # no intersection: untouched
    assert (ans.radius, ans.case) == (0.2, "added")
    centers, radii, classes = mem.regions
    dist = np.linalg.norm(centers[:, None] - centers[None], axis=-1)
    differ = classes[:, None] != classes[None]
    assert np.all(dist[differ] >= (radii[:, None] + radii[None])[differ] - 1e-12)   # the invariant


def test_memory_abstentions_and_touching_regions():
    mem = CertificationMemory()
    mem.query([0, 0], 0, 1.0)
    inside = mem.query([0.5, 0], ABSTAIN, 0.0)
    assert (inside.prediction, inside.case, inside.radius) == (0, "relabelled", 0.0)
    outside = mem.query([5, 0], ABSTAIN, 0.0)
    assert (outside.prediction, outside.case) == (ABSTAIN, "abstain")
    touching = mem.query([2, 0], 1, 1.0)                                 # open balls: no overlap
    assert (touching.radius, touching.case) == (1.0, "added")
    assert len(mem) == 2
    with pytest.raises(ValueError, match="'x' parameter of CertificationMemory.query"):
        mem.query([1, 2, 3], 0, 1.0)
    with pytest.raises(ValueError, match="'radius' parameter"):
        mem.query([1, 2], 0, -1.0)


def test_memory_random_queries_keep_regions_of_different_classes_disjoint():
    rng = np.random.default_rng(0)
    mem = CertificationMemory()
    answers = mem.query_all(rng.uniform(-3, 3, (200, 2)), rng.integers(0, 3, 200), rng.uniform(0, 1.5, 200))
    centers, radii, classes = mem.regions
    dist = np.linalg.norm(centers[:, None] - centers[None], axis=-1)
    differ = classes[:, None] != classes[None]
    assert np.all(dist[differ] >= (radii[:, None] + radii[None])[differ] - 1e-9)
    assert mem.conflicts == sum(a.conflict for a in answers) > 0
    assert all(a.radius <= a.proposed_radius + 1e-12 for a in answers)


# ----------------------------------------------------------------------------- soundness
def test_counterexample_without_memory_is_inconsistent_and_memory_depends_on_order():
    cex = ddrs.stripe_counterexample()
    far, inn = cex.points
    assert cex.prediction.tolist() == [0, 1]
    assert cex.sigma_star[0] > 10 * cex.sigma_star[1]                   # large σ far away, small σ on the stripe
    assert cex.inconsistent and cex.distance == pytest.approx(1.1)
    assert cex.radius[0] > 3                                              # "certifies" class 0 over the stripe
    # the exact probability confirms x_in really is class 1 at its own σ*, and class 0 at x_far's σ*
    assert ddrs.stripe_probability(inn[0], 0.0, 0.2, cex.sigma_star[1]) > 0.5
    assert ddrs.stripe_probability(inn[0], 0.0, 0.2, cex.sigma_star[0]) < 0.5
    # memory: far-first relabels x_in to class 0; in-first keeps class 1 and shrinks x_far's ball
    assert cex.memory_far_first[1].case == "relabelled" and cex.memory_far_first[1].prediction == 0
    assert cex.memory_in_first[0].prediction == 1
    assert cex.memory_in_first[1].case == "shrunk"
    assert cex.memory_in_first[1].radius == pytest.approx(cex.distance - cex.radius[1])
    assert cex.order_dependent


def test_counterexample_rejects_bad_stripe():
    with pytest.raises(ValueError, match="'stripe' parameter of stripe_counterexample"):
        ddrs.stripe_counterexample(stripe=(1.0, 0.0))
    assert math.isfinite(ddrs.stripe_counterexample(stripe=(0.0, 0.5)).radius[1])


def test_memory_certify_returns_answers_in_input_order():
    xs = np.array([[0.0, 0.0], [0.5, 0.0]])
    fwd, mem = ddrs.memory_certify(xs, [0, 1], [1.0, 1.0])
    rev, _ = ddrs.memory_certify(xs, [0, 1], [1.0, 1.0], order=[1, 0])
    assert [a.prediction for a in fwd] == [0, 0] and fwd[1].case == "relabelled" and len(mem) == 2
    assert [a.prediction for a in rev] == [1, 1] and rev[0].case == "relabelled"
    with pytest.raises(ValueError, match="'order' parameter of memory_certify"):
        ddrs.memory_certify(xs, [0, 1], [1.0, 1.0], order=[0, 0])
