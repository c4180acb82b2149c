"""Sequential, anytime-valid certification (cert_core.sequential, Smooth.certify_sequential): soundness by exact
identities and by seeded simulations of >= 1e5 data-dependent stopping decisions at the hardest p_A (exactly at
the threshold); the optional-stopping trap of re-applying Clopper-Pearson after every batch; the model path on a
linear classifier whose exact p_A is Phi(d / sigma)."""
import numpy as np
import pytest
import torch
from scipy.stats import norm
from torch import nn

from cert_core.sequential import (SequentialConfig, SequentialTest, ladder, log_wealth, naive_clopper_pearson,
                                  staged_clopper_pearson, staged_looks)
from cert_core.smoothing import ABSTAIN, Smooth

ALPHA = 0.05


def within(rate, alpha, reps):
    return rate <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / reps)


def simulate(test: SequentialTest, p, rng, record=None):
    """Drive ``test`` with Bernoulli(p) votes at its own looks; ``record`` collects p_lower after every look."""
    while not test.done.all():
        sizes = test.next_sizes()
        test.observe(rng.binomial(sizes, p), sizes)
        if record is not None:
            record.append(test.p_lower())
    return test


@pytest.mark.parametrize("a, n", [(0, 1), (3, 5), (40, 50), (700, 1000), (9990, 10_000)])
def test_the_mixture_wealth_is_a_martingale_at_the_threshold_and_a_supermartingale_below(a, n):
    m = 0.7
    w, up, down = (log_wealth(x, y, m) for x, y in ((a, n), (a + 1, n + 1), (a, n + 1)))    # logs

    def mean_next(p):                                                  # log E[W_{n+1} | F_n] under p
        return np.logaddexp(np.log(p) + up, np.log1p(-p) + down)
    assert mean_next(m) == pytest.approx(w, rel=1e-9, abs=1e-9)        # a martingale at p = m
    assert mean_next(0.6) < w                                          # shrinking for p < m
    assert np.exp(log_wealth(0, 0, m)) == pytest.approx(1.0)


def test_false_certification_rate_is_at_most_alpha_over_1e5_decisions_at_the_threshold():
    cfg = SequentialConfig(ALPHA, max_n=2000)
    lad = ladder(1.0, 0.5, cfg)
    p = norm.cdf(0.5)                                                  # p_A on the threshold: the hardest null
    test = simulate(SequentialTest(lad, cfg, 100_000), p, np.random.default_rng(0))
    false = test.k > lad.target                                        # "radius >= 0.5" claimed
    stopped_early = np.mean(test.n < cfg.max_n)
    assert within(false.mean(), ALPHA, 100_000) and stopped_early > 0.5, (false.mean(), stopped_early)
    assert np.all(test.radius()[false] >= 0.5) and not np.any((test.radius() >= 0.5) & ~false)


@pytest.mark.parametrize("radius", [None, (0.0, 0.25, 0.5, 0.75, 1.0)])
def test_the_anytime_and_grid_bounds_hold_at_every_stopping_time_on_the_path(radius):
    cfg = SequentialConfig(ALPHA, max_n=1000)
    lad = ladder(1.0, radius, cfg)
    p = lad.thresholds[np.searchsorted(lad.radii, 0.5)]                # exactly a threshold: the hardest p
    path = []
    simulate(SequentialTest(lad, cfg, 100_000), p, np.random.default_rng(1), path)
    ever_wrong = np.any(np.stack(path) >= p, axis=0)                   # p_lower >= p at SOME look
    assert within(ever_wrong.mean(), ALPHA, 100_000), ever_wrong.mean()


def test_naive_clopper_pearson_after_every_batch_breaks_alpha_and_the_sequential_test_does_not():
    reps, batch, looks, p = 20_000, 100, 100, norm.cdf(0.5)
    rng = np.random.default_rng(2)
    votes = rng.binomial(batch, p, size=(looks, reps)).cumsum(axis=0)   # the same paths for both
    naive = np.zeros(reps, dtype=bool)
    for t in range(looks):
        naive |= naive_clopper_pearson(votes[t], np.full(reps, (t + 1) * batch), ALPHA, p)
    cfg = SequentialConfig(ALPHA, max_n=looks * batch)
    lad = ladder(1.0, 0.5, cfg)
    ours = SequentialTest(lad, cfg, reps)
    for t in range(looks):
        live = ~ours.done
        ours.observe(np.where(live, votes[t] - (votes[t - 1] if t else 0), 0), np.where(live, batch, 0))
    assert naive.mean() > ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / reps), naive.mean()   # ~0.2: broken
    assert within(np.mean(ours.k > lad.target), ALPHA, reps)


def test_alpha_split_staged_sampling_is_valid_at_the_threshold():
    looks, p, reps = staged_looks(10_000, 100, 2.0), norm.cdf(0.5), 100_000
    rng = np.random.default_rng(3)
    a, n, wrong = np.zeros(reps, np.int64), 0, np.zeros(reps, bool)
    for look in looks:
        a += rng.binomial(look - n, p, size=reps)
        n = look
        wrong |= np.array([staged_clopper_pearson(int(x), n, ALPHA, p, looks)[0] for x in np.unique(a)])[
            np.searchsorted(np.unique(a), a)]
    assert within(wrong.mean(), ALPHA, reps)


# ------------------------------------------------------------------------------ the model path
class Linear(nn.Module):
    """f(x) = 0 when x_0 > 0, else 1: at distance d from the plane, p_A = Phi(d / sigma) exactly."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.fc.weight.data = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
        self.fc.bias.data.zero_()
        self.rows = 0

    def forward(self, x):
        self.rows += len(x)
        return self.fc(x)


def test_the_model_path_on_a_linear_classifier_at_the_threshold_errs_at_most_alpha():
    sigma, r, m = 0.5, 0.25, 3000
    smooth = Smooth(Linear(), 2, sigma)
    xs = torch.tensor([[r, 0.0]]).repeat(m, 1)                        # p_A = Phi(r / sigma): on the threshold
    certs = smooth.certify_sequential_batch(xs, ALPHA, r, max_n=1000, batch_size=20_000,
                                            generator=torch.Generator().manual_seed(4))
    false = np.mean([c.radius >= r and c.prediction == 0 for c in certs])
    assert within(false, ALPHA, m), false


def test_samples_drawn_are_n0_plus_n_and_selection_votes_are_kept_apart():
    smooth = Smooth(Linear(), 2, 0.5)
    xs = torch.tensor([[d, 0.0] for d in (-0.3, 0.0, 0.1, 0.3, 1.0, 2.0)])
    certs = smooth.certify_sequential_batch(xs, 0.001, 0.25, max_n=20_000, n0=50, batch_size=777,
                                            generator=torch.Generator().manual_seed(5))
    assert smooth.model.rows == sum(c.n0 + c.n for c in certs)         # every drawn sample, no more
    assert all(sum(c.counts0) == c.n0 == 50 and sum(c.counts) == c.n for c in certs)
    assert all(c.stop in ("certified", "futile", "budget") for c in certs)
    easy = certs[-1]                                                   # p_A = Phi(4): settled almost at once
    assert easy.prediction == 0 and easy.radius >= 0.25 and easy.n < 100 and easy.stop == "certified"
    assert certs[1].prediction == ABSTAIN and certs[1].radius == 0.0   # p_A = 1/2: never certified


def test_grid_mode_reports_the_largest_grid_radius_and_seeded_runs_repeat():
    smooth, grid = Smooth(Linear(), 2, 0.5), (0.0, 0.25, 0.5, 0.75, 1.0)
    xs = torch.tensor([[0.6, 0.0], [0.2, 0.0]])

    def run():
        return smooth.certify_sequential_batch(xs, 0.001, grid, max_n=20_000,
                                               generator=torch.Generator().manual_seed(6))
    first, again = run(), run()
    assert first == [c.__class__(**{**c.__dict__, "seconds": f.seconds}) for c, f in zip(again, first)]
    assert all(c.radius in grid and c.radius <= d for c, d in zip(first, (0.6, 0.2)))
    assert first[0].radius == 0.5                                      # 0.75 > d = 0.6 is never certified


def test_certify_sequential_on_one_input_and_bad_arguments():
    smooth = Smooth(Linear(), 2, 0.5)
    cert = smooth.certify_sequential(torch.tensor([1.0, 0.0]), 0.001, generator=torch.Generator().manual_seed(7),
                                     max_n=5000)
    assert cert.prediction == 0 and 0 < cert.radius <= 1.0 and cert.n0 == 100
    with pytest.raises(ValueError, match="'radius' parameter of certify_sequential must be a float"):
        smooth.certify_sequential(torch.tensor([1.0, 0.0]), 0.001, radius=-1.0)
    with pytest.raises(ValueError, match="'alpha' parameter of certify_sequential must be a float in"):
        smooth.certify_sequential(torch.tensor([1.0, 0.0]), 1.5)
    with pytest.raises(ValueError, match="'max_n' parameter of certify_sequential must be an int"):
        smooth.certify_sequential(torch.tensor([1.0, 0.0]), 0.01, max_n=0)
