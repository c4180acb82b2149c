"""Smooth.predict / certify / certify_batch against closed forms, coverage and soundness.

The reference model is a linear two-class classifier f(x) = 1[w·x + b > 0]: its Gaussian-smoothed
probability is p_A = Φ(dist/σ), so the exact certified radius σΦ⁻¹(p_A) equals the distance to the
hyperplane. A sound certificate never exceeds it (up to the α failure probability).
"""
import numpy as np
import pytest
import torch
from scipy.stats import norm
from torch import nn

from cert_core.smoothing import ABSTAIN, Certificate, Smooth


class Linear2(nn.Module):
    """Two-class linear classifier with scores (−s, s), s = w·x + b."""

    def __init__(self, w, b):
        super().__init__()
        self.lin = nn.Linear(len(w), 1)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([w], dtype=torch.float32))
            self.lin.bias.fill_(b)

    def forward(self, x):
        s = self.lin(x)
        return torch.cat([-s, s], dim=1)


W, B = [3.0, 4.0], -1.0  # ‖w‖ = 5


def distance(x):
    return abs(np.dot(W, x) + B) / 5.0


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def smooth():
    return Smooth(Linear2(W, B), num_classes=2, sigma=0.5)


def test_certificate_is_frozen_and_complete(smooth):
    cert = smooth.certify(torch.tensor([1.0, 1.0]), n0=100, n=1000, alpha=0.001, generator=gen(0))
    assert isinstance(cert, Certificate)
    assert cert.prediction == 1 and not cert.abstained
    assert sum(cert.counts) == 1000 and sum(cert.counts0) == 100
    assert (cert.n0, cert.n, cert.alpha, cert.sigma) == (100, 1000, 0.001, 0.5)
    assert cert.radius == pytest.approx(0.5 * norm.ppf(cert.p_lower))
    with pytest.raises(AttributeError):
        cert.radius = 3.0


def test_radius_never_exceeds_distance_and_approaches_it(smooth):
    points = torch.tensor([[1.0, 1.0], [0.0, 0.0], [0.3, 0.1], [-0.5, 0.6]])
    true = np.array([distance(p.numpy()) for p in points])
    gaps = []
    for n in (100, 1_000, 100_000):
        certs = smooth.certify_batch(points, n0=100, n=n, alpha=0.001, batch_size=10_000, generator=gen(n))
        radii = np.array([c.radius for c in certs])
        assert np.all(radii <= true + 1e-9), (n, radii, true)
        gaps.append(np.mean(true - radii))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.05 * 0.5  # within 5% of σ at n = 1e5


def test_predictions_follow_the_side_of_the_hyperplane(smooth):
    assert smooth.predict(torch.tensor([1.0, 1.0]), n=1000, alpha=0.001, generator=gen(1)) == 1
    assert smooth.predict(torch.tensor([-1.0, -1.0]), n=1000, alpha=0.001, generator=gen(1)) == 0


def test_predict_abstains_on_the_boundary(smooth):
    on_boundary = torch.tensor([0.2, 0.1])  # 3*0.2 + 4*0.1 - 1 = 0
    results = smooth.predict_batch(on_boundary.repeat(50, 1), n=200, alpha=0.001, generator=gen(2))
    assert results.count(ABSTAIN) >= 45  # the test only rarely (≤ α per call in theory) picks a class


def test_certify_abstains_when_lower_bound_below_half(smooth):
    cert = smooth.certify(torch.tensor([0.2, 0.1]), n0=100, n=1000, alpha=0.001, generator=gen(3))
    assert cert.abstained and cert.radius == 0.0 and cert.p_lower < 0.5


def test_coverage_of_certify(smooth):
    # p_lower exceeds the true p_A in at most about an alpha fraction of independent runs.
    x = torch.tensor([0.4, 0.2])  # distance 0.2 -> p_A = Φ(0.4)
    p_true = norm.cdf(distance(x.numpy()) / 0.5)
    reps, alpha = 400, 0.1
    certs = smooth.certify_batch(x.repeat(reps, 1), n0=10, n=100, alpha=alpha, batch_size=8192, generator=gen(4))
    failures = np.mean([c.p_lower > p_true for c in certs])
    assert failures <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / reps)


def test_same_generator_seed_gives_identical_results(smooth):
    x = torch.tensor([0.5, 0.0])
    a = smooth.certify(x, 100, 1000, 0.01, batch_size=300, generator=gen(7))
    b = smooth.certify_batch(x[None], 100, 1000, 0.01, batch_size=300, generator=gen(7))[0]
    strip = lambda c: (c.prediction, c.radius, c.p_lower, c.counts, c.counts0)
    assert strip(a) == strip(b)


def test_certify_batch_matches_certify_in_distribution(smooth):
    # Votes for class 1 at a point with p_A = Φ(0.4): batch and one-at-a-time means agree.
    x = torch.tensor([0.4, 0.2])
    reps, n = 60, 200
    batch = [c.counts[1] for c in smooth.certify_batch(x.repeat(reps, 1), 10, n, 0.01, batch_size=777, generator=gen(5))]
    g = gen(6)
    single = [smooth.certify(x, 10, n, 0.01, batch_size=64, generator=g).counts[1] for _ in range(reps)]
    p = norm.cdf(0.4)
    se = np.sqrt(2 * p * (1 - p) * n / reps)
    assert abs(np.mean(batch) - np.mean(single)) < 4 * se
    assert abs(np.mean(batch) - p * n) < 4 * se


def test_batches_mix_inputs_without_leaking_votes(smooth):
    # Far-apart points with opposite classes in one forward batch keep their own votes.
    xs = torch.tensor([[5.0, 5.0], [-5.0, -5.0]] * 3)
    certs = smooth.certify_batch(xs, 7, 301, 0.001, batch_size=97, generator=gen(8))
    assert [c.prediction for c in certs] == [1, 0] * 3
    assert all(max(c.counts) == 301 for c in certs)


def test_model_is_put_in_eval_mode_and_numpy_inputs_work(smooth):
    smooth.model.train()
    cert = smooth.certify(np.array([1.0, 1.0], dtype=np.float64), 10, 100, 0.01, generator=gen(9))
    assert not smooth.model.training and cert.prediction == 1


def test_memory_stays_bounded_for_large_n():
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(x.shape[0])
            return torch.stack([x[:, 0], -x[:, 0]], dim=1)

    Smooth(Spy(), 2, 1.0).certify(torch.zeros(3), 1, 250_000, 0.01, batch_size=4096)
    assert max(seen) <= 4096 and sum(seen) == 250_001


@pytest.mark.parametrize("call, match", [
    (lambda s: Smooth(s.model, 2, 0.0), r"The 'sigma' parameter of Smooth must be a float in \(0, inf\). Got 0.0 instead."),
    (lambda s: Smooth(s.model, 1, 0.5), r"'num_classes' parameter of Smooth must be an int >= 2"),
    (lambda s: s.certify(torch.zeros(2), 10, 100, 1.5), r"The 'alpha' parameter of certify must be a float in \(0, 1\). Got 1.5 instead."),
    (lambda s: s.certify(torch.zeros(2), 0, 100, 0.1), r"'n0' parameter of certify must be an int >= 1"),
    (lambda s: s.certify(torch.zeros(2), 10, 100, 0.1, batch_size=0), r"'batch_size' parameter of certify"),
    (lambda s: s.predict(torch.tensor([float("nan"), 0.0]), 10, 0.1), r"'x' parameter of predict must contain only finite values"),
    (lambda s: s.certify_batch(torch.zeros(0, 2), 10, 100, 0.1), r"'xs' parameter of certify_batch must be a non-empty batch"),
    (lambda s: s.certify(torch.zeros(3), 10, 100, 0.1), r"could not be evaluated on inputs of shape \(3,\)"),
    (lambda s: s.certify([0.0, 1.0], 10, 100, 0.1), r"'x' parameter of certify must be a torch.Tensor or numpy array"),
])
def test_bad_arguments_raise_value_error(smooth, call, match):
    with pytest.raises(ValueError, match=match):
        call(smooth)


def test_wrong_number_of_classes_is_reported():
    with pytest.raises(ValueError, match=r"scores of shape \(B, 3\)"):
        Smooth(Linear2(W, B), 3, 0.5).certify(torch.zeros(2), 5, 10, 0.1)


class Broken(nn.Module):
    """Linear2's scores, with ``value`` written into rows ``rows`` of every forward batch (the model
    failing on some noisy samples): the count in the error is then known exactly."""

    def __init__(self, value, rows):
        super().__init__()
        self.inner, self.value, self.rows = Linear2(W, B), value, rows

    def forward(self, x):
        s = self.inner(x).clone()
        s[self.rows] = self.value
        return s


@pytest.mark.parametrize("value,rows,bad", [
    (float("nan"), slice(None, None, 3), 334),              # all-NaN rows used to vote for class 0
    (float("inf"), (slice(None, 37), 0), 37),
    (float("-inf"), (slice(None, 37), 1), 37),
])
def test_non_finite_scores_raise_with_their_count(value, rows, bad):
    from cert_core.validation import NonFiniteScoresError
    smooth = Smooth(Broken(value, rows), 2, 0.5)
    message = rf"non-finite scores \(NaN or ±inf\) on {bad} of 1000 noisy samples"
    with pytest.raises(NonFiniteScoresError, match=message):
        smooth.certify(torch.zeros(2), 1000, 1000, 0.01, batch_size=1000, generator=gen(0))
    with pytest.raises(ValueError, match=message):  # a ValueError: the run worker records it as a failure
        smooth.predict(torch.zeros(2), 1000, 0.01, batch_size=1000, generator=gen(0))
