"""Attacks, the soundness audit (SC-RFP fails it, Cohen et al. passes) and the Table-1 analysis."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from cert_core import attacks
from cert_core.methods.paths import audit
from cert_core.methods.paths.scrfp import ScRfpSmooth
from cert_core.smoothing import ABSTAIN
from cert_core.methods.paths.vulnerability import vulnerability


def _linear():
    m = nn.Linear(2, 2)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
        m.bias.zero_()
    return m.eval()


def test_fgsm_steps_exactly_eps_in_its_norm():
    model, x, y = _linear(), torch.tensor([[0.5, 0.1], [0.2, -0.3]]), torch.tensor([0, 0])
    adv = attacks.fgsm(model, x, y, 0.1, "linf")
    assert torch.allclose((adv - x).abs().amax(1), torch.tensor(0.1))
    assert torch.all(adv[:, 0] < x[:, 0])                 # pushed toward the other class
    adv2 = attacks.fgsm(model, x, y, 0.1, "l2")
    assert torch.allclose((adv2 - x).norm(dim=1), torch.tensor(0.1))


def test_pgd_stays_in_the_ball_and_flips_when_it_can():
    model, x, y = _linear(), torch.tensor([[0.3, 0.0]]), torch.tensor([0])
    far = attacks.pgd(model, x, y, 0.5, "l2", steps=20)
    assert (far - x).norm() <= 0.5 + 1e-6 and model(far).argmax(1).item() == 1
    near = attacks.pgd(model, x, y, 0.2, "linf", steps=20)
    assert (near - x).abs().max() <= 0.2 + 1e-6 and model(near).argmax(1).item() == 0
    with pytest.raises(ValueError, match="'norm' parameter of pgd"):
        attacks.pgd(model, x, y, 0.1, "l1")
    with pytest.raises(ValueError, match="'eps' parameter of fgsm must be a float"):
        attacks.fgsm(model, x, y, -1.0)


def test_exact_audit_finds_a_scrfp_counterexample_and_passes_cohen():
    model = audit.constructed_network()
    xs = [[0.3, 0.0], [0.25, 0.4]]
    cohen = audit.audit_2d(model, xs, 2, 0.25, None, n=2000, resolution=25)
    scrfp = audit.audit_2d(model, xs, 2, 0.25, 1.0, n=2000, resolution=25)
    assert cohen.certified == 2 and cohen.violations == 0
    assert all(p.radius < p_x + 0.05 for p, p_x in zip(cohen.points, (0.35, 0.30)))   # ≤ distance to x₁ = −0.05
    assert scrfp.certified == 2 and scrfp.violation_rate == 1.0
    worst = scrfp.worst()
    assert worst.distance < worst.radius and worst.counter_prediction == 1 and worst.margin > 2 * scrfp.error
    # an independent check: Monte Carlo PREDICT of SC-RFP at the counterexample agrees
    smooth = ScRfpSmooth(model, 2, 0.25, 1.0)
    x_bad = torch.tensor(worst.counterexample, dtype=torch.float32)
    assert smooth.predict(x_bad, 4000, 0.001, 4000, torch.Generator().manual_seed(5)) == 1


def test_exact_scrfp_probabilities_match_monte_carlo():
    model = audit.constructed_network()
    q = np.array([[-0.2, 0.0], [0.1, 0.3]])
    exact, slack = audit.exact_probabilities(model, q, 0.25, 0.5)
    smooth = ScRfpSmooth(model, 2, 0.25, 0.5)
    for point, p in zip(q, exact):
        counts = smooth.at(torch.tensor(point, dtype=torch.float32)).sample_counts(
            torch.tensor(point[None], dtype=torch.float32), 20_000, 20_000, torch.Generator().manual_seed(0))[0]
        freq = counts.numpy() / 20_000
        assert abs(freq[1] - p[1]) < 4 * math.sqrt(0.25 / 20_000) + slack


def test_cohen_passes_the_exact_audit_on_a_zoo_model():
    from cert_core.models.data import load_dataset
    from cert_core.models.zoo import load_zoo_model
    loaded = load_zoo_model("moons-mlp-s0.25")
    ds = load_dataset(**loaded.metadata["dataset"])
    res = audit.audit_2d(loaded.model, ds.x_test[:3], 2, 0.25, None, n=1000, resolution=15)
    assert res.certified >= 2 and res.violations == 0


def test_attack_audit_finds_the_scrfp_flaw_and_not_a_cohen_one():
    model = audit.constructed_network()
    xs = torch.tensor([[0.3, 0.0]])
    scrfp = audit.audit_attack(model, xs, 2, 0.25, 1.0, n=2000, samples=32, steps=10)
    cohen = audit.audit_attack(model, xs, 2, 0.25, None, n=2000, samples=32, steps=10)
    assert scrfp.violations == 1 and scrfp.points[0].distance <= scrfp.points[0].radius
    assert cohen.violations == 0 and cohen.points[0].prediction == 0


def test_abstained_points_are_not_audited():
    model = audit.constructed_network()
    res = audit.audit_2d(model, [[-0.05, 0.0]], 2, 0.25, None, n=500, resolution=9)
    assert res.points[0].prediction == ABSTAIN and res.certified == 0 and res.violation_rate == 0.0


def test_vulnerability_labels_the_constructed_case_float_vulnerable():
    model = audit.constructed_network()
    x, y = torch.tensor([[0.1, 0.0], [1.0, 0.0]]), torch.tensor([0, 0])
    rep = vulnerability(model, x, y, 0.3, "fgsm", "linf", sigma=0.1, etas=(0.0, 1.0))
    # x₁ = 0.1 → −0.2: both neurons switch, Z_fixed keeps only the biases (class 0): float-neuron vulnerable
    assert rep.labels == ("float", "robust")
    assert rep.successful == 1 and rep.float_vulnerable == 1 and rep.lipschitz_vulnerable == 0
    assert rep.clean_accuracy == 1.0 and rep.adversarial_accuracy == 0.5 and rep.fixed_accuracy == 1.0
    assert rep.lipschitz == pytest.approx(1.0)              # J = [[0, 0], [-1, 0]] on both sides
    assert rep.repression_gap[0] >= 0.0
    with pytest.raises(ValueError, match="'attack' parameter of vulnerability"):
        vulnerability(model, x, y, 0.3, "cw")


def test_exact_audit_refuses_a_model_with_nan_scores():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        model[2].bias[0] = float("nan")  # every score of class 0 is NaN: argmax would say class 0
    with pytest.raises(ValueError, match=r"non-finite scores \(NaN or ±inf\) on (\d+) of \1 grid points"):
        audit.exact_probabilities(model, np.array([[0.0, 0.0]]), 0.25)
