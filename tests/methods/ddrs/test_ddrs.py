"""Data-dependent smoothing (Alfarra et al., 2022): Eq. (1) proxy, Algorithm 1, memory (Fig. 2),
and the soundness counterexample."""
import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from cert_core.methods.ddrs import sigma as ddrs
from cert_core.methods.ddrs import memory as ddrs_memory
from cert_core.methods.ddrs.memory import CertificationMemory
from cert_core.methods.ddrs.sigma import SigmaConfig, optimize_sigma, proxy_radius
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
    # unclamped, it is Cohen's exact two-class radius (1e-7: another scipy's ppf may round differently; a wrong
    # formula or clamp is off by far more)
    for s, pa, pb in [(0.25, 0.9, 0.1), (1.0, 0.7, 0.2), (0.5, 0.6, 0.4)]:
        assert proxy_radius(s, pa, pb, clamp=0) == pytest.approx(exact_gaussian_radius(pa, pb, s), rel=1e-7)
    assert proxy_radius(0.5, 0.8413447460685429, 0.15865525393145707, clamp=0) == pytest.approx(0.5, rel=1e-7)
    # the clamp caps E_A at 0.98: R = σ Φ⁻¹(0.98) when p_A = 1, p_B = 0
    assert proxy_radius(2.0, 1.0, 0.0) == pytest.approx(2.0 * norm.ppf(0.98), rel=1e-7)
    np.testing.assert_allclose(proxy_radius([0.1, 0.2], 0.9, 0.05), [0.1, 0.2] * np.array(
        (norm.ppf(0.9) - norm.ppf(0.05)) / 2), rtol=1e-7)


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
    cex = ddrs_memory.stripe_counterexample()
    far, inn = cex.points
    assert cex.prediction.tolist() == [0, 1]
    assert cex.sigma_star[0] > 10 * cex.sigma_star[1]                   # large σ far away, small σ on the stripe
    assert cex.inconsistent and cex.distance == pytest.approx(1.1)
    assert cex.radius[0] > 3                                              # "certifies" class 0 over the stripe
    # the exact probability confirms x_in really is class 1 at its own σ*, and class 0 at x_far's σ*
    assert ddrs_memory.stripe_probability(inn[0], 0.0, 0.2, cex.sigma_star[1]) > 0.5
    assert ddrs_memory.stripe_probability(inn[0], 0.0, 0.2, cex.sigma_star[0]) < 0.5
    # memory: far-first relabels x_in to class 0; in-first keeps class 1 and shrinks x_far's ball
    assert cex.memory_far_first[1].case == "relabelled" and cex.memory_far_first[1].prediction == 0
    assert cex.memory_in_first[0].prediction == 1
    assert cex.memory_in_first[1].case == "shrunk"
    assert cex.memory_in_first[1].radius == pytest.approx(cex.distance - cex.radius[1])
    assert cex.order_dependent


def test_counterexample_rejects_bad_stripe():
    with pytest.raises(ValueError, match="'stripe' parameter of stripe_counterexample"):
        ddrs_memory.stripe_counterexample(stripe=(1.0, 0.0))
    assert math.isfinite(ddrs_memory.stripe_counterexample(stripe=(0.0, 0.5)).radius[1])


def test_memory_certify_returns_answers_in_input_order():
    xs = np.array([[0.0, 0.0], [0.5, 0.0]])
    fwd, mem = ddrs_memory.memory_certify(xs, [0, 1], [1.0, 1.0])
    rev, _ = ddrs_memory.memory_certify(xs, [0, 1], [1.0, 1.0], order=[1, 0])
    assert [a.prediction for a in fwd] == [0, 0] and fwd[1].case == "relabelled" and len(mem) == 2
    assert [a.prediction for a in rev] == [1, 1] and rev[0].case == "relabelled"
    with pytest.raises(ValueError, match="'order' parameter of memory_certify"):
        ddrs_memory.memory_certify(xs, [0, 1], [1.0, 1.0], order=[0, 0])


# ----------------------------------------------------------------------------- rules and presets (audit items 3, 4)
def _algorithm_1_by_hand(model, xs, sigma0, steps, lr, n, seed):
    """Algorithm 1 as printed (and the authors' ``topk(out, 2)``): top two re-picked each step, no floor."""
    gen = torch.Generator().manual_seed(seed)
    sig = torch.full((len(xs),), sigma0)
    path = [sig.clone()]
    for _ in range(steps):
        eps = torch.randn((len(xs), n, *xs.shape[1:]), generator=gen)
        s = sig.clone().requires_grad_(True)
        psi = model((xs[:, None] + s[:, None, None] * eps).reshape(-1, xs.shape[1])).softmax(-1)
        top = psi.reshape(len(xs), n, -1).mean(1).topk(2).values.clamp(0.02, 0.98)       # (m, 2)
        radius = s / 2 * (torch.special.ndtri(top[:, 0]) - torch.special.ndtri(top[:, 1]))
        sig = sig + lr * torch.autograd.grad(radius.sum(), s)[0]
        path.append(sig.clone())
    return torch.stack(path, 1).detach().numpy()


def _mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))


def test_default_rule_is_algorithm_1_as_printed_top_two_each_step_no_floor():
    model, xs = _mlp(), torch.tensor([[0.0, 0.0], [0.3, -0.2], [1.0, 1.0], [-0.5, 0.4]])
    cfg = SigmaConfig(sigma0=0.05, steps=25, lr=0.2, n=1)                 # the paper's n = 1, a large step
    assert cfg.rule == "paper" and cfg.min_sigma == 0
    res = optimize_sigma(model, xs, cfg, generator=torch.Generator().manual_seed(4))
    by_hand = _algorithm_1_by_hand(model, xs, 0.05, 25, 0.2, 1, 4)
    np.testing.assert_allclose(res.sigmas, by_hand, rtol=1e-5, atol=1e-6)
    assert res.radii.min() >= 0                                             # top two: R ≥ 0 at every step
    # the old optimiser (c_A fixed at σ0, σ ≥ 0.01) is the named variant "fixed-top-class"
    old = optimize_sigma(model, xs, SigmaConfig.preset("fixed-top-class", 0.05), generator=torch.Generator().manual_seed(4))
    assert old.config.rule == "fixed-top-class" and np.all(old.sigmas >= 0.01)


def test_no_floor_and_top_two_let_sigma_drift_far_from_sigma0():
    model = ProbitStripe()
    xs = torch.tensor([[0.52, 0.0]])                                         # on the stripe's edge
    cfg = SigmaConfig(sigma0=0.02, steps=30, lr=0.5, n=8)
    res = optimize_sigma(model, xs, cfg, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(res.sigmas, _algorithm_1_by_hand(model, xs, 0.02, 30, 0.5, 8, 0), rtol=1e-5, atol=1e-6)
    assert res.sigma[0] > 10 and np.all(np.diff(res.sigmas[0]) > 0)         # R ≥ 0 always: σ only grows
    assert res.sigma[0] == pytest.approx(abs(res.sigmas[0, -1]))
    tiny = optimize_sigma(model, xs, SigmaConfig(sigma0=0.005, steps=3, lr=0.0, n=1))
    np.testing.assert_allclose(tiny.sigmas, 0.005, rtol=1e-6)                # no 0.01 floor


def test_presets_name_the_paper_the_authors_code_the_explorer_and_ours():
    assert SigmaConfig() == SigmaConfig.preset("paper")                      # the library default: the paper
    p, a = SigmaConfig.preset("paper", 0.5), SigmaConfig.preset("authors", 0.5)
    assert (p.sigma0, p.lr, p.n, p.steps, p.rule, p.min_sigma) == (0.5, 1e-4, 1, 900, "paper", 0.0)
    assert (a.lr, a.n, a.steps, a.rule, a.min_sigma) == (0.04, 100, 900, "paper", 0.0)
    ours = SigmaConfig.preset("fixed-top-class")
    assert (ours.lr, ours.n, ours.steps, ours.rule, ours.min_sigma) == (0.05, 32, 20, "fixed-top-class", 0.01)
    assert SigmaConfig.preset("explorer").rule == "paper"
    assert a.preset_name == "authors" and SigmaConfig(steps=3).preset_name is None
    assert "authors' code" in a.describe() and "no floor" in a.describe() and "custom" in SigmaConfig(n=2).describe()
    with pytest.raises(ValueError, match="'name' parameter of SigmaConfig.preset"):
        SigmaConfig.preset("fast")
    with pytest.raises(ValueError, match="'rule' parameter of optimize_sigma"):
        optimize_sigma(ProbitStripe(), torch.zeros(1, 2), SigmaConfig(rule="mine", steps=1))


def test_in_the_one_sample_setting_the_two_rules_disagree_on_every_input():
    model = torch.nn.Linear(2, 2)                                            # class 1 iff x₁ > 0, soft
    with torch.no_grad():
        model.weight[:] = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
        model.bias.zero_()
    xs = torch.tensor([[0.05, 0.0], [-0.1, 0.3], [0.2, -1.0], [-0.3, 0.0], [0.4, 2.0]])
    runs = {rule: optimize_sigma(model, xs, SigmaConfig(0.25, 40, 0.05, 1, rule=rule),
                                 generator=torch.Generator().manual_seed(0)) for rule in ("paper", "fixed-top-class")}
    assert np.all(np.abs(runs["paper"].sigma - runs["fixed-top-class"].sigma) > 1e-6)
    assert np.median(runs["paper"].sigma) > np.median(runs["fixed-top-class"].sigma)   # top two: σ only drifts up


def test_memory_rules_paper_caps_the_relabelled_radius_authors_do_not_and_store_abstentions():
    paper, authors = CertificationMemory(rule="paper"), CertificationMemory(rule="authors")
    for mem in (paper, authors):
        mem.query([0, 0], 0, 1.0)
    assert paper.query([0.2, 0], 1, 0.1).radius == pytest.approx(0.1)        # min(r, r_i − d)
    assert authors.query([0.2, 0], 1, 0.1).radius == pytest.approx(0.8)      # r_i − d
    assert paper.query([5, 0], ABSTAIN, 0.0).case == authors.query([5, 0], ABSTAIN, 0.0).case == "abstain"
    assert len(paper) == 2 and len(authors) == 3                             # the abstention: a zero-radius region
    assert authors.regions[1][-1] == 0 and authors.regions[2][-1] == ABSTAIN
    # a later region of another class stops short of the stored abstention under the authors' rule only
    assert paper.query([6, 0], 1, 2.0).radius == 2.0
    assert authors.query([6, 0], 1, 2.0).radius == pytest.approx(1.0)
    answers, mem = ddrs_memory.memory_certify([[0, 0], [0.2, 0]], [0, 1], [1.0, 0.1], rule="authors")
    assert mem.rule == "authors" and answers[1].radius == pytest.approx(0.8)
    assert ddrs_memory.memory_certify([[0, 0]], [0], [1.0])[1].rule == "paper"     # the default: the paper
    with pytest.raises(ValueError, match="'rule' parameter of CertificationMemory"):
        CertificationMemory(rule="ours")
