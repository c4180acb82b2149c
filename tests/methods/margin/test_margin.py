"""Margin certificates (SRA Eq. 4-9, lecture Theorem 0): closed forms, Monte Carlo, soundness."""
import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from cert_core.methods.lipschitz.bounds import lipschitz_upper_bound
from cert_core.methods.margin.radii import (SOFTMAX_LIPSCHITZ, expected_max_normal, margin, mcr, mscr_certificate,
                              mscr_closed_form_audit, propagate_moments, relu_moments, rs_radius_lower_bound, smoothed_margin_closed_form,
                              smoothed_margin_mc, theorem0_radius, zhen_probability)
from cert_core.models.architectures import ModelConfig, build_model


def test_margin_eq4_sign_and_value():
    logits = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 1.0]])
    assert torch.allclose(margin(logits, torch.tensor([0, 0])), torch.tensor([-1.0, 5.0]))


@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (1.3, 0.7), (-2.0, 0.5), (0.4, 3.0)])
def test_rectified_gaussian_moments_match_scipy_and_monte_carlo(mu, sigma):
    mean, var = relu_moments(torch.tensor([mu], dtype=torch.float64), torch.tensor([sigma ** 2], dtype=torch.float64))
    # closed forms of the rectified Gaussian via scipy's truncated normal: E h = P(s>0) E[s | s>0]
    a = -mu / sigma
    p = 1 - stats.norm.cdf(a)
    t = stats.truncnorm(a, np.inf, loc=mu, scale=sigma)
    e1, e2 = p * t.mean(), p * (t.var() + t.mean() ** 2)
    assert mean.item() == pytest.approx(e1, rel=1e-9, abs=1e-12)
    assert var.item() == pytest.approx(e2 - e1 ** 2, rel=1e-9, abs=1e-12)
    s = torch.relu(mu + sigma * torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    assert abs(s.mean().item() - e1) < 5 * s.std().item() / math.sqrt(len(s))


def test_rectified_gaussian_known_values_and_zero_variance():
    mean, var = relu_moments(torch.tensor([0.0, 2.0, -1.0]), torch.tensor([1.0, 0.0, 0.0]))
    assert mean[0].item() == pytest.approx(1 / math.sqrt(2 * math.pi))  # half-normal mean
    assert var[0].item() == pytest.approx(0.5 - 1 / (2 * math.pi))  # E h^2 = 1/2
    assert mean[1:].tolist() == [2.0, 0.0] and var[1:].tolist() == [0.0, 0.0]


def test_expected_max_is_clarks_formula():
    gen = torch.Generator().manual_seed(1)
    mu1, mu2, v1, v2 = 0.3, -0.1, 0.5, 1.2
    a = mu1 + math.sqrt(v1) * torch.randn(400_000, generator=gen, dtype=torch.float64)
    b = mu2 + math.sqrt(v2) * torch.randn(400_000, generator=gen, dtype=torch.float64)
    got = expected_max_normal(*(torch.tensor(v, dtype=torch.float64) for v in (mu1, v1, mu2, v2)))
    assert abs(got.item() - torch.maximum(a, b).mean().item()) < 0.005
    same = expected_max_normal(torch.tensor(1.0), torch.tensor(0.0), torch.tensor(2.0), torch.tensor(0.0))
    assert same.item() == 2.0


def _ortho(k=3, seed=0):
    return build_model(ModelConfig("ortho_mlp", (2,), k, width=32, depth=2), seed=seed).eval()


@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.0])
def test_closed_form_smoothed_margin_vs_monte_carlo_on_orthogonal_mlp(sigma):
    """Stated tolerance: |Eq. 7 - MC| <= 0.05 sigma + 4 standard errors on a 2D orthogonal MLP (K = 1)."""
    model = _ortho()
    x = torch.randn(8, 2, generator=torch.Generator().manual_seed(2)) * 1.5
    with torch.no_grad():
        labels = model(x).argmax(1)
        closed = smoothed_margin_closed_form(model, x, labels, sigma)
    mc = smoothed_margin_mc(model, x, labels, sigma, n=20_000, generator=torch.Generator().manual_seed(3))
    err = (closed - mc.mean).abs()
    assert torch.all(err <= 0.05 * sigma + 4 * mc.std / math.sqrt(mc.n)), err


def test_moments_first_layer_exact_and_zero_noise_is_the_forward_pass():
    model = _ortho()
    x = torch.randn(5, 2)
    mean, var = propagate_moments(model, x, 0.0)
    assert torch.allclose(mean, model(x), atol=1e-6) and torch.all(var == 0)
    with pytest.raises(ValueError, match=r"Layer 2 \(MaxPool2d\) is not supported by moment propagation"):
        propagate_moments(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2)), torch.zeros(1, 1, 6, 6), 0.1)


def test_mcr_is_sound_on_the_base_classifier():
    """No point within the MCR (Eq. 6) changes the base prediction (random directions, and the nearest boundary
    along a line search): the radius holds because K is a guaranteed Lipschitz bound."""
    model = build_model(ModelConfig("mlp", (2,), 3, width=16, depth=2), seed=1).eval()
    k = lipschitz_upper_bound(model, (2,))
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(30, 2, generator=gen)
    with torch.no_grad():
        logits = model(x)
        pred = logits.argmax(1)
        radius = mcr(logits, pred, k)
        dirs = torch.nn.functional.normalize(torch.randn(30, 200, 2, generator=gen), dim=2)
        pts = x[:, None] + 0.999 * radius[:, None, None] * dirs * torch.rand(30, 200, 1, generator=gen)
        assert torch.all(model(pts.reshape(-1, 2)).argmax(1).reshape(30, 200) == pred[:, None])
    assert torch.all(radius > 0)


def test_theorem0_with_softmax_lipschitz_is_sound_and_smaller_than_mcr():
    model = build_model(ModelConfig("mlp", (2,), 2, width=16, depth=1), seed=2).eval()
    k = lipschitz_upper_bound(model, (2,))
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        logits = model(x)
        r0 = theorem0_radius(torch.softmax(logits, 1), SOFTMAX_LIPSCHITZ * k)
        r_mcr = mcr(logits, logits.argmax(1), k)
    # P_A - P_B = tanh(gap/2) <= gap/2 for two classes, so Theorem 0 can never beat the margin radius
    assert torch.all(r0 <= r_mcr * math.sqrt(2) + 1e-7) and torch.all(r0 >= 0)
    with pytest.raises(ValueError, match="'lipschitz' parameter of theorem0_radius must be a float in"):
        theorem0_radius(torch.softmax(logits, 1), 0.0)


def test_mscr_certificate_holds_for_the_mean_logit_classifier():
    """Shifted by less than the MSCR (Monte Carlo, alpha = 0.001), the mean-logit classifier still predicts c."""
    model = _ortho(seed=3)
    k = lipschitz_upper_bound(model, (2,))
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(6))
    sigma = 0.2
    with torch.no_grad():
        labels = model(x).argmax(1)
    mc = smoothed_margin_mc(model, x, labels, sigma, n=4000, generator=torch.Generator().manual_seed(7))
    radius = mscr_certificate(mc, k, sigma, 0.001)
    assert torch.all(radius <= (-mc.mean / (math.sqrt(2) * k)).clamp_min(0) + 1e-6)  # the bound only shrinks it
    gen = torch.Generator().manual_seed(8)
    for xi, ci, ri in zip(x, labels, radius):
        if ri <= 0:
            continue
        shifted = xi + 0.99 * ri * torch.nn.functional.normalize(torch.randn(10, 2, generator=gen), dim=1)
        noise = sigma * torch.randn(10, 20_000, 2, generator=gen)
        with torch.no_grad():
            mean_logits = model((shifted[:, None] + noise).reshape(-1, 2)).reshape(10, 20_000, -1).mean(1)
        assert torch.all(mean_logits.argmax(1) == ci)
    with pytest.raises(ValueError, match="'alpha' parameter of mscr_certificate"):
        mscr_certificate(mc, k, sigma, 1.5)


def test_zhen_probability_and_rs_lower_bound_eq8_eq9():
    mean = torch.tensor([[2.0, 1.0, 0.0]])
    var = torch.tensor([[0.5, 0.5, 0.5]])
    labels = torch.tensor([0])
    p = zhen_probability(mean, var, labels)
    assert p.item() == pytest.approx(stats.norm.cdf(1.0))
    r = rs_radius_lower_bound(mean, var, labels, 0.5)
    assert r.item() == pytest.approx(0.5 * stats.norm.ppf(p.item()))  # Eq. 9: sigma Phi^-1(P_c)
    assert rs_radius_lower_bound(mean, var, labels, 0.0).item() == 0.0
    assert zhen_probability(mean, torch.zeros_like(var), labels).item() == 1.0


def test_sra_point_analysis_on_a_linear_classifier():
    """Logits (x1, -x1): boundary x1 = 0, margin loss -2 x1 for class 0, linear so smoothing leaves it unchanged."""
    from cert_core.methods.margin.sra import analyse_point
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    safe = analyse_point(model, (0.5, 0.0), eps=0.3, sigma=0.2, loss="margin", n=2000)
    assert safe.label == 0 and safe.worst == pytest.approx(-0.4, abs=1e-5)
    assert safe.smoothed == pytest.approx(-0.4, abs=0.05) and safe.average == pytest.approx(-1.0, abs=0.05)
    assert safe.safe(safe.worst) and safe.safe(safe.smoothed)
    unsafe = analyse_point(model, (0.5, 0.0), eps=0.6, sigma=0.2, loss="zero_one", n=2000)
    assert unsafe.worst == 1.0 and not unsafe.safe(unsafe.worst) and unsafe.safe(unsafe.average)
    assert unsafe.worst_point[0] == pytest.approx(-0.1, abs=0.07)
    with pytest.raises(ValueError, match="'loss' parameter of analyse_point"):
        analyse_point(model, (0.0, 0.0), 0.1, 0.1, loss="hinge")


def test_mscr_refuses_an_infinite_logit_instead_of_certifying_an_infinite_radius():
    class InfOnSome(nn.Module):  # +inf for the label on 3 of 10 noisy samples: margin -inf, radius +inf
        def forward(self, z):
            out = torch.zeros(len(z), 2)
            out[:3, 0] = float("inf")
            return out

    with pytest.raises(ValueError, match=r"non-finite scores \(NaN or ±inf\) on 3 of 10 noisy samples"):
        smoothed_margin_mc(InfOnSome(), torch.zeros(1, 2), torch.tensor([0]), 0.1, n=10)


def _one_hidden_layer(k, seed=0):
    """Linear-ReLU-Linear: moment propagation gives the output MEANS exactly, so Eq. 7 errs only through
    keeping the top two incorrect classes."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, k)).eval()


def _closed_form_audit(model, x, sigma, n=2000):
    with torch.no_grad():
        labels = model(x).argmax(1)
    k = lipschitz_upper_bound(model, tuple(x.shape[1:]))
    return mscr_closed_form_audit(model, x, labels, sigma, k, n=n, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize("sigma", [0.25, 1.0])
def test_closed_form_mscr_with_two_classes_does_not_over_claim(sigma):
    """Two classes: Eq. 7 is E o_m - E o_c, exact here, so it stays within the Monte Carlo error."""
    x = torch.randn(100, 2, generator=torch.Generator().manual_seed(1))
    audit = _closed_form_audit(_one_hidden_layer(2), x, sigma)
    assert audit.num_classes == 2 and int(audit.over_claims.sum()) <= 1 and not audit.wrong_side.any()
    assert torch.all((audit.closed - audit.mc).abs() <= 2 * audit.margin_slack / math.sqrt(2) + 1e-6)


def test_closed_form_mscr_over_claims_with_more_than_two_classes():
    """Audit item 7: six classes, exact means: dropping all but the top two incorrect outputs under-estimates
    E max_i o_i, so Eq. 7 over-claims, even gives radii where c does not win on average."""
    x = torch.randn(100, 2, generator=torch.Generator().manual_seed(1))
    audit = _closed_form_audit(_one_hidden_layer(6), x, 1.0)
    assert audit.over_claim_rate > 0.3
    assert audit.wrong_side.sum() >= 3
    assert torch.all(audit.mc_upper[audit.wrong_side] <= 0)


def test_closed_form_mscr_over_claims_on_most_digits_points():
    """The zoo's 10-class orthogonal MLP (the SRA page's image model) at sigma = 0.25."""
    from cert_core.models.data import load_dataset
    from cert_core.models.zoo import load_zoo_model
    loaded = load_zoo_model("digits-ortho-mscr-s0.1")
    ds = load_dataset(**loaded.metadata["dataset"])
    audit = _closed_form_audit(loaded.model, torch.as_tensor(ds.x_test[:60], dtype=torch.float32), 0.25, n=1000)
    assert audit.num_classes == 10 and audit.over_claim_rate > 0.5
    with pytest.raises(ValueError, match="'alpha' parameter of mscr_closed_form_audit"):
        mscr_closed_form_audit(loaded.model, torch.zeros(1, 1, 8, 8), torch.zeros(1, dtype=torch.long), 0.25, 1.0,
                               alpha=2.0)
